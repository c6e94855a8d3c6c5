"""Redis as a cache that cannot hurt: against a real redis-server the test kills and hangs.

A dead or hung Redis costs one short wait, then the circuit breaker skips it
without touching the network; the failure is logged once, at WARNING, not
once per call; and the cache works again once Redis is back.
"""

from __future__ import annotations

import logging
import time

import pytest

from tests.support.redis_server import RedisServer, redis_available
from tformance.redis_cache import GuardedRedisCache

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs redis-server")

CALLS = 200


def guarded_cache(server: RedisServer, *, breaker_seconds: float = 30.0) -> GuardedRedisCache:
    return GuardedRedisCache(
        server.url,
        {
            "KEY_PREFIX": "test",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "BREAKER_SECONDS": breaker_seconds,
                "WARN_INTERVAL_SECONDS": 60,
            },
        },
    )


@pytest.fixture
def server(tmp_path):
    with RedisServer(tmp_path) as server:
        yield server


@pytest.mark.parametrize("fault", ["down", "hung"])
def test_a_failing_redis_is_tried_once_then_skipped_and_warned_about_once(server, fault, caplog):
    """After the first failure, the next calls never reach the network: misses, one WARNING, no ERROR."""
    cache = guarded_cache(server)
    cache.set("key", "value")
    assert cache.get("key") == "value"
    if fault == "down":
        server.kill()
    else:
        server.hang()

    with caplog.at_level(logging.INFO):
        answers = [cache.get("key", default="miss") for _ in range(CALLS)]
        cache.set("other", "value")

    assert answers == ["miss"] * CALLS
    assert (cache.breaker.failures, cache.breaker.short_circuits) == (1, CALLS)
    assert [(record.levelname, record.name) for record in caplog.records] == [("WARNING", "tformance.redis_cache")]
    assert "unreachable" in caplog.records[0].getMessage()
    server.resume()


def test_a_hung_redis_costs_one_socket_timeout_not_one_per_call(server):
    """The first call waits out the socket timeout (0.2 s); the breaker answers the other calls without waiting."""
    cache = guarded_cache(server)
    cache.set("key", "value")
    server.hang()

    started = time.perf_counter()
    for _ in range(CALLS):
        cache.get("key")
    # One timed-out call at most (0.2 s); without the breaker, CALLS × 0.2 s = 40 s.
    assert time.perf_counter() - started < 0.2 * 5
    server.resume()


def test_the_cache_works_again_once_redis_is_back(server):
    """Once the breaker's window has passed, one call tries Redis again; it answers, so the cache is back."""
    cache = guarded_cache(server, breaker_seconds=0.2)
    server.kill()
    assert cache.get("key", default="miss") == "miss"
    server.start()
    time.sleep(0.3)

    cache.set("key", "back")

    assert cache.get("key") == "back"
    assert cache.breaker.failures == 1


def test_failures_past_the_warning_interval_warn_again_with_the_count_in_between(server, caplog):
    """One warning per interval per process, saying how many failures it stood for."""
    cache = guarded_cache(server, breaker_seconds=0)
    cache.breaker.warn_interval = 0.5
    server.kill()

    with caplog.at_level(logging.WARNING, logger="tformance.redis_cache"):
        for _ in range(5):
            cache.get("key")
        time.sleep(0.6)
        cache.get("key")

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "(4 more failures since the last warning)" in messages[1]
