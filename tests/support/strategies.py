"""Generated data for the pairs' property-based contract cases (hypothesis, with the database).

Each property test draws a plain description of a small team (`TeamSpec`: members, PRs with
surveys and reviews, commits, Copilot usage, stored weekly rows) and the pair's arguments, builds
the rows (apps.metrics.synthetic.build_team, the builder `rollout verify --generated` uses too)
inside one savepoint per example, runs both sides of the
pair directly, each in a savepoint of its own that is always rolled back, and asserts that the two
agree under the pair's own CompareRules (`shadow.diff.compare`), as a sampled call would judge
them. Write pairs are judged on their return value and on the rows they leave.

What the data leans towards, on purpose:
- Instants at the team's local midnight, one microsecond before it, at UTC midnight, at local noon
  or anywhere in the local day (23, 24 or 25 hours long), on days at and around the arguments'
  bounds, in Europe/Berlin, America/New_York and UTC, in seasons holding both zones' 2026 offset
  changes (`SEASONS`).
- Members sharing display names (and names that order differently by codepoint and by locale),
  without a GitHub login, with logins differing only in case or by a leading space, inactive.
  Member ids are handed out in a drawn order, so the order rows were inserted in (the database's
  natural order) is not the id order.
- Amounts whose averages end in a half cent (10.00 and 10.01), Copilot counts whose rates end in
  a half cent (1 of 800 is 0.125 %), formula-like text for the CSV export.

Run every example inside `example_savepoint()`: pytest-django wraps the whole test (all examples)
in one transaction, so without a savepoint per example the rows of one would leak into the next.
`property_settings` makes the runs deterministic (derandomize) and keeps no example database.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import transaction
from hypothesis import HealthCheck, event, settings

# The data description and the builder are the product's own (`rollout verify --generated` uses them too).
from apps.metrics.synthetic import (  # noqa: F401 - re-exported for the property tests
    AI_TOOLS,
    LOGINS,
    REPOS,
    SEASONS,
    ZONES,
    BuiltTeam,
    DateRange,
    MemberSpec,
    Moment,
    PullRequestSpec,
    TeamSpec,
    UsageSpec,
    around_bounds,
    build_team,
    copilot_counts,
    date_ranges,
    half_cent_means,
    local_midnight,
    merged_between,
    offset_change,
    team_specs,
)
from shadow import diff
from shadow.outcome import same_error

# --- settings -------------------------------------------------------------------------------------


def property_settings(max_examples: int) -> settings:
    """Deterministic runs for CI (derandomize, no example database), no deadline on a loaded machine.

    The function-scoped fixture health check is suppressed because every example runs in a savepoint
    of its own inside the test's transaction (see `example_savepoint`).
    """
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@contextmanager
def example_savepoint() -> Iterator[None]:
    """One example's rows, in a savepoint that is always rolled back; caches start empty (cached metrics)."""
    for alias in django_settings.CACHES:
        caches[alias].clear()
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


# --- running both sides and judging them -----------------------------------------------------------


@dataclass
class SideOutcome:
    side: str
    value: Any = None
    error: BaseException | None = None
    # Write pairs: the rows the side left, read back before its savepoint was rolled back.
    state: Any = None

    def observed(self, *, writes: bool) -> Any:
        return {"result": self.value, "state": self.state} if writes else self.value


def run_side(pair: Any, side: str, kwargs: dict[str, Any], *, observe: Callable[[], Any] | None = None) -> SideOutcome:
    """One side on its own deep copy of the arguments, in a savepoint that is always rolled back.

    A stream side is consumed into a list inside the savepoint. A write side's rows are read back
    with the pair's snapshot and `observe` (e.g. the whole table) before the rollback, so the next
    side starts from the same rows.
    """
    outcome = SideOutcome(side)
    function = pair.side(side)
    try:
        with transaction.atomic():
            try:
                value = function(**copy.deepcopy(kwargs))
                outcome.value = list(value) if pair.stream else value
                if pair.writes:
                    outcome.state = {"snapshot": pair.snapshot(**kwargs), "table": observe() if observe else None}
            finally:
                transaction.set_rollback(True)
    except Exception as error:  # compared with the other side's, below
        outcome.error = error
    return outcome


def run_both(
    pair: Any, kwargs: dict[str, Any], *, observe: Callable[[], Any] | None = None, expect_error: bool = False
) -> tuple[SideOutcome, SideOutcome]:
    """Run legacy then optimized, each rolled back, and assert they agree under the pair's CompareRules.

    Agreement as a sampled call judges it: results (and, for write pairs, the rows left) equal under
    `pair.rules`; a stream's rows also exactly equal, as its digests are compared. Both raising is
    agreement only when `expect_error` and with the same error type and message.
    """
    legacy = run_side(pair, "legacy", kwargs, observe=observe)
    optimized = run_side(pair, "optimized", kwargs, observe=observe)
    if expect_error or legacy.error is not None or optimized.error is not None:
        assert expect_error, f"unexpected error: legacy {legacy.error!r}, optimized {optimized.error!r}"
        assert same_error(legacy.error, optimized.error), f"legacy raised {legacy.error!r}, optimized {optimized.error!r}"
        return legacy, optimized
    result = diff.compare(legacy.observed(writes=pair.writes), optimized.observed(writes=pair.writes), pair.rules)
    assert result.matched, f"{pair.name}: legacy and optimized differ:\n" + "\n".join(result.lines(redact=False))
    if pair.stream:
        assert legacy.value == optimized.value
    if isinstance(legacy.value, list):
        # Shown by --hypothesis-show-statistics: how many examples compared something.
        event(f"{pair.name}: {'no rows' if not legacy.value else 'rows'}")
    return legacy, optimized


def rows_of(model: Any, fields: Sequence[str], *, existing_ids: set[int]) -> list[tuple]:
    """Every row of `model` (all teams), by `fields`, with the id kept only for rows that existed before the call.

    So an update in place (same id) and a delete-and-insert (new id) are told apart, while the ids of
    new rows, which differ between two runs, are not compared.
    """
    rows = model.objects.order_by(*fields).values_list("id", *fields)
    return [(row_id if row_id in existing_ids else "new", *values) for row_id, *values in rows]
