"""Contract of the metrics.recent_prs pair, run against both sides.

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
from tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.support.contracts import PairContract

PAIR = "metrics.recent_prs"
UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    """A UTC instant in November 2026."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def ids(rows) -> list[int]:
    return [row["id"] for row in rows]


def prs_with_authors(team, prs: int) -> None:
    """`prs` merged PRs in range, each by an author of its own, one a minute."""
    for minute in range(prs):
        PullRequestFactory(team=team, author=TeamMemberFactory(team=team), merged_at=at(18, 12) + dt.timedelta(minutes=minute))


class TestRecentPRsContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_recent_prs
    sides = (legacy.get_recent_prs, optimized.get_recent_prs)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date', limit: 'int' = 10) -> 'list[dict]'"

    # On seeded demo data (PRs without author, PRs tied on merge time, formula-like titles) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20), "limit": 10},
        "whole-history-all-rows": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20), "limit": 1000},
        "last-week-top-three": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20), "limit": 3},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20), "limit": 10},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31), "limit": 10},
        "no-rows": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20), "limit": 0},
        # Both sides refuse it alike (Django's "Negative indexing is not supported."): a match.
        "negative-limit": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20), "limit": -1},
    }

    # Optimized: one query with the author joined and LIMIT. Legacy (the "before"): one query for the PRs,
    # then one per row with an author. A limit above both sizes, so every PR is a row.
    call_kwargs = {"start_date": START, "end_date": END, "limit": 50}
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {5: 6, 40: 41}, "optimized": {5: 2, 40: 2}}
    rerun_queries = {"legacy": {5: 6, 40: 41}, "optimized": {5: 1, 40: 1}}

    def build(self, team, size):
        prs_with_authors(team, size)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: Every PR, each with its author's name."""
        assert [[row["author_name"] != "" for row in rows] for rows in results] == [[True] * size] * 2

    def check_demo_comparisons(self, comparisons):
        """The optimized side uses at most one query (none for limit 0 or a negative one, like legacy)."""
        assert [comparison.optimized.measurement.queries <= 1 for comparison in comparisons] == [True, True]

    # --- examples ----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day(self):
        """`rollout verify` compares the last 7, 30 and 90 days at the default limit, all ending on one day."""
        examples = registry.get(PAIR).examples(TeamFactory(timezone="Europe/Berlin"))

        assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
        assert len({example["end_date"] for example in examples}) == 1
        assert sorted(examples[0]) == ["end_date", "start_date"]

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_row_contents(self, team, side):
        """A row carries the PR's identity, URL, author name, merge time, cycle time and AI flag."""
        author = TeamMemberFactory(team=team, display_name="Ana Souza")
        pr = PullRequestFactory(
            team=team,
            author=author,
            github_repo="acme/web",
            github_pr_id=42,
            title="=1+1 Faster dashboard",
            merged_at=at(18, 9, 30),
            cycle_time_hours=Decimal("12.75"),
            is_ai_assisted=True,
        )

        rows = side(team=team, start_date=START, end_date=END)

        assert rows == [
            {
                "id": pr.pk,
                "title": "=1+1 Faster dashboard",
                "github_repo": "acme/web",
                "github_pr_id": 42,
                "url": "https://github.com/acme/web/pull/42",
                "author_name": "Ana Souza",
                "merged_at": dt.datetime(2026, 11, 18, 9, 30, tzinfo=UTC),
                "cycle_time_hours": Decimal("12.75"),
                "is_ai_assisted": True,
            }
        ]
        assert (type(rows[0]["id"]), type(rows[0]["github_pr_id"]), rows[0]["merged_at"].utcoffset()) == (
            int,
            int,
            dt.timedelta(0),
        )

    @pytest.mark.django_db
    def test_order_newest_first_ties_by_higher_id(self, team, side):
        """Newest merge first, equal merge times by higher id first; only merged PRs in range of this team."""
        member = TeamMemberFactory(team=team)
        oldest = PullRequestFactory(team=team, author=member, merged_at=at(16, 0, 0))
        tie_low = PullRequestFactory(team=team, author=member, merged_at=at(19))
        tie_mid = PullRequestFactory(team=team, author=None, merged_at=at(19))
        tie_high = PullRequestFactory(team=team, author=member, merged_at=at(19))
        newest = PullRequestFactory(team=team, author=member, merged_at=at(22, 23, 59, 59))
        # None of these are listed: after or before the range, not merged, another team's.
        PullRequestFactory(team=team, author=member, merged_at=at(23, 0, 0))
        PullRequestFactory(team=team, author=member, merged_at=at(15, 23, 59, 59))
        PullRequestFactory(team=team, author=member, state=PullRequest.State.OPEN, merged_at=None)
        PullRequestFactory(team=team, author=member, state=PullRequest.State.CLOSED, merged_at=None)
        PullRequestFactory(team=TeamFactory(), merged_at=at(20))

        rows = side(team=team, start_date=START, end_date=END)

        assert ids(rows) == [newest.pk, tie_high.pk, tie_mid.pk, tie_low.pk, oldest.pk]

    @pytest.mark.django_db
    def test_default_limit_is_ten(self, team, side):
        """Without a limit, the ten newest rows."""
        member = TeamMemberFactory(team=team)
        for day in range(16, 23):
            PullRequestFactory(team=team, author=member, merged_at=at(day, 10))
            PullRequestFactory(team=team, author=member, merged_at=at(day, 14))

        rows = side(team=team, start_date=START, end_date=END)

        assert [row["merged_at"] for row in rows] == [at(day, hour) for day in range(22, 17, -1) for hour in (14, 10)]

    @pytest.mark.django_db
    @pytest.mark.parametrize(("limit", "expected"), [(0, []), (1, [3]), (2, [3, 2]), (3, [3, 2, 1]), (50, [3, 2, 1])])
    def test_limit_edge_values(self, team, side, limit, expected):
        """limit 0 gives no rows, 1 the newest, a limit above the row count every row."""
        prs = [PullRequestFactory(team=team, merged_at=at(16 + n)) for n in range(3)]
        number = {pr.pk: position + 1 for position, pr in enumerate(prs)}

        rows = side(team=team, start_date=START, end_date=END, limit=limit)

        assert [number[row["id"]] for row in rows] == expected

    @pytest.mark.django_db
    @pytest.mark.parametrize("limit", [-1, -3])
    def test_a_negative_limit_is_refused_alike(self, team, side, limit):
        """Legacy slices a queryset, which refuses negative indexes: both sides raise the same ValueError."""
        PullRequestFactory(team=team, merged_at=at(17))

        with pytest.raises(ValueError, match="^Negative indexing is not supported.$"):
            side(team=team, start_date=START, end_date=END, limit=limit)

    @pytest.mark.django_db
    def test_null_authors_and_unicode_names(self, team, side):
        """An unknown author shows as an empty name; non-ASCII names come through unchanged; no cycle time is None."""
        PullRequestFactory(team=team, author=None, merged_at=at(17), cycle_time_hours=None)
        PullRequestFactory(team=team, author=TeamMemberFactory(team=team, display_name="Łukasz Żółć"), merged_at=at(18))
        PullRequestFactory(team=team, author=TeamMemberFactory(team=team, display_name=""), merged_at=at(19))

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["author_name"], row["cycle_time_hours"]) for row in rows] == [
            ("", Decimal("24.00")),
            ("Łukasz Żółć", Decimal("24.00")),
            ("", None),
        ]

    @pytest.mark.django_db
    def test_prs_by_bots_are_listed(self, team, side):
        """A PR is not a person: a bot's merged PR is listed under the bot's name, as it counts in the team's
        figures (only the cards that list or count members leave bots out)."""
        bot = TeamMemberFactory(team=team, display_name="dependabot[bot]", github_username="dependabot[bot]")
        PullRequestFactory(team=team, author=bot, merged_at=at(17))
        PullRequestFactory(team=team, author=TeamMemberFactory(team=team, display_name="Ana"), merged_at=at(18))

        assert [row["author_name"] for row in side(team=team, start_date=START, end_date=END)] == [
            "Ana",
            "dependabot[bot]",
        ]

    @pytest.mark.django_db
    def test_an_author_of_another_team_still_lends_their_name(self, team, other_team, side):
        """Inconsistent data (this team's PR by another team's member): both sides show that member's name."""
        PullRequestFactory(team=team, author=TeamMemberFactory(team=other_team, display_name="Visitor"), merged_at=at(17))

        assert [row["author_name"] for row in side(team=team, start_date=START, end_date=END)] == ["Visitor"]

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """No merged PR in range: no rows."""
        PullRequestFactory(team=team, state=PullRequest.State.OPEN, merged_at=None)

        assert side(team=team, start_date=START, end_date=END) == []

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("start", "end", "first_in", "after_end"),
        [
            # Berlin in November is UTC+1: local midnight is 23:00 UTC the day before.
            (
                dt.date(2026, 11, 16),
                dt.date(2026, 11, 22),
                dt.datetime(2026, 11, 15, 23, 0, tzinfo=UTC),
                dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
            ),
            # The range spans the end of summer time (2026-10-25): it starts at UTC+2 and ends at UTC+1.
            (
                dt.date(2026, 10, 19),
                dt.date(2026, 10, 25),
                dt.datetime(2026, 10, 18, 22, 0, tzinfo=UTC),
                dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
            ),
        ],
    )
    def test_range_bounds_at_team_local_midnight(self, side, start, end, first_in, after_end):
        """Europe/Berlin: PRs merged at local start 00:00 and at the last instant of the end day are listed, the next not."""
        team = TeamFactory(timezone="Europe/Berlin")
        tick = dt.timedelta(microseconds=1)
        PullRequestFactory(team=team, merged_at=first_in - tick)
        first = PullRequestFactory(team=team, merged_at=first_in)
        last = PullRequestFactory(team=team, merged_at=after_end - tick)
        PullRequestFactory(team=team, merged_at=after_end)

        assert ids(side(team=team, start_date=start, end_date=end)) == [last.pk, first.pk]

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_rows_to_compare(self, demo_teams):
        """Guard for the demo comparisons: every demo team has ten recent PRs, some without an author."""
        rows = [
            optimized.get_recent_prs(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20), limit=1000)
            for team in demo_teams
        ]

        assert [len(team_rows) > 10 for team_rows in rows] == [True, True]
        assert [any(row["author_name"] == "" for row in team_rows) for team_rows in rows] == [True, True]
