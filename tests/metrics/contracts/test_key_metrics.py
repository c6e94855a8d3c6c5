"""Contract of the metrics.key_metrics pair, run against both sides.

Unless a test says otherwise the current period is Monday 2026-11-16 to
Sunday 2026-11-22 and the previous period Monday 2026-11-09 to Sunday
2026-11-15, both ends inclusive, in the team's time zone. The optimized side
caches its result; each test starts with empty caches (tests/conftest.py).
Registration, examples, demo-data agreement and query counts come from the
shared contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.metrics.models import PullRequest
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from shadow import pairs as registry
from shadow.testing import force_side
from tests.factories import (
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
)
from tests.support.contracts import PairContract

pytestmark = pytest.mark.django_db

PAIR = "metrics.key_metrics"
UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
CURRENT = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
PREVIOUS = dt.datetime(2026, 11, 11, 12, 0, tzinfo=UTC)

EMPTY = {
    "prs_merged": 0,
    "avg_cycle_time": None,
    "avg_quality_rating": None,
    "ai_assisted_pct": Decimal("0.00"),
}


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def merged_pr(team, author, *, merged_at=CURRENT, cycle: str | None = "24.00", **kwargs) -> PullRequest:
    return PullRequestFactory(
        team=team,
        author=author,
        merged_at=merged_at,
        cycle_time_hours=None if cycle is None else Decimal(cycle),
        **kwargs,
    )


def rated(pr: PullRequest, *ratings: int | None, ai: bool | None = True) -> None:
    """A survey on the PR answered `ai`, with one reviewer answer per rating."""
    survey = PRSurveyFactory(pull_request=pr, author=pr.author, author_ai_assisted=ai)
    for rating in ratings:
        PRSurveyReviewFactory(survey=survey, quality_rating=rating)


def rendered(result: dict) -> dict:
    """Each period's values as the dashboard prints them: this pins types and decimal places, not just equality."""
    return {period: [str(value) for value in values.values()] for period, values in result.items()}


def members_with_rated_prs(team, members: int) -> None:
    """`members` members, each with a rated, surveyed PR merged in both periods."""
    for _ in range(members):
        author = TeamMemberFactory(team=team)
        rated(merged_pr(team, author), 2, 3, ai=True)
        rated(merged_pr(team, author, merged_at=PREVIOUS), 1, ai=False)


class TestKeyMetricsContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_key_metrics_with_previous
    sides = (legacy.get_key_metrics_with_previous, optimized.get_key_metrics_with_previous)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'dict'"

    # Seeded UTC and Berlin teams, for ranges with and without earlier data.
    demo_cases = {
        "last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)},
        "last-fifteen-days": {"start_date": dt.date(2026, 11, 6), "end_date": dt.date(2026, 11, 20)},
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20)},
        "across-the-end-of-summer-time": {"start_date": dt.date(2026, 10, 25), "end_date": dt.date(2026, 11, 3)},
    }

    # Optimized: the team's data version, then two queries whatever the team size (PR aggregates, rating
    # averages) on a miss; the version alone when cached. Legacy (the "before"): five queries per period,
    # every call, never cached.
    call_kwargs = {"start_date": START, "end_date": END}
    queries = {"legacy": {5: 10, 50: 10}, "optimized": {5: 3, 50: 3}}
    rerun_queries = {"legacy": {5: 10, 50: 10}, "optimized": {5: 1, 50: 1}}

    def build(self, team, size):
        members_with_rated_prs(team, size)

    def check_measured_results(self, team, size, results):
        """A cache hit serves the same numbers; every member's PR counts."""
        first, second = results
        assert first == second
        assert first["current"]["prs_merged"] == size

    def check_demo_comparisons(self, comparisons):
        """Every range has merged PRs; optimized computes (2 queries, never the cache), legacy takes 10."""
        assert all(c.legacy.value["current"]["prs_merged"] > 0 for c in comparisons)
        assert all(c.optimized.measurement.queries == 2 for c in comparisons)
        assert all(c.legacy.measurement.queries == 10 for c in comparisons)

    # --- the pair's registration -----------------------------------------------------------------

    def test_the_pair_is_described_and_the_per_period_function_stays_legacy(self):
        """The pair carries a description; dashboard.get_key_metrics (one period, not a pair) is legacy's."""
        assert registry.get(PAIR).description != ""
        assert dashboard.get_key_metrics is legacy.get_key_metrics

    def test_examples_are_the_last_7_30_and_90_days_in_the_team_time_zone(self, monkeypatch):
        """rollout verify compares ranges ending today where the team is (Tokyo is already on the 21st)."""
        now = utc(2026, 11, 20, 18, 0)
        monkeypatch.setattr(
            "django.utils.timezone.localdate", lambda value=None, timezone=None: now.astimezone(timezone).date()
        )
        team = TeamFactory(timezone="Asia/Tokyo")

        assert registry.get(PAIR).examples(team) == [
            {"start_date": dt.date(2026, 11, 15), "end_date": dt.date(2026, 11, 21)},
            {"start_date": dt.date(2026, 10, 23), "end_date": dt.date(2026, 11, 21)},
            {"start_date": dt.date(2026, 8, 24), "end_date": dt.date(2026, 11, 21)},
        ]

    # --- the contract, both sides ----------------------------------------------------------------

    def test_empty_team(self, team, side):
        """No PRs: zero merged, no averages and 0.00 AI share in both periods."""
        result = side(team=team, start_date=START, end_date=END)

        assert result == {"current": EMPTY, "previous": EMPTY}
        assert rendered(result) == {"current": ["0", "None", "None", "0.00"], "previous": ["0", "None", "None", "0.00"]}

    def test_both_periods_on_hand_built_data(self, team, other_team, side):
        """Each period counts its merged PRs (null authors too), averages cycle times and ratings, and takes the AI share.

        Current: cycles 10.00, 20.50, none and 12.00 (mean 14.1666… → 14.17);
        ratings 3, 2, 2 (→ 2.33, the unrated answer ignored); surveys AI, not AI,
        AI and unanswered (2 of 4 → 50.00). Previous: cycles 10.00 and 10.01
        (10.005 → 10.01, half up); ratings 1 and 2 (→ 1.50); one survey, not AI.
        """
        ana = TeamMemberFactory(team=team, display_name="Ana")
        bruno = TeamMemberFactory(team=team, display_name="Bruno")
        rated(merged_pr(team, ana, cycle="10.00"), 3, 2, ai=True)
        rated(merged_pr(team, bruno, cycle="20.50"), 2, None, ai=False)
        rated(merged_pr(team, bruno, cycle=None), ai=True)
        orphan = merged_pr(team, None, cycle="12.00")
        PRSurveyFactory(pull_request=orphan, author=None, author_ai_assisted=None)
        rated(merged_pr(team, ana, merged_at=PREVIOUS, cycle="10.00"), 1, 2, ai=False)
        merged_pr(team, bruno, merged_at=PREVIOUS, cycle="10.01")
        # None of these count in either period.
        rated(PullRequestFactory(team=team, author=ana, state=PullRequest.State.OPEN, merged_at=None), 1, ai=True)
        rated(PullRequestFactory(team=team, author=ana, state=PullRequest.State.CLOSED, merged_at=None), 1, ai=True)
        rated(merged_pr(team, ana, merged_at=utc(2026, 11, 8, 12, 0), cycle="500.00"), 1, ai=True)
        rated(merged_pr(team, ana, merged_at=utc(2026, 11, 23, 12, 0), cycle="500.00"), 1, ai=True)
        stranger = TeamMemberFactory(team=other_team)
        rated(merged_pr(other_team, stranger, cycle="90.00"), 3, ai=True)
        rated(merged_pr(other_team, stranger, merged_at=PREVIOUS, cycle="90.00"), 3, ai=True)

        result = side(team=team, start_date=START, end_date=END)

        assert result == {
            "current": {
                "prs_merged": 4,
                "avg_cycle_time": Decimal("14.17"),
                "avg_quality_rating": Decimal("2.33"),
                "ai_assisted_pct": Decimal("50.00"),
            },
            "previous": {
                "prs_merged": 2,
                "avg_cycle_time": Decimal("10.01"),
                "avg_quality_rating": Decimal("1.50"),
                "ai_assisted_pct": Decimal("0.00"),
            },
        }
        assert rendered(result) == {"current": ["4", "14.17", "2.33", "50.00"], "previous": ["2", "10.01", "1.50", "0.00"]}

    def test_members_without_surveys(self, team, side):
        """PRs without any survey: no quality rating and 0.00 AI share, cycle times still averaged."""
        member = TeamMemberFactory(team=team)
        merged_pr(team, member, cycle="7.50")
        merged_pr(team, member, merged_at=PREVIOUS, cycle="3.25")

        result = side(team=team, start_date=START, end_date=END)

        assert result == {
            "current": {
                "prs_merged": 1,
                "avg_cycle_time": Decimal("7.50"),
                "avg_quality_rating": None,
                "ai_assisted_pct": Decimal("0.00"),
            },
            "previous": {
                "prs_merged": 1,
                "avg_cycle_time": Decimal("3.25"),
                "avg_quality_rating": None,
                "ai_assisted_pct": Decimal("0.00"),
            },
        }

    def test_only_the_previous_period_has_data(self, team, side):
        """A quiet current period next to a busy previous one: the current side is empty, not carried over."""
        member = TeamMemberFactory(team=team)
        rated(merged_pr(team, member, merged_at=PREVIOUS, cycle="5.00"), 3, ai=True)

        result = side(team=team, start_date=START, end_date=END)

        assert result == {
            "current": EMPTY,
            "previous": {
                "prs_merged": 1,
                "avg_cycle_time": Decimal("5.00"),
                "avg_quality_rating": Decimal("3.00"),
                "ai_assisted_pct": Decimal("100.00"),
            },
        }

    def test_inactive_members_still_count(self, team, side):
        """A PR by a member who has left the team counts like any other."""
        gone = TeamMemberFactory(team=team, is_active=False)
        rated(merged_pr(team, gone, cycle="6.00"), 2, ai=True)

        result = side(team=team, start_date=START, end_date=END)

        assert result["current"] == {
            "prs_merged": 1,
            "avg_cycle_time": Decimal("6.00"),
            "avg_quality_rating": Decimal("2.00"),
            "ai_assisted_pct": Decimal("100.00"),
        }

    def test_range_bounds_utc(self, team, side):
        """Both periods are whole inclusive days: each start 00:00 and end 23:59:59 in, the next instants out.

        The instant 2026-11-16 00:00 opens the current period and no longer
        belongs to the previous one.
        """
        member = TeamMemberFactory(team=team)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 8, 23, 59, 59), cycle="1.00"), 3, ai=True)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 9, 0, 0), cycle="2.00"), 1, ai=True)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 15, 23, 59, 59), cycle="4.00"), 2, ai=False)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 16, 0, 0), cycle="8.00"), 2, ai=False)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 22, 23, 59, 59), cycle="16.00"), 3, ai=False)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 23, 0, 0), cycle="32.00"), 1, ai=True)

        result = side(team=team, start_date=START, end_date=END)

        assert result == {
            "current": {
                "prs_merged": 2,
                "avg_cycle_time": Decimal("12.00"),
                "avg_quality_rating": Decimal("2.50"),
                "ai_assisted_pct": Decimal("0.00"),
            },
            "previous": {
                "prs_merged": 2,
                "avg_cycle_time": Decimal("3.00"),
                "avg_quality_rating": Decimal("1.50"),
                "ai_assisted_pct": Decimal("50.00"),
            },
        }

    def test_range_bounds_follow_team_timezone_across_a_dst_change(self, side):
        """New York team, current period 2026-11-01..11-07 (clocks go back on Nov 1), previous 2026-10-25..10-31.

        Local midnights in UTC: Oct 25 04:00 (EDT), Nov 1 04:00 (EDT), Nov 8 05:00 (EST).
        """
        team = TeamFactory(timezone="America/New_York")
        member = TeamMemberFactory(team=team)
        rated(merged_pr(team, member, merged_at=utc(2026, 10, 25, 3, 59, 59), cycle="1.00"), 3, ai=True)
        rated(merged_pr(team, member, merged_at=utc(2026, 10, 25, 4, 0), cycle="2.00"), 1, ai=True)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 1, 3, 59, 59), cycle="4.00"), 2, ai=False)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 1, 4, 0), cycle="8.00"), 2, ai=False)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 8, 4, 59, 59), cycle="16.00"), 3, ai=False)
        rated(merged_pr(team, member, merged_at=utc(2026, 11, 8, 5, 0), cycle="32.00"), 1, ai=True)

        result = side(team=team, start_date=dt.date(2026, 11, 1), end_date=dt.date(2026, 11, 7))

        assert result == {
            "current": {
                "prs_merged": 2,
                "avg_cycle_time": Decimal("12.00"),
                "avg_quality_rating": Decimal("2.50"),
                "ai_assisted_pct": Decimal("0.00"),
            },
            "previous": {
                "prs_merged": 2,
                "avg_cycle_time": Decimal("3.00"),
                "avg_quality_rating": Decimal("1.50"),
                "ai_assisted_pct": Decimal("50.00"),
            },
        }

    def test_a_single_day_range(self, team, side):
        """start_date == end_date: the previous period is the day before."""
        member = TeamMemberFactory(team=team)
        merged_pr(team, member, merged_at=utc(2026, 11, 18, 0, 0), cycle="1.00")
        merged_pr(team, member, merged_at=utc(2026, 11, 17, 23, 59, 59), cycle="3.00")
        merged_pr(team, member, merged_at=utc(2026, 11, 16, 23, 59, 59), cycle="9.00")

        day = dt.date(2026, 11, 18)
        result = side(team=team, start_date=day, end_date=day)

        assert [(period["prs_merged"], period["avg_cycle_time"]) for period in result.values()] == [
            (1, Decimal("1.00")),
            (1, Decimal("3.00")),
        ]

    def test_each_period_equals_the_per_period_reference(self, team, side):
        """Both periods are exactly what legacy get_key_metrics gives for each range on its own."""
        member = TeamMemberFactory(team=team)
        rated(merged_pr(team, member, cycle="10.00"), 3, 1, ai=True)
        rated(merged_pr(team, member, merged_at=PREVIOUS, cycle="2.02"), 2, ai=None)

        result = side(team=team, start_date=START, end_date=END)

        assert result == {
            "current": legacy.get_key_metrics(team=team, start_date=START, end_date=END),
            "previous": legacy.get_key_metrics(team=team, start_date=dt.date(2026, 11, 9), end_date=dt.date(2026, 11, 15)),
        }

    # --- demo data and the dashboard --------------------------------------------------------------

    def test_rollout_verify_runs_the_examples_on_demo_data(self, demo_teams):
        """`rollout verify --examples-only` compares the pair on its three example ranges for a demo team, all
        matching (tests/integration/test_verify_explores.py covers the generated sets)."""
        out = io.StringIO()

        call_command("rollout", "verify", PAIR, "--team", "demo-1", "--runs", "1", "--examples-only", stdout=out)

        assert "3 of 3 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in out.getvalue()

    def test_dashboard_key_cards_are_the_same_on_either_side(self, member_client, team, monkeypatch):
        """The page prints the same key metric cards whichever side serves."""
        monkeypatch.setattr(
            "django.utils.timezone.localdate",
            lambda value=None, timezone=None: dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC).astimezone(timezone).date(),
        )
        member = TeamMemberFactory(team=team)
        rated(merged_pr(team, member, cycle="10.00"), 3, ai=True)
        rated(merged_pr(team, member, merged_at=utc(2026, 10, 10, 12, 0), cycle="14.50"), 1, ai=False)

        with force_side(PAIR, "legacy"):
            legacy_page = member_client.get("/app/acme/")
        with force_side(PAIR, "optimized"):
            optimized_page = member_client.get("/app/acme/")

        assert legacy_page.context["key_cards"] == optimized_page.context["key_cards"]
        assert [(card["value"], card["delta"]) for card in optimized_page.context["key_cards"]] == [
            ("1", "0"),
            ("10.00 h", "\u22124.50 h"),
            ("3.00 / 3", "+2.00"),
            ("100.00%", "+100.00 pts"),
        ]
