"""Run another real process (manage.py, a Celery worker) against this test run's database."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
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
def celery_worker(queue: str, *extra_args: str, **extra_env: str) -> Iterator[None]:
    """A real `celery worker` process consuming `queue` from REDIS_URL; its log is printed when it stops."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tformance", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", *extra_args],
        cwd=ROOT, env=child_env(**extra_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
