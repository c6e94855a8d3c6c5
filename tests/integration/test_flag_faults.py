"""A flip always lands: real gunicorn workers serve a rollback within FLAGS_MAX_STALE_SECONDS whatever Redis does.

Three gunicorn worker processes (the production gunicorn.conf.py) use a
redis-server of the test's own as their cache. For each fault (Redis down,
hung, restarted with old data, flushed, and a change made from a process
without Redis) the flag is switched on for a team, the fault happens, the
team is rolled back, and every worker must serve "off" once the bound (plus
a margin for a request in flight) has passed. The workers answer a probe
URL with their pid, so the test sees each process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

import flags
from flags.services import disable_for_teams, enable_for_teams, set_everyone
from tests.factories import TeamFactory
from tests.support.processes import ROOT, database_url
from tests.support.redis_server import RedisServer, free_port, redis_available

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: CI's second run sets it"),
    pytest.mark.skipif(not redis_available(), reason="needs redis-server"),
]

FLAG = "metrics.team_breakdown"
WORKERS = 3
BOUND = 2.0
# A request that started just before the bound ran out may still answer with the old state.
MARGIN = 1.0
# How long the workers are watched after the bound has passed, so every one of them is seen.
WATCH = 3.0


def worker_env(redis_url: str | None, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.support.probe_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "fault-test-only",
        "FLAGS_MAX_STALE_SECONDS": str(BOUND),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
        # The same three processes throughout: no recycling after N requests while the test counts pids.
        "GUNICORN_MAX_REQUESTS": "0",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class Probe:
    """Asks the workers, one request at a time, what they serve for the team."""

    def __init__(self, port: int, team_slug: str) -> None:
        self.url = f"http://127.0.0.1:{port}/probe/flag/?flag={FLAG}&team={team_slug}"

    def ask(self) -> dict:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            answer = json.load(response)
        answer["at"] = time.monotonic()
        return answer

    def watch(self, seconds: float) -> list[dict]:
        until = time.monotonic() + seconds
        answers = []
        while time.monotonic() < until:
            answers.append(self.ask())
        return answers

    def wait_until_all(self, *, on: bool, within: float) -> None:
        """Every worker's latest answer is `on` (each worker seen at least once)."""
        latest: dict[int, bool] = {}
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            answer = self.ask()
            latest[answer["pid"]] = answer["on"]
            if len(latest) == WORKERS and all(state is on for state in latest.values()):
                return
        pytest.fail(f"workers did not all serve on={on} within {within} s: {latest}")


@pytest.fixture(scope="module")
def redis_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def gunicorn(django_db_setup, django_db_blocker, redis_port, tmp_path_factory) -> Iterator[int]:
    """gunicorn with the production config and 3 workers, whose cache is the test's own Redis on redis_port."""
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with django_db_blocker.unblock(), open(log, "w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "tformance.wsgi"],
            cwd=ROOT, env=worker_env(f"redis://127.0.0.1:{redis_port}/0", port), stdout=output, stderr=output,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start:\n" + Path(log).read_text())
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def redis_server(redis_port, tmp_path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path, port=redis_port) as server:
        yield server


def disable_from_a_shell_without_redis(team_slug: str) -> None:
    """The operator's rollback from a shell whose environment has no REDIS_URL."""
    env = {**worker_env(None, 0), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "rollout", "disable", FLAG, "--team", team_slug, "--reason", "rollback"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "fault", ["down", "hung", "restarted with old data", "flushed", "changed without redis", "killed while down"]
)
def test_a_rollback_reaches_every_worker_within_the_bound(gunicorn, redis_server, fault):
    """enable → every worker on; fault; disable (or kill) → every worker off once the bound (+ margin) has passed.

    While Redis is hung, flag checks stay fast: they never wait on it.
    """
    team = TeamFactory()
    enable_for_teams(name=FLAG, teams=[team], actor="tests", reason="fault test", force=True)
    probe = Probe(gunicorn, team.slug)
    probe.wait_until_all(on=True, within=BOUND + MARGIN + 5)

    if fault in ("down", "killed while down"):
        redis_server.kill()
    elif fault == "hung":
        redis_server.hang()
    elif fault == "restarted with old data":
        redis_server.save()
        redis_server.kill()
    elif fault == "flushed":
        redis_server.flush()

    if fault == "changed without redis":
        disable_from_a_shell_without_redis(team.slug)
    elif fault == "killed while down":
        set_everyone(name=FLAG, everyone=False, actor="tests", reason="kill switch")
    else:
        disable_for_teams(name=FLAG, teams=[team], actor="tests", reason="rollback")
    rolled_back_at = time.monotonic()
    assert flags.is_enabled(FLAG, team=team) is False
    if fault == "restarted with old data":
        redis_server.start()

    answers = probe.watch(BOUND + MARGIN + WATCH)
    redis_server.resume()

    settled = [answer for answer in answers if answer["at"] > rolled_back_at + BOUND + MARGIN]
    assert len({answer["pid"] for answer in settled}) == WORKERS
    assert [answer for answer in settled if answer["on"]] == []
    if fault == "hung":
        flag_ms = sorted(answer["flag_ms"] for answer in answers)
        assert statistics.quantiles(flag_ms, n=20)[-1] < 50
