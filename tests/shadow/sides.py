"""Building blocks for test-only pairs: sides that log their calls, make a known number of queries, or misbehave."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection

from apps.teams.models import Team


def make_queries(team: Team, count: int) -> None:
    """Exactly `count` SQL statements, scoped to the team."""
    for _ in range(count):
        Team.objects.filter(pk=team.pk).exists()


class Side:
    """One side of a test pair: logs its name in a shared call log, makes `queries` queries, then returns or raises.

    `value` may be a callable of the call's keyword arguments. `error` is raised
    after the queries (the very same object each time, so tests can check identity).
    """

    def __init__(
        self, name: str, log: list[str], *, value: Any = None, queries: int = 0, error: BaseException | None = None
    ):
        self.name = name
        self.log = log
        self.value = value
        self.queries = queries
        self.error = error

    def __call__(self, *, team: Team, **kwargs: Any) -> Any:
        self.log.append(self.name)
        make_queries(team, self.queries)
        if self.error is not None:
            raise self.error
        return self.value(team=team, **kwargs) if callable(self.value) else self.value


def sleeper(log: list[str], *, seconds: float, times: int) -> Callable[..., Any]:
    """A side that runs `SELECT pg_sleep(seconds)` up to `times` times, logging "sleep" after each finished one."""

    def side(*, team: Team) -> str:
        for _ in range(times):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(%s)", [seconds])
            log.append("sleep")
        return "slept"

    return side


def invalid_sql(log: list[str]) -> Callable[..., Any]:
    """A side whose SQL fails on the server (the transaction it ran in is aborted up to its savepoint)."""

    def side(*, team: Team) -> str:
        log.append("invalid-sql")
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM shadow_table_that_does_not_exist")
        return "unreachable"

    return side


def constant_legacy(*, team: Team) -> int:
    """A trivial side for pairs whose results do not matter to the test (console, plans, autopilot)."""
    return 1


def constant_optimized(*, team: Team) -> int:
    return 1
