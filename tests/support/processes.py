"""Run another real process (manage.py, a Celery worker) against this test run's database."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
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
