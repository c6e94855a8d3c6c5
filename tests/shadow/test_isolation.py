"""The shadow never changes what the caller gets: each side runs on its own copy of the arguments,
and a detected mismatch is answered with legacy's value."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import pytest

from flags.services import enable_for_teams

pytestmark = pytest.mark.django_db

PAIR = "test.pair"


def legacy_values(*, team, values: list[int]) -> dict:
    return {"team": team.name, "values": list(values)}


def meddling_values(*, team, values: list[int]) -> dict:
    """Changes its arguments in place: sorts the list it was given, renames the team object."""
    values.sort()
    team.name = "changed by the shadow"
    return {"team": team.name, "values": list(values)}


@pytest.mark.parametrize("flag_on", [False, True])
def test_a_side_that_changes_its_arguments_changes_nothing_the_caller_sees(make_pair, sample_everything, team, flag_on):
    """20 sampled calls in random side order: the caller's list and team object are untouched, every answer legacy's."""
    random.seed(3)
    pair = make_pair(PAIR, legacy=legacy_values, optimized=meddling_values)
    if flag_on:
        enable_for_teams(name=PAIR, teams=[team], actor="tests", reason="optimized serves", force=True)
    values = [3, 1, 2]

    answers = [pair(team=team, values=values) for _ in range(20)]

    assert answers == [{"team": "Acme", "values": [3, 1, 2]}] * 20
    assert values == [3, 1, 2]
    assert team.name == "Acme"


# --- arguments that cannot be copied ------------------------------------------------------------


def takes_rows(*, team, rows: Iterator[int]) -> int:
    return sum(rows)


def takes_optional_file(*, team, out: io.TextIOBase | None = None) -> int:
    return 0


@pytest.mark.parametrize(
    ("side", "expected"),
    [
        (takes_rows, "argument 'rows' is an iterator (Iterator)"),
        (takes_optional_file, "argument 'out' is a file (TextIOBase)"),
    ],
)
def test_a_pair_whose_arguments_cannot_be_copied_is_refused_at_registration(side, expected):
    from shadow.pairs import Pair

    with pytest.raises(ValueError, match="cannot") as refused:
        Pair(name=PAIR, legacy=side, optimized=side)

    assert str(refused.value).startswith(f"Pair {PAIR!r}: {expected}, which cannot be copied for each side.")


def test_a_value_that_cannot_be_copied_at_call_time_is_served_without_a_comparison(
    make_pair, sample_everything, team, caplog
):
    """Annotations cannot catch everything: a generator passed at run time is served by one side, and logged."""
    from shadow.models import DailyEvidence

    pair = make_pair(legacy=lambda *, team, rows: sum(rows), optimized=lambda *, team, rows: sum(rows))

    assert pair(team=team, rows=(n for n in range(4))) == 6
    assert "cannot be copied" in caplog.text
    assert not DailyEvidence.objects.exists()
