"""Contract of the metrics.team_breakdown pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must give exactly the rows written here. The range used
throughout is Monday 2026-11-16 to Sunday 2026-11-22, both inclusive, in the
team's time zone. Registration, examples, demo-data agreement and query counts
come from the shared contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from shadow import pairs as registry
from tests.factories import PRReviewFactory, PRSurveyFactory, PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.support.contracts import PairContract

PAIR = "metrics.team_breakdown"
UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
IN_RANGE = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def merged_pr(team, author, *, merged_at=IN_RANGE, cycle: str | None = "24.00", **kwargs) -> PullRequest:
    return PullRequestFactory(
        team=team,
        author=author,
        merged_at=merged_at,
        cycle_time_hours=None if cycle is None else Decimal(cycle),
        **kwargs,
    )


def authors_with_prs(team, authors: int) -> None:
    """`authors` members, each with two merged PRs in range, one of them surveyed."""
    for _ in range(authors):
        author = TeamMemberFactory(team=team)
        PRSurveyFactory(pull_request=merged_pr(team, author))
        merged_pr(team, author)


class TestTeamBreakdownContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_team_breakdown
    sides = (legacy.get_team_breakdown, optimized.get_team_breakdown)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'list[dict]'"

    # On seeded demo data (UTC and Berlin teams, null authors, inactive members, bots) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20)},
        "last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20)},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31)},
    }

    # Optimized: one grouped query, whatever the number of authors. Legacy (the "before"): 1 query for the
    # authors, then 5 per author.
    call_kwargs = {"start_date": START, "end_date": END}
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {5: 26, 50: 251}, "optimized": {5: 2, 50: 2}}
    rerun_queries = {"legacy": {5: 26, 50: 251}, "optimized": {5: 1, 50: 1}}

    def build(self, team, size):
        authors_with_prs(team, size)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: One row per author."""
        assert [len(rows) for rows in results] == [size, size]

    def check_demo_comparisons(self, comparisons):
        """The optimized side uses one query where legacy uses 1 + 5 per author."""
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [1, 1]
        assert [
            comparison.legacy.measurement.queries == 1 + 5 * len(comparison.legacy.value) for comparison in comparisons
        ] == [True, True]

    # --- examples ----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day(self):
        """`rollout verify` compares the last 7, 30 and 90 days, all ending on the same (team-local) today."""
        examples = registry.get(PAIR).examples(TeamFactory(timezone="Asia/Tokyo"))

        assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
        assert len({example["end_date"] for example in examples}) == 1
        assert sorted(examples[0]) == ["end_date", "start_date"]

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_rows_on_hand_built_data(self, team, other_team, side):
        """One row per author with PR count, mean cycle time and survey AI %, ordered by name; nothing else counts."""
        # Created in reverse name order: rows still come out by display name.
        carla = TeamMemberFactory(team=team, display_name="Carla Dias", github_username="cdias", is_active=False)
        bruno = TeamMemberFactory(team=team, display_name="Bruno Lima", github_username="blima")
        ana = TeamMemberFactory(team=team, display_name="Ana Souza", github_username="asouza")
        PRSurveyFactory(pull_request=merged_pr(team, ana, cycle="10.00"), author_ai_assisted=True)
        PRSurveyFactory(pull_request=merged_pr(team, ana, cycle="20.50"), author_ai_assisted=False)
        # Unanswered survey: counts in the denominator; no cycle time: left out of the mean.
        PRSurveyFactory(pull_request=merged_pr(team, ana, cycle=None), author_ai_assisted=None)
        merged_pr(team, bruno, cycle="8.00")
        merged_pr(team, bruno, cycle="9.00")
        # An inactive member still gets a row for what they merged.
        PRSurveyFactory(pull_request=merged_pr(team, carla, cycle="10.00"), author_ai_assisted=True)
        PRSurveyFactory(pull_request=merged_pr(team, carla, cycle="10.01"), author_ai_assisted=True)
        PRSurveyFactory(pull_request=merged_pr(team, carla, cycle="10.01"), author_ai_assisted=False)
        # None of these count: merged outside the range, not merged, no author, another team.
        PRSurveyFactory(
            pull_request=merged_pr(team, ana, merged_at=dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC), cycle="99.00"),
            author_ai_assisted=True,
        )
        PRSurveyFactory(
            pull_request=PullRequestFactory(team=team, author=bruno, state=PullRequest.State.OPEN, merged_at=None),
            author_ai_assisted=True,
        )
        PullRequestFactory(team=team, author=bruno, state=PullRequest.State.CLOSED, merged_at=None)
        PRSurveyFactory(pull_request=merged_pr(team, None, cycle="1.00"), author=None, author_ai_assisted=True)
        twin = TeamMemberFactory(team=other_team, display_name="Ana Souza", github_username="asouza")
        PRSurveyFactory(pull_request=merged_pr(other_team, twin, cycle="1.00"), author_ai_assisted=True)

        rows = side(team=team, start_date=START, end_date=END)

        assert rows == [
            {
                "member_id": ana.pk,
                "member_name": "Ana Souza",
                "avatar_url": "https://github.com/asouza.png?size=64",
                "initials": "AS",
                "prs_merged": 3,
                "avg_cycle_time": Decimal("15.25"),
                "ai_pct": Decimal("33.33"),
            },
            {
                "member_id": bruno.pk,
                "member_name": "Bruno Lima",
                "avatar_url": "https://github.com/blima.png?size=64",
                "initials": "BL",
                "prs_merged": 2,
                "avg_cycle_time": Decimal("8.50"),
                "ai_pct": Decimal("0.00"),
            },
            {
                "member_id": carla.pk,
                "member_name": "Carla Dias",
                "avatar_url": "https://github.com/cdias.png?size=64",
                "initials": "CD",
                "prs_merged": 3,
                "avg_cycle_time": Decimal("10.01"),
                "ai_pct": Decimal("66.67"),
            },
        ]

    @pytest.mark.django_db
    def test_bots_are_left_out(self, team, side):
        """Declared change, both sides: a bot (by its [bot] login, or flagged by hand) gets no row; a human with
        the same PRs, surveys and reviews does."""
        human = TeamMemberFactory(team=team, display_name="Ana Souza", github_username="asouza")
        dependabot = TeamMemberFactory(team=team, display_name="dependabot", github_username="dependabot[bot]")
        ci = TeamMemberFactory(team=team, display_name="CI user", github_username="ci-user", is_bot=True)
        assert (dependabot.is_bot, ci.is_bot, human.is_bot) == (True, True, False)
        for author in (human, dependabot, ci):
            pr = merged_pr(team, author, cycle="10.00")
            PRSurveyFactory(pull_request=pr, author=author, author_ai_assisted=True)
            PRReviewFactory(pull_request=pr, reviewer=author, submitted_at=IN_RANGE)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["prs_merged"], row["ai_pct"]) for row in rows] == [
            (human.pk, 1, Decimal("100.00"))
        ]

    @pytest.mark.django_db
    def test_value_types_and_two_decimal_places(self, team, side):
        """prs_merged is an int, the averages and percentages Decimals with exactly two places."""
        member = TeamMemberFactory(team=team)
        PRSurveyFactory(pull_request=merged_pr(team, member, cycle="7.00"), author_ai_assisted=True)

        rows = side(team=team, start_date=START, end_date=END)

        assert [
            (type(row["member_id"]), type(row["prs_merged"]), type(row["avg_cycle_time"]), type(row["ai_pct"]))
            for row in rows
        ] == [(int, int, Decimal, Decimal)]
        assert [(str(row["avg_cycle_time"]), str(row["ai_pct"])) for row in rows] == [("7.00", "100.00")]

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """No merged PR in range: no rows."""
        assert side(team=team, start_date=START, end_date=END) == []

    @pytest.mark.django_db
    def test_single_member_without_surveys(self, team, side):
        """A single author without surveys gets ai_pct 0.00; a member with no merged PR gets no row."""
        member = TeamMemberFactory(team=team, display_name="Solo", github_username="")
        TeamMemberFactory(team=team, display_name="Idle")
        merged_pr(team, member, cycle="5.00")

        rows = side(team=team, start_date=START, end_date=END)

        assert rows == [
            {
                "member_id": member.pk,
                "member_name": "Solo",
                "avatar_url": "",
                "initials": "SO",
                "prs_merged": 1,
                "avg_cycle_time": Decimal("5.00"),
                "ai_pct": Decimal("0.00"),
            }
        ]

    @pytest.mark.django_db
    def test_member_without_cycle_times_has_no_average(self, team, side):
        """An author whose merged PRs all lack a cycle time: avg_cycle_time is None, the PRs still count."""
        member = TeamMemberFactory(team=team)
        merged_pr(team, member, cycle=None)
        merged_pr(team, member, cycle=None)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["prs_merged"], row["avg_cycle_time"]) for row in rows] == [(2, None)]

    @pytest.mark.django_db
    def test_only_prs_without_author(self, team, side):
        """PRs with no author (and their surveys) never make a row, even when they are all there is."""
        PRSurveyFactory(pull_request=merged_pr(team, None), author=None, author_ai_assisted=True)
        merged_pr(team, None)

        assert side(team=team, start_date=START, end_date=END) == []

    @pytest.mark.django_db
    def test_surveys_do_not_inflate_counts_or_averages(self, team, side):
        """Surveys on some of an author's PRs change only ai_pct, never prs_merged or the mean cycle time."""
        member = TeamMemberFactory(team=team)
        PRSurveyFactory(pull_request=merged_pr(team, member, cycle="2.00"), author_ai_assisted=True)
        PRSurveyFactory(pull_request=merged_pr(team, member, cycle="4.00"), author_ai_assisted=True)
        merged_pr(team, member, cycle="12.00")
        merged_pr(team, member, cycle="30.00")

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["prs_merged"], row["avg_cycle_time"], row["ai_pct"]) for row in rows] == [
            (4, Decimal("12.00"), Decimal("100.00"))
        ]

    @pytest.mark.django_db
    def test_rounds_half_up(self, team, side):
        """10.00 and 10.01 average to 10.005, shown as 10.01 (half up); 1 of 8 AI surveys is 12.50 %."""
        member = TeamMemberFactory(team=team)
        merged_pr(team, member, cycle="10.00")
        merged_pr(team, member, cycle="10.01")
        other = TeamMemberFactory(team=team)
        PRSurveyFactory(pull_request=merged_pr(team, other), author_ai_assisted=True)
        for _ in range(7):
            PRSurveyFactory(pull_request=merged_pr(team, other), author_ai_assisted=False)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["avg_cycle_time"], row["ai_pct"]) for row in rows] == [
            (member.pk, Decimal("10.01"), Decimal("0.00")),
            (other.pk, Decimal("24.00"), Decimal("12.50")),
        ]

    @pytest.mark.django_db
    def test_same_names_are_ordered_by_member_id(self, team, side):
        """Members sharing a display name are ordered by id."""
        first = TeamMemberFactory(team=team, display_name="Sam")
        second = TeamMemberFactory(team=team, display_name="Sam")
        merged_pr(team, second)
        merged_pr(team, first)

        rows = side(team=team, start_date=START, end_date=END)

        assert [row["member_id"] for row in rows] == [first.pk, second.pk]

    @pytest.mark.django_db
    def test_unicode_names_order_and_initials(self, team, side):
        """Names come through unchanged, in codepoint order (upper case before lower case, then accented letters).

        An empty display name sorts first and takes its initials from the login.
        """
        zhang = TeamMemberFactory(team=team, display_name="张伟")
        lukasz = TeamMemberFactory(team=team, display_name="Łukasz Żółć")
        emilie = TeamMemberFactory(team=team, display_name="Émilie Dubois")
        lower = TeamMemberFactory(team=team, display_name="ana")
        upper = TeamMemberFactory(team=team, display_name="Zoe")
        nameless = TeamMemberFactory(team=team, display_name="", github_username="octocat")
        for member in (zhang, lukasz, emilie, lower, upper, nameless):
            merged_pr(team, member)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["member_name"], row["initials"]) for row in rows] == [
            (nameless.pk, "", "OC"),
            (upper.pk, "Zoe", "ZO"),
            (lower.pk, "ana", "AN"),
            (emilie.pk, "Émilie Dubois", "ÉD"),
            (lukasz.pk, "Łukasz Żółć", "ŁŻ"),
            (zhang.pk, "张伟", "张伟"),
        ]

    @pytest.mark.django_db
    def test_range_bounds_utc(self, team, side):
        """Both dates are inclusive whole days: start 00:00 and end 23:59:59 are in, the next instants out."""
        member = TeamMemberFactory(team=team)
        merged_pr(team, member, merged_at=dt.datetime(2026, 11, 15, 23, 59, 59, tzinfo=UTC), cycle="1.00")
        merged_pr(team, member, merged_at=dt.datetime(2026, 11, 16, 0, 0, tzinfo=UTC), cycle="2.00")
        merged_pr(team, member, merged_at=dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC), cycle="4.00")
        merged_pr(team, member, merged_at=dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC), cycle="8.00")

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["prs_merged"], row["avg_cycle_time"]) for row in rows] == [(2, Decimal("3.00"))]

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("timezone", "start", "end", "first_in", "after_end"),
        [
            # UTC-5 in November: local midnight is 05:00 UTC.
            (
                "America/New_York",
                dt.date(2026, 11, 16),
                dt.date(2026, 11, 22),
                dt.datetime(2026, 11, 16, 5, 0, tzinfo=UTC),
                dt.datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
            ),
            # UTC+9: local midnight is 15:00 UTC the day before.
            (
                "Asia/Tokyo",
                dt.date(2026, 11, 16),
                dt.date(2026, 11, 22),
                dt.datetime(2026, 11, 15, 15, 0, tzinfo=UTC),
                dt.datetime(2026, 11, 22, 15, 0, tzinfo=UTC),
            ),
            # The range spans the end of summer time (2026-10-25): it starts at UTC+2 and ends at UTC+1.
            (
                "Europe/Berlin",
                dt.date(2026, 10, 19),
                dt.date(2026, 10, 25),
                dt.datetime(2026, 10, 18, 22, 0, tzinfo=UTC),
                dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
            ),
        ],
    )
    def test_range_bounds_follow_team_timezone(self, side, timezone, start, end, first_in, after_end):
        """PRs merged at local start 00:00 and local end 23:59:59 count, those one second outside do not."""
        team = TeamFactory(timezone=timezone)
        member = TeamMemberFactory(team=team)
        second = dt.timedelta(seconds=1)
        merged_pr(team, member, merged_at=first_in - second, cycle="1.00")
        merged_pr(team, member, merged_at=first_in, cycle="2.00")
        merged_pr(team, member, merged_at=after_end - second, cycle="4.00")
        merged_pr(team, member, merged_at=after_end, cycle="8.00")

        rows = side(team=team, start_date=start, end_date=end)

        assert [(row["prs_merged"], row["avg_cycle_time"]) for row in rows] == [(2, Decimal("3.00"))]

    @pytest.mark.django_db
    def test_duplicate_logins_across_teams_stay_apart(self, team, other_team, side):
        """The same person (same login, GitHub id and name) in two teams: each team sees only its own PRs."""
        mine = TeamMemberFactory(team=team, display_name="Dana", github_username="dana", github_id="42")
        theirs = TeamMemberFactory(team=other_team, display_name="Dana", github_username="dana", github_id="42")
        merged_pr(team, mine, cycle="10.00")
        PRSurveyFactory(pull_request=merged_pr(other_team, theirs, cycle="50.00"), author_ai_assisted=True)
        merged_pr(other_team, theirs, cycle="70.00")

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["prs_merged"], row["avg_cycle_time"], row["ai_pct"]) for row in rows] == [
            (mine.pk, 1, Decimal("10.00"), Decimal("0.00"))
        ]

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_rows_to_compare(self, demo_teams):
        """Guard for the demo comparisons: over the whole history every demo team has several authors."""
        rows = [
            optimized.get_team_breakdown(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20))
            for team in demo_teams
        ]

        assert [len(team_rows) > 5 for team_rows in rows] == [True, True]
