"""A read pair's shadow side in a thread of its own: the caller waits for it at most the pair's time budget.

Python code cannot be interrupted in the caller's thread, so a shadow side
that sleeps, loops or waits on something slow would hold the request up for
as long as it runs. Here the side runs in a short-lived daemon thread with
its own database connection (opened for the run, closed after it), while
the caller's thread runs the serving side. The caller then waits for the
shadow until the budget, counted from the moment the shadow started, is
spent; after that it leaves the thread behind, the thread's current SQL
statement is cancelled (psycopg's cancel request), its next statement is
refused by the meter's deadline, and its result, whenever it comes, is
dropped. The run counts as a timeout.

The thread runs in a copy of the caller's context (contextvars: Sentry's
scope) with the caller's active time zone and language, which Django keeps
per thread and so are handed over explicitly.

At most SHADOW_THREADS such threads run per process. A left-behind thread
keeps its slot until it finishes; when every slot is taken, a sampled call
is served without a comparison (counted and logged, see shadow.dispatch),
never queued behind a stuck shadow.

Only for read pairs called outside a transaction: a thread's connection
cannot see the caller's uncommitted rows, and a write pair's shadow must run
(and roll back) before its serving side writes. Those pairs run the shadow
in the caller's thread (shadow.execution.run_isolated).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone, translation

from shadow import conf
from shadow.execution import run_isolated
from shadow.outcome import SideRun
from shadow.pairs import Pair

logger = logging.getLogger(__name__)


def in_thread(pair: Pair[Any, Any]) -> bool:
    """Whether this call's shadow side runs in a thread: a plain read pair, called outside any transaction."""
    return (
        not pair.writes
        and not pair.stream
        and conf.get("SHADOW_THREADS") > 0
        and connection.get_autocommit()
        and not connection.in_atomic_block
    )


class ShadowThread:
    """One shadow side running in its own thread; wait() returns its SideRun, or a timeout once the budget is spent."""

    def __init__(self, pair: Pair[Any, Any], side: str, kwargs: dict[str, Any], release: Callable[[], None]):
        self.pair, self.side = pair, side
        self.deadline = time.monotonic() + pair.budget_ms / 1000
        self.future: Future[SideRun] = Future()
        self._database: Any = None
        self._release = release
        self._zone, self._language = timezone.get_current_timezone(), translation.get_language()
        context = contextvars.copy_context()
        self.thread = threading.Thread(
            target=context.run, args=(self._run, kwargs), name=f"shadow {pair.name}", daemon=True
        )
        self.thread.start()

    def _run(self, kwargs: dict[str, Any]) -> None:
        try:
            self._database = connections[DEFAULT_DB_ALIAS]
            with timezone.override(self._zone), translation.override(self._language):
                self.future.set_result(run_isolated(self.pair, self.side, kwargs))
        except BaseException as error:
            self.future.set_exception(error)
        finally:
            try:
                # The thread ends here: its connection must not outlive it.
                connections.close_all()
            finally:
                self._release()

    def wait(self) -> SideRun:
        try:
            return self.future.result(timeout=max(0.0, self.deadline - time.monotonic()))
        except FutureTimeout:
            self.cancel()
            return SideRun(self.side, timed_out=True)
        except Exception as error:
            # run_isolated records a side's own errors; this is the runner failing.
            logger.exception("Shadow thread of %s failed", self.pair.name)
            return SideRun(self.side, error=error)

    def cancel(self) -> None:
        """Cancel the statement the left-behind thread is running, if any (it may be in Python code instead)."""
        raw = getattr(self._database, "connection", None)
        if raw is None:
            return
        try:
            raw.cancel()
        except Exception:
            logger.debug("Cancel request for the shadow of %s failed", self.pair.name, exc_info=True)


class ShadowThreads:
    """At most SHADOW_THREADS shadow threads per process; start() returns None when all are busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    def start(self, pair: Pair[Any, Any], side: str, kwargs: dict[str, Any]) -> ShadowThread | None:
        with self._lock:
            if self.running >= conf.get("SHADOW_THREADS"):
                return None
            self.running += 1
        try:
            return ShadowThread(pair, side, kwargs, self._release)
        except Exception:
            self._release()
            logger.exception("Shadow thread of %s could not start", pair.name)
            return None

    def _release(self) -> None:
        with self._lock:
            self.running -= 1

    def wait_idle(self, timeout: float) -> bool:
        """Tests and shutdown: wait until every shadow thread has finished (True), or the timeout passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self.running:
                    return True
            time.sleep(0.01)
        return False


THREADS = ShadowThreads()
