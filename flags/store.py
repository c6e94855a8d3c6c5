"""Each process's copy of the rollout flags: never older than FLAGS_MAX_STALE_SECONDS, whatever the cache does.

PostgreSQL is the source of truth. Every change of a flag (its row or its
team lists) gives the flag a new version from a database sequence, in the
same transaction as the change. A process keeps the flag states it has read
in memory and, at most once per FLAGS_MAX_STALE_SECONDS, asks PostgreSQL
for every flag's version (one small query); only flags whose version moved
are read again (one more query, only after a change). Between checks an
evaluation makes no query and touches no cache server, so Redis being down,
hung, flushed or restored from old data can neither slow a flag check nor
make a process serve an older state: versions only grow, and a state is
only ever replaced by a newer one.

The process that commits a change expires its copy on commit, so it sees
the change at once. A connection holding an uncommitted change of a flag
reads that flag straight from the database and keeps nothing, so a change
that is rolled back never reaches the copy.

The SQL is written against the tables directly: this module sits below the
models (flags.models asks it to record versions), like the rules it applies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from flags import conf
from flags.rules import decide
from tformance import generations

VERSION_SEQUENCE = "flags_flag_version_seq"

READ_VERSIONS = "SELECT name, version FROM flags_flag"
READ_STATES = """
SELECT f.name, f.version, f.everyone, f.percent,
       ARRAY(SELECT t.team_id FROM flags_flag_teams t WHERE t.flag_id = f.id),
       ARRAY(SELECT b.team_id FROM flags_flag_blocked_teams b WHERE b.flag_id = f.id)
FROM flags_flag f
WHERE f.name = ANY(%s)
"""
NEXT_VERSION = f"UPDATE flags_flag SET version = nextval('{VERSION_SEQUENCE}') WHERE id = %s"


def generation_name(flag_name: str) -> str:
    """The name this connection marks while it holds an uncommitted change of the flag."""
    return f"flag:{flag_name}"


@dataclass(frozen=True)
class FlagState:
    """One flag as stored at one version."""

    name: str
    version: int
    everyone: bool | None
    percent: Decimal | None
    listed: frozenset[int]
    blocked: frozenset[int]

    def is_on(self, team_id: int | None) -> bool:
        return decide(
            flag_name=self.name, everyone=self.everyone, percent=self.percent, team_id=team_id,
            listed=team_id in self.listed, blocked=team_id in self.blocked,
        )


def read_versions() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(READ_VERSIONS)
        return dict(cursor.fetchall())


def read_states(names: Iterable[str]) -> dict[str, FlagState]:
    with connection.cursor() as cursor:
        cursor.execute(READ_STATES, [list(names)])
        return {
            name: FlagState(name, version, everyone, percent, frozenset(listed), frozenset(blocked))
            for name, version, everyone, percent, listed, blocked in cursor.fetchall()
        }


def next_version(flag_id: int) -> None:
    """Give the flag a new version, in the caller's transaction: the change and its version commit together."""
    with connection.cursor() as cursor:
        cursor.execute(NEXT_VERSION, [flag_id])


class FlagStore:
    """The flag states this process acts on, re-checked against PostgreSQL at most once per bound."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._states: dict[str, FlagState] = {}
        self._checked_at: float | None = None
        # Moves on every expiry, so a check that started before a commit cannot mark the copy fresh after it.
        self._epoch = 0
        self._lock = threading.Lock()
        self.checks = 0

    def state(self, name: str) -> FlagState | None:
        """The flag's state (None: no row, so off for every team)."""
        if not generations.cache_usable(generation_name(name)):
            # This connection changed the flag and has not committed: read it, keep nothing.
            return read_states([name]).get(name)
        if self._due():
            self._check()
        return self._states.get(name)

    def expire(self) -> None:
        """The next evaluation re-checks the versions (this process just committed a change)."""
        self._epoch += 1
        self._checked_at = None

    def forget(self) -> None:
        """Drop every state (tests: each test has its own rows)."""
        with self._lock:
            self._states = {}
            self.expire()

    def _due(self) -> bool:
        checked_at = self._checked_at
        return checked_at is None or self.clock() - checked_at >= conf.max_stale_seconds()

    def _check(self) -> None:
        with self._lock:
            if not self._due():
                return  # another thread checked while this one waited
            epoch, started = self._epoch, self.clock()
            versions = read_versions()
            moved = [name for name, version in versions.items() if self._version(name) < version]
            fresh = read_states(moved) if moved else {}
            # Deleted flags go; a state is only ever replaced by a newer version.
            states = {name: state for name, state in self._states.items() if name in versions}
            for name, state in fresh.items():
                if self._version(name) < state.version:
                    states[name] = state
            self._states = states
            self.checks += 1
            if epoch == self._epoch:
                self._checked_at = started

    def _version(self, name: str) -> int:
        state = self._states.get(name)
        return -1 if state is None else state.version


# One copy per process.
STORE = FlagStore()
