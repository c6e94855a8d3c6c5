"""The dashboard tells the truth: a change is shown only against a comparable previous period, partial
weeks are marked and left out of a trend's direction, numbers carry thousands separators, long
breakdowns collapse, and only an uneven review load is coloured."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.metrics.models import PullRequest
from apps.metrics.templatetags.numbers import thousands
from apps.metrics.views.dashboard import comparable, key_metric_cards, trend_direction, with_weeks
from tests.factories import PRReviewFactory, PullRequestFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def period(prs: int, *, cycle: str | None = "10.00", ai: str = "50.00") -> dict:
    return {
        "prs_merged": prs, "avg_cycle_time": None if cycle is None else Decimal(cycle),
        "avg_quality_rating": None, "ai_assisted_pct": Decimal(ai),
    }


@pytest.mark.parametrize(("current", "previous", "expected"), [
    (8, 2, True),  # exactly a quarter
    (8, 1, False),  # less than a quarter
    (8050, 26, False),  # the demo's 90 days: +8024 against an almost empty period
    (3, 1, True),
    (0, 0, False),  # nothing on either side
    (0, 5, True),
    (5, 0, False),
])
def test_the_previous_period_is_compared_only_with_at_least_a_quarter_of_the_prs(current, previous, expected):
    assert comparable(period(current), period(previous)) is expected


def test_without_a_comparable_period_no_change_and_no_tone_is_shown():
    cards = {card["key"]: card for card in key_metric_cards(period(8050), period(26, cycle="31.58"))}

    assert cards["prs_merged"]["value"] == "8,050"
    assert (cards["prs_merged"]["comparable"], cards["prs_merged"]["delta"], cards["prs_merged"]["tone"]) == (False, "", "")
    assert cards["avg_cycle_time"]["delta"] == ""


def test_with_a_comparable_period_the_change_is_signed_grouped_and_toned():
    cards = {card["key"]: card for card in key_metric_cards(period(12000), period(9000, cycle="12.50"))}

    assert (cards["prs_merged"]["delta"], cards["prs_merged"]["tone"]) == ("+3,000", "good")
    assert (cards["avg_cycle_time"]["delta"], cards["avg_cycle_time"]["tone"]) == ("\u22122.50 h", "good")


def test_an_empty_period_shows_no_ai_share():
    cards = {card["key"]: card for card in key_metric_cards(period(0, cycle=None, ai="0.00"), period(0))}

    assert cards["ai_assisted_pct"]["value"] == "\u2014"


def week(start: str, value: str | None) -> dict:
    return {"week_start": dt.date.fromisoformat(start), "value": None if value is None else Decimal(value), "prs": 1}


def test_partial_weeks_are_marked_and_left_out_of_the_direction():
    """A Wednesday-to-Tuesday range: its first and last weeks are partial; the direction compares full weeks only."""
    rows = [week("2026-11-02", "99.00"), week("2026-11-09", "30.00"), week("2026-11-16", "24.00"), week("2026-11-23", "1.00")]

    marked = with_weeks(rows, start_date=dt.date(2026, 11, 4), end_date=dt.date(2026, 11, 24))

    assert [(row["days"], row["partial"]) for row in marked] == [(5, True), (7, False), (7, False), (2, True)]
    assert trend_direction(marked, "value", unit=" h") == "Full weeks: 30.00 h \u2192 24.00 h, down"


def test_no_direction_with_fewer_than_two_full_weeks_with_values():
    marked = with_weeks(
        [week("2026-11-09", "30.00"), week("2026-11-16", None)], start_date=dt.date(2026, 11, 9), end_date=dt.date(2026, 11, 22)
    )

    assert trend_direction(marked, "value", unit=" h") is None


@pytest.mark.parametrize(("value", "text"), [
    (2571, "2,571"), (129236, "129,236"), (Decimal("8050.25"), "8,050.25"), (12, "12"), (None, ""), ("\u2014", "\u2014"),
])
def test_thousands_are_grouped(value, text):
    assert thousands(value) == text


# --- on the page ---------------------------------------------------------------------------------


def merged_today(team, author, count: int) -> None:
    now = timezone.now()
    PullRequestFactory.create_batch(
        count, team=team, author=author, state="merged", pr_created_at=now - dt.timedelta(hours=5),
        merged_at=now - dt.timedelta(hours=1), cycle_time_hours=Decimal("4.00"),
    )


def test_a_long_breakdown_shows_ten_members_and_the_rest_behind_show_all(member_client, team):
    for number in range(12):
        merged_today(team, TeamMemberFactory(team=team, display_name=f"Member {number:02d}"), 1 + number)

    page = member_client.get("/app/acme/").content.decode()

    breakdown = page[page.index('id="team-breakdown"'):page.index('id="cycle-time-trend"')]
    first_table = breakdown[:breakdown.index("<details")]
    assert len(re.findall(r"Member \d\d", first_table)) == 10
    assert "<summary>Show all 12 members</summary>" in breakdown
    assert len(re.findall(r"Member \d\d", breakdown)) == 12


def test_only_an_uneven_review_load_is_coloured(member_client, team):
    author = TeamMemberFactory(team=team, display_name="Author")
    busy, usual, quiet = (TeamMemberFactory(team=team, display_name=name) for name in ("Busy", "Usual", "Quiet"))
    merged_today(team, author, 1)
    pr = PullRequest.objects.get(team=team)
    for reviewer, count in ((busy, 8), (usual, 4), (quiet, 1)):
        PRReviewFactory.create_batch(count, team=team, pull_request=pr, reviewer=reviewer, submitted_at=timezone.now())

    page = member_client.get("/app/acme/").content.decode()

    workload = page[page.index('id="reviewer-workload"'):]
    assert '<span class="pill load-high">high</span>' in workload
    assert '<span class="pill load-low">low</span>' in workload
    assert '<span class="muted">normal</span>' in workload
    assert "pill normal" not in workload
