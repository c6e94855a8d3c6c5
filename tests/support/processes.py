"""Run another real process (manage.py, a Celery worker) against this test run's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database as a DATABASE_URL (a socket directory as host is percent-encoded)."""
    db = connection.settings_dict
    host = urllib.parse.quote(str(db["HOST"]), safe="")
    return f"postgres://{db['USER']}@{host}:{db['PORT']}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process that must see this test's committed rows."""
    env = {**os.environ, "DATABASE_URL": database_url(), **extra}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


def run_manage(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=child_env(**extra_env), capture_output=True, text=True, timeout=120,
    )


@contextmanager
def celery_worker(
    queue: str, *extra_args: str, beat_schedule: Path | None = None, **extra_env: str,
) -> Iterator[None]:
    """A real `celery worker` process consuming `queue` from REDIS_URL; its log is printed when it stops.

    beat_schedule: also run celery beat inside the worker (-B), keeping its schedule in that file.
    Beat sends to the default queue, so the default queue becomes `queue` for this worker alone:
    its beat's tasks reach it and no other worker, and nothing left on the shared default queue by
    an earlier run reaches it.
    """
    beat_args = ["-B", "-s", str(beat_schedule), f"task_default_queue={queue}"] if beat_schedule else []
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tformance", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
         *beat_args, *extra_args],
        cwd=ROOT, env=child_env(**extra_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # Embedded beat is a child process of the worker: a group of their own lets both be ended together.
        start_new_session=bool(beat_schedule),
    )
    try:
        yield
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output)
        if beat_schedule:
            # A beat process that outlived its worker would go on sending: end whatever is left of the group.
            with suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            purge_queue(queue)


def purge_queue(queue: str) -> None:
    """Drop what beat sent that the worker did not take before it stopped: the queue is this run's alone."""
    from tformance.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
