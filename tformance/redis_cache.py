"""Redis as a cache that cannot hurt: short timeouts, a circuit breaker, one warning per interval.

django-redis already turns a connection error into a cache miss (or a
dropped write) when told to ignore them. This backend adds what keeps a sick
Redis from slowing every request:
- connect and socket timeouts (REDIS_TIMEOUT_SECONDS, set in settings), so a
  hung server costs one short wait, not the operating system's default;
- a circuit breaker: after a failure, calls skip Redis altogether for
  REDIS_BREAKER_SECONDS, then one call tries again;
- errors logged at WARNING at most once per REDIS_WARN_INTERVAL_SECONDS per
  process, with the number suppressed meanwhile, never one log record (and
  Sentry event) per cache call.

django-redis reports each ignored error through its cache's `logger`
(`logger.exception`); the breaker is that logger here, which is how it learns
of failures without wrapping every cache method.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted

logger = logging.getLogger(__name__)


class CircuitBreaker:
    """Open for `open_seconds` after each failure; warns at most once per `warn_interval` seconds."""

    def __init__(
        self, *, name: str, open_seconds: float, warn_interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.open_seconds = open_seconds
        self.warn_interval = warn_interval
        self.clock = clock
        self.failures = 0
        self.short_circuits = 0
        self._open_until = 0.0
        self._warned_at: float | None = None
        self._suppressed = 0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return self.clock() < self._open_until

    def short_circuit(self) -> ConnectionInterrupted:
        """The error a call gets while the breaker is open: no network, no new failure."""
        self.short_circuits += 1
        return ConnectionInterrupted(connection=None)

    def failed(self, error: BaseException | None) -> None:
        with self._lock:
            now = self.clock()
            self.failures += 1
            self._open_until = now + self.open_seconds
            if self._warned_at is not None and now - self._warned_at < self.warn_interval:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._warned_at = self._suppressed, 0, now
        logger.warning(
            "Redis cache %r unreachable (%s); serving without it, retrying every %.1f s%s",
            self.name, error or "error", self.open_seconds,
            f" ({suppressed} more failures since the last warning)" if suppressed else "",
        )

    # django-redis calls this for each error it ignores (see the module docstring).
    def exception(self, message: str, *args: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionInterrupted) and error.connection is None and error.__cause__ is None:
            return  # the breaker's own short circuit, not a new failure
        self.failed(error)


class GuardedRedisCache(RedisCache):
    """django-redis's cache, with connection errors ignored behind a circuit breaker (see the module docstring)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        options = params.get("OPTIONS", {})
        self._ignore_exceptions = True
        self._log_ignored_exceptions = True
        self.breaker = CircuitBreaker(
            name=params.get("KEY_PREFIX", "default"),
            open_seconds=float(options.get("BREAKER_SECONDS", getattr(settings, "REDIS_BREAKER_SECONDS", 1.0))),
            warn_interval=float(options.get("WARN_INTERVAL_SECONDS", getattr(settings, "REDIS_WARN_INTERVAL_SECONDS", 60.0))),
        )
        self.logger = self.breaker  # type: ignore[assignment]

    @property
    def client(self) -> Any:
        if self.breaker.is_open():
            raise self.breaker.short_circuit()
        return super().client
