"""A record reads as a two-column table: each difference's legacy and optimized values, redacted or in full.

Records keep each difference's two sides (legacy, optimized; for a stale cache: cached, fresh), each
in full and as Sentry gets it, next to the one-line form older rows have alone. Their call arguments
read as words, decoded, personal values redacted unless the reader may see them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import shadow
from shadow.diff import MISSING, Difference
from shadow.models import DifferenceRow, ShadowRecord
from tests.factories import ShadowRecordFactory

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
ARGUMENTS = {
    "start": dt.date(2024, 5, 1),
    "end": dt.date(2024, 5, 31),
    "limit": 10,
    "threshold": Decimal("0.50"),
    "author_name": "Ada Lovelace",
    "filters": {"login": "ada", "repo": "web"},
}


def legacy(*, team, **arguments):
    return {"rows": [{"member_name": "Ada Lovelace", "prs": 1}], "lead": {"login": "ada", "prs": 3}}


def optimized(*, team, **arguments):
    """Shouts the name, counts one PR too many and loses the lead."""
    return {"rows": [{"member_name": "ADA LOVELACE", "prs": 2}], "lead": None}


@pytest.fixture
def record(make_pair, team) -> ShadowRecord:
    make_pair(PAIR, legacy=legacy, optimized=optimized)
    assert shadow.compare(PAIR, team=team, **ARGUMENTS).outcome == "mismatch"
    return ShadowRecord.objects.get()


# --- Difference.sides ----------------------------------------------------------------------


def test_a_difference_gives_its_two_sides_as_render_shows_them():
    """Personal: both [redacted] when redacting (a missing side stays <missing>); else personal keys inside redacted."""
    personal = Difference(path=".name", legacy="Ada", optimized=MISSING, personal=True)
    inside = Difference(path=".lead", legacy={"login": "ada", "prs": 3}, optimized=None)

    assert personal.sides(redact=True) == ("[redacted]", "<missing>")
    assert personal.sides(redact=False) == ("'Ada'", "<missing>")
    assert inside.sides(redact=True) == ("{'login': [redacted], 'prs': 3}", "None")
    assert inside.sides(redact=False) == ("{'login': 'ada', 'prs': 3}", "None")
    assert inside.render(redact=True) == ".lead: {'login': [redacted], 'prs': 3} != None"


# --- what a real comparison stores -----------------------------------------------------------


def test_a_compared_mismatch_gives_each_differences_two_sides_in_full(record):
    assert record.side_labels == ("Legacy", "Optimized")
    assert record.difference_rows(personal=True) == [
        DifferenceRow(
            path=".rows[0].member_name", legacy="'Ada Lovelace'", optimized="'ADA LOVELACE'",
            line=".rows[0].member_name: 'Ada Lovelace' != 'ADA LOVELACE'",
        ),
        DifferenceRow(path=".rows[0].prs", legacy="1", optimized="2", line=".rows[0].prs: 1 != 2"),
        DifferenceRow(
            path=".lead", legacy="{'login': 'ada', 'prs': 3}", optimized="None",
            line=".lead: {'login': 'ada', 'prs': 3} != None",
        ),
    ]


def test_without_personal_the_rows_hold_only_what_sentry_gets(record):
    """A personal difference's sides are [redacted]; personal keys inside a side's value are too."""
    rows = record.difference_rows(personal=False)

    assert rows == [
        DifferenceRow(
            path=".rows[0].member_name", legacy="[redacted]", optimized="[redacted]",
            line=".rows[0].member_name: [redacted] != [redacted]",
        ),
        DifferenceRow(path=".rows[0].prs", legacy="1", optimized="2", line=".rows[0].prs: 1 != 2"),
        DifferenceRow(
            path=".lead", legacy="{'login': [redacted], 'prs': 3}", optimized="None",
            line=".lead: {'login': [redacted], 'prs': 3} != None",
        ),
    ]
    assert not any("Ada" in str(row) or "ada" in str(row) for row in rows)
    assert record.differences(personal=False) == [row.line for row in rows]


def test_the_arguments_read_as_words_decoded_with_personal_values_redacted(record):
    """By name, dates and Decimals as written, no codec markers, the team left out (the record names it).

    (The database keeps no order among a JSON object's keys: the filters come back shortest key first.)
    """
    assert record.call_arguments["start"] == {"__date__": "2024-05-01"}
    assert record.arguments_text(personal=False) == (
        "author_name=[redacted], end=2024-05-31, filters={'repo': 'web', 'login': [redacted]}, limit=10, "
        "start=2024-05-01, threshold=0.50"
    )
    assert record.arguments_text(personal=True) == (
        "author_name=Ada Lovelace, end=2024-05-31, filters={'repo': 'web', 'login': 'ada'}, limit=10, "
        "start=2024-05-01, threshold=0.50"
    )


def test_a_pairs_own_personal_fields_are_redacted_in_its_arguments(make_pair, team):
    from shadow.diff import CompareRules

    make_pair(PAIR, legacy=legacy, optimized=optimized, rules=CompareRules(personal_fields=frozenset({"repo"})))
    record = ShadowRecordFactory(pair_name=PAIR, team=team, call_arguments={"team_id": team.pk, "repo": "web"})

    assert record.arguments_text(personal=False) == "repo=[redacted]"
    assert record.arguments_text(personal=True) == "repo=web"


def test_the_record_names_its_team_and_the_command_that_replays_it(record):
    assert str(record) == "Mismatch in test.pair for acme"
    assert record.replay_command() == f"python manage.py rollout verify test.pair --record {record.pk}"


# --- older rows ------------------------------------------------------------------------------


def test_rows_stored_before_the_sides_show_their_line(team):
    """Only path, line and redacted: no sides, the line stands in for them."""
    record = ShadowRecordFactory(
        team=team,
        diff=[{"path": "[0].title", "line": "[0].title: 'Fix Alice' != 'Fix Bob'", "redacted": "[0].title: [redacted] != [redacted]"}],
    )

    assert record.difference_rows(personal=True) == [
        DifferenceRow(path="[0].title", legacy=None, optimized=None, line="[0].title: 'Fix Alice' != 'Fix Bob'")
    ]
    assert record.difference_rows(personal=False) == [
        DifferenceRow(path="[0].title", legacy=None, optimized=None, line="[0].title: [redacted] != [redacted]")
    ]


def test_rows_stored_before_the_redacted_forms_show_redacted_placeholders(team):
    record = ShadowRecordFactory(team=team, diff=[{"path": "", "line": "<root>: 'Alice' != 'Bob'"}])

    assert record.difference_rows(personal=False) == [
        DifferenceRow(path="<root>", legacy=None, optimized=None, line="<root>: [redacted]")
    ]


def test_a_stale_cache_record_labels_its_sides_cached_and_fresh(team):
    record = ShadowRecordFactory(team=team, outcome=ShadowRecord.Outcome.STALE_CACHE)

    assert record.side_labels == ("Cached", "Fresh")


def test_arguments_of_a_type_no_longer_registered_are_shown_as_stored(team):
    record = ShadowRecordFactory(
        team=team, call_arguments={"team_id": team.pk, "row": {"__dataclass__": "gone.Row", "fields": {"n": 1}}}
    )

    assert record.arguments_text(personal=True) == "row={'__dataclass__': 'gone.Row', 'fields': {'n': 1}}"
