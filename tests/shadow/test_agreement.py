"""Both sides refusing a call alike is agreement: it is neither an optimized failure nor a reason to roll back."""

from __future__ import annotations

import pytest

from shadow.checks import check_pairs
from shadow.models import DailyEvidence, ShadowRecord
from shadow.testing import force_side
from tests.shadow.sides import Side

PAIR = "test.pair"


@pytest.mark.django_db
def test_an_unsampled_call_refused_alike_by_both_sides_records_nothing(make_pair, settings, team):
    """Optimized serves and raises; legacy raises the same error: the caller gets legacy's error, nothing is counted."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    legacy_error = ValueError("n must be positive")
    pair = make_pair(
        legacy=Side("legacy", log, error=legacy_error),
        optimized=Side("optimized", log, error=ValueError("n must be positive")),
    )

    with force_side(PAIR, "optimized"), pytest.raises(ValueError) as raised:
        pair(team=team)

    assert raised.value is legacy_error
    assert log == ["optimized", "legacy"]
    assert (DailyEvidence.objects.count(), ShadowRecord.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_an_unsampled_call_refused_differently_records_the_optimized_error(make_pair, settings, team):
    """A different error on the legacy side means optimized misbehaved too: it is recorded."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, error=ValueError("n must be positive")),
        optimized=Side("optimized", log, error=KeyError("n")),
    )

    with force_side(PAIR, "optimized"), pytest.raises(ValueError):
        pair(team=team)

    day = DailyEvidence.objects.get(team=team)
    assert (day.errors, day.optimized_errors) == (1, 1)


@pytest.mark.django_db
def test_a_sampled_call_refused_alike_counts_as_a_match_not_an_optimized_error(
    make_pair, sample_everything, team
):
    """With optimized serving, the same error on both sides is a match and adds nothing towards a rollback."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, error=ValueError("n must be positive")),
        optimized=Side("optimized", log, error=ValueError("n must be positive")),
    )

    with force_side(PAIR, "optimized"), pytest.raises(ValueError, match="n must be positive"):
        pair(team=team)

    day = DailyEvidence.objects.get(team=team)
    assert (day.runs, day.matches, day.errors, day.optimized_errors) == (1, 1, 0, 0)


def generator_side(*, team):
    yield {"row": 1}


def test_generator_sides_are_refused_at_start_up(make_pair):
    """Pair sides return plain data: a generator would be compared as an object, outside the savepoint."""
    make_pair(legacy=generator_side, optimized=generator_side)
    assert [error.msg for error in check_pairs()] == [
        "Pair 'test.pair': the legacy side is a generator; pair sides return plain data",
        "Pair 'test.pair': the optimized side is a generator; pair sides return plain data",
    ]
