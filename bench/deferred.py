"""A real broker and a real worker for the deferred shadow mode: the comparisons a request queues are sent and run.

The bench process keeps its own settings (local-memory cache, tasks in-process
when REDIS_URL is unset) for everything else it measures. Only around the
deferred measurement, `bench_celery_app` makes a Celery app of its own the
current one, configured from the Django settings with the broker overridden
and CELERY_TASK_ALWAYS_EAGER off. The deferred task is a shared task, looked
up in the current app at every call, so the dispatcher's `apply_async` then
publishes to the broker; afterwards the project's app is current again, its
configuration and broker connections untouched. (Setting REDIS_URL before
django.setup() would also move the bench's Django cache to Redis and change
every other figure.)

`worker` starts `celery -A tformance worker --pool=solo` as a subprocess on a
queue of the bench's own, with the bench's database and the same broker, and
stops it afterwards. What the worker completed is read from the shadow
evidence rows it writes (DailyEvidence.runs, one per comparison).

`Worker.paused` stops the worker with SIGSTOP for a block and continues it with
SIGCONT afterwards: the solo pool runs every task in that one process, so
while it is stopped it takes no CPU from the requests being timed, and the
messages they publish wait on the broker until it runs again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import redis
from celery import Celery, current_app
from celery.signals import after_task_publish
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.test.utils import override_settings

from apps.teams.models import Team
from shadow.models import DailyEvidence, ShadowRecord

logger = logging.getLogger(__name__)

TASK_NAME = "shadow.tasks.compare_deferred_task"
QUEUE = "bench-shadow-deferred"
# A database number of its own on the local Redis, flushed before and after; REDIS_URL, when set, is used instead.
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"
WORKER_READY_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 30.0
# How long SIGSTOP may take to show as a stopped process (/proc/<pid>/stat) before the pause counts as failed.
WORKER_PAUSE_TIMEOUT_S = 5.0
DRAIN_TIMEOUT_S = 300.0
POLL_S = 0.05
EVIDENCE_COUNTS = ("runs", "matches", "mismatches", "errors", "timeouts")


class DeferredUnavailable(Exception):
    """The real broker or worker cannot be used; the message is the reason recorded in the results."""


@dataclasses.dataclass(frozen=True)
class Broker:
    url: str
    # The bench's own database number: flushed whole. A REDIS_URL of the user's only has the bench queue purged.
    dedicated: bool

    @property
    def shown(self) -> str:
        """The URL without its password, for the results."""
        parts = urllib.parse.urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)

    def clean(self) -> None:
        with self.client() as client:
            if self.dedicated:
                client.flushdb()
            else:
                for key in client.scan_iter(match=f"{QUEUE}*"):
                    client.delete(key)


def broker() -> Broker:
    url = os.environ.get("REDIS_URL", "").strip()
    return Broker(url=url, dedicated=False) if url else Broker(url=DEFAULT_BROKER_URL, dedicated=True)


def check_usable(target: Broker) -> None:
    """Raise DeferredUnavailable when a real broker and worker cannot take part in this run."""
    if connection.in_atomic_block:
        raise DeferredUnavailable(
            "the bench runs inside a transaction that is rolled back (the test suite): deferred comparisons are "
            "queued on commit, so none would be sent, and a worker could not see the uncommitted rows"
        )
    try:
        with target.client() as client:
            client.ping()
    except redis.RedisError as error:
        raise DeferredUnavailable(f"Redis at {target.shown} is not reachable: {error}") from error


@contextmanager
def clean_broker(target: Broker) -> Iterator[None]:
    """The bench queue starts empty and is left empty, whatever happened in between."""
    try:
        target.clean()
    except redis.RedisError as error:
        raise DeferredUnavailable(f"Redis at {target.shown} could not be cleaned: {error}") from error
    try:
        yield
    finally:
        try:
            target.clean()
        except redis.RedisError:
            logger.warning("Could not clean the bench queue on %s", target.shown)


@contextmanager
def bench_celery_app(target: Broker) -> Iterator[Celery]:
    """A Celery app publishing to `target` (not eager), current for the block; see the module docstring."""
    previous = current_app._get_current_object()
    with override_settings(CELERY_BROKER_URL=target.url, CELERY_TASK_ALWAYS_EAGER=False, SHADOW_DEFERRED_QUEUE=QUEUE):
        app = Celery("tformance-bench", set_as_current=False)
        app.config_from_object("django.conf:settings", namespace="CELERY")
        assert app.conf.broker_url == target.url and not app.conf.task_always_eager
        app.set_current()
        try:
            yield app
        finally:
            previous.set_current()
            app.pool.force_close_all()
            app.close()


@contextmanager
def published() -> Iterator[list[int]]:
    """Counts the deferred comparisons published to the bench queue (Celery's after_task_publish) in the block."""
    count = [0]

    def on_publish(sender: Any = None, routing_key: str | None = None, **_: Any) -> None:
        if sender == TASK_NAME and routing_key == QUEUE:
            count[0] += 1

    after_task_publish.connect(on_publish, weak=False, dispatch_uid="bench-deferred-published")
    try:
        yield count
    finally:
        after_task_publish.disconnect(dispatch_uid="bench-deferred-published")


def database_url() -> str:
    """The bench's database for a child process: DATABASE_URL as set, else the embedded server's address."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    db = connection.settings_dict
    password = f":{urllib.parse.quote(str(db['PASSWORD']), safe='')}" if db.get("PASSWORD") else ""
    host = urllib.parse.quote(str(db["HOST"]), safe="")
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT']}/{db['NAME']}"


@dataclasses.dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    # As recorded in the results: the command line after the interpreter.
    command: str

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DeferredUnavailable(
                    f"the Celery worker exited with status {self.process.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            if " ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise DeferredUnavailable(f"the Celery worker was not ready within {timeout:.0f} s:\n" + self.log_tail())

    def _state(self) -> str | None:
        """The process state letter from /proc (T when stopped by a signal), None where /proc cannot tell."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        # The command name in parentheses may hold spaces; the state is the first field after it.
        return stat.rpartition(")")[2].split()[0]

    def _signal(self, signum: int) -> None:
        if self.process.poll() is not None:
            raise DeferredUnavailable(
                f"the Celery worker exited with status {self.process.returncode}:\n" + self.log_tail()
            )
        try:
            os.kill(self.process.pid, signum)
        except ProcessLookupError as error:
            raise DeferredUnavailable(f"the Celery worker is gone: {error}") from error

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The worker stopped (SIGSTOP) for the block, so it uses no CPU; continued (SIGCONT) when the block ends.

        The block starts only once /proc shows the process stopped (where /proc
        exists); it is continued whatever happens in the block.
        """
        self._signal(signal.SIGSTOP)
        try:
            deadline = time.monotonic() + WORKER_PAUSE_TIMEOUT_S
            while (state := self._state()) not in ("T", None):
                if time.monotonic() > deadline:
                    raise DeferredUnavailable(
                        f"the Celery worker did not stop within {WORKER_PAUSE_TIMEOUT_S:.0f} s of SIGSTOP "
                        f"(process state {state})"
                    )
                time.sleep(0.01)
            yield
        finally:
            self.resume()

    def resume(self) -> None:
        """SIGCONT: a stopped worker runs again (no effect on one already running or gone)."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Warm shutdown (the task under way finishes), then killed if it takes too long.

        Continued first: a stopped process would not act on SIGTERM until it runs again.
        """
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(timeout=WORKER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def worker(target: Broker) -> Iterator[Worker]:
    """A real `celery worker` process (solo pool, one process) on the bench queue, ready when the block starts."""
    log = Path(tempfile.mkstemp(prefix="bench-worker-", suffix=".log")[1])
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": target.url, "SHADOW_DEFERRED_QUEUE": QUEUE}
    arguments = ["-m", "celery", "-A", "tformance", "worker", "--pool=solo", "--concurrency=1", "-Q", QUEUE,
                 "-n", "bench-shadow@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, *arguments], cwd=settings.BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    running = Worker(process=process, log=log, command="python " + " ".join(arguments))
    try:
        running.wait_ready(WORKER_READY_TIMEOUT_S)
        yield running
    finally:
        running.stop()
        log.unlink(missing_ok=True)


def evidence_totals(team: Team, pair_names: list[str]) -> dict[str, int]:
    """The team's shadow evidence on these pairs, every day summed: runs and outcomes, and records kept."""
    sums = DailyEvidence.objects.filter(team=team, pair_name__in=pair_names).aggregate(
        **{name: Sum(name) for name in EVIDENCE_COUNTS}
    )
    totals = {name: sums[name] or 0 for name in EVIDENCE_COUNTS}
    totals["records"] = ShadowRecord.objects.filter(team=team, pair_name__in=pair_names).count()
    return totals


def wait_for_runs(team: Team, pair_names: list[str], target_runs: int, *, since: float, timeout: float) -> float | None:
    """Poll the evidence until the team's runs reach `target_runs`.

    Returns the seconds from `since` (a time.perf_counter() value) until they did, or None after `timeout`.
    """
    while True:
        runs = DailyEvidence.objects.filter(team=team, pair_name__in=pair_names).aggregate(runs=Sum("runs"))["runs"]
        now = time.perf_counter()
        if (runs or 0) >= target_runs:
            return now - since
        if now - since > timeout:
            return None
        time.sleep(POLL_S)
