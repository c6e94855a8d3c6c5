"""Legacy dashboard services: PR size distribution and recent PRs.

The range used throughout is Monday 2026-11-16 to Sunday 2026-11-22, both
inclusive, in the team's time zone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services.dashboard import legacy
from tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory

UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    """A UTC instant in November 2026."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def sized_pr(team, lines: int, *, merged_at=None, **kwargs) -> PullRequest:
    """A merged PR changing `lines` lines (additions and deletions split unevenly)."""
    return PullRequestFactory(
        team=team, merged_at=merged_at or at(18), additions=lines - lines // 3, deletions=lines // 3, **kwargs
    )


# --- get_pr_size_distribution ----------------------------------------------------


@pytest.mark.django_db
def test_pr_size_distribution_on_bucket_edges(team):
    """Size is additions + deletions; each bucket's upper bound is inclusive."""
    for lines in (0, 10, 11, 50, 51, 200, 201, 500, 501, 5000):
        sized_pr(team, lines)
    # Not merged in range: not counted.
    sized_pr(team, 5, state=PullRequest.State.OPEN, merged_at=None)
    sized_pr(team, 5, merged_at=at(23))

    distribution = legacy.get_pr_size_distribution(team=team, start_date=START, end_date=END)

    assert distribution == [
        {"size": "XS", "count": 2},
        {"size": "S", "count": 2},
        {"size": "M", "count": 2},
        {"size": "L", "count": 2},
        {"size": "XL", "count": 2},
    ]


@pytest.mark.django_db
def test_pr_size_distribution_empty_team(team):
    """All five buckets are always listed, in order, with 0 when empty."""
    distribution = legacy.get_pr_size_distribution(team=team, start_date=START, end_date=END)

    assert distribution == [
        {"size": "XS", "count": 0},
        {"size": "S", "count": 0},
        {"size": "M", "count": 0},
        {"size": "L", "count": 0},
        {"size": "XL", "count": 0},
    ]


@pytest.mark.django_db
def test_pr_size_distribution_counts_prs_without_author(team):
    """A PR with an unknown author is still sized and counted."""
    sized_pr(team, 30, author=None)

    distribution = legacy.get_pr_size_distribution(team=team, start_date=START, end_date=END)

    assert distribution[1] == {"size": "S", "count": 1}


@pytest.mark.django_db
def test_pr_size_distribution_range_bounds_follow_team_timezone():
    """New York team: only PRs merged between local start 00:00 and local end 23:59:59 count."""
    team = TeamFactory(timezone="America/New_York")
    sized_pr(team, 1, merged_at=at(16, 4, 59, 59))
    sized_pr(team, 20, merged_at=at(16, 5))
    sized_pr(team, 100, merged_at=at(23, 4, 59, 59))
    sized_pr(team, 300, merged_at=at(23, 5))

    distribution = legacy.get_pr_size_distribution(team=team, start_date=START, end_date=END)

    assert distribution == [
        {"size": "XS", "count": 0},
        {"size": "S", "count": 1},
        {"size": "M", "count": 1},
        {"size": "L", "count": 0},
        {"size": "XL", "count": 0},
    ]


@pytest.mark.django_db
def test_pr_size_distribution_ignores_other_teams(team, other_team):
    """Another team's PRs never count."""
    sized_pr(team, 5)
    sized_pr(other_team, 5)
    sized_pr(other_team, 1000)

    distribution = legacy.get_pr_size_distribution(team=team, start_date=START, end_date=END)

    assert [row["count"] for row in distribution] == [1, 0, 0, 0, 0]


@pytest.mark.django_db
@pytest.mark.parametrize("prs", [2, 6])
def test_pr_size_distribution_query_count_is_constant(team, django_assert_num_queries, prs):
    """One query loading the PRs, whatever their number."""
    for _ in range(prs):
        sized_pr(team, 40)

    with django_assert_num_queries(1):
        legacy.get_pr_size_distribution(team=team, start_date=START, end_date=END)


# --- get_recent_prs --------------------------------------------------------------


@pytest.mark.django_db
def test_recent_prs_row_contents(team):
    """A row carries the PR's identity, URL, author name, merge time, cycle time and AI flag."""
    author = TeamMemberFactory(team=team, display_name="Ana Souza")
    pr = PullRequestFactory(
        team=team,
        author=author,
        github_repo="acme/web",
        github_pr_id=42,
        title="Faster dashboard",
        merged_at=at(18, 9, 30),
        cycle_time_hours=Decimal("12.75"),
        is_ai_assisted=True,
    )

    rows = legacy.get_recent_prs(team=team, start_date=START, end_date=END)

    assert rows == [
        {
            "id": pr.pk,
            "title": "Faster dashboard",
            "github_repo": "acme/web",
            "github_pr_id": 42,
            "url": "https://github.com/acme/web/pull/42",
            "author_name": "Ana Souza",
            "merged_at": dt.datetime(2026, 11, 18, 9, 30, tzinfo=UTC),
            "cycle_time_hours": Decimal("12.75"),
            "is_ai_assisted": True,
        }
    ]


@pytest.mark.django_db
def test_recent_prs_order_and_limit(team):
    """Newest merge first, equal merge times by higher id first; only `limit` rows and only merged PRs in range."""
    member = TeamMemberFactory(team=team)
    oldest = PullRequestFactory(team=team, author=member, merged_at=at(16, 0, 0))
    tie_low = PullRequestFactory(team=team, author=member, merged_at=at(19))
    tie_high = PullRequestFactory(team=team, author=member, merged_at=at(19))
    newest = PullRequestFactory(team=team, author=member, merged_at=at(22, 23, 59, 59))
    PullRequestFactory(team=team, author=member, merged_at=at(23, 0, 0))
    PullRequestFactory(team=team, author=member, merged_at=at(15, 23, 59, 59))
    PullRequestFactory(team=team, author=member, state=PullRequest.State.OPEN, merged_at=None)

    all_rows = legacy.get_recent_prs(team=team, start_date=START, end_date=END)
    limited = legacy.get_recent_prs(team=team, start_date=START, end_date=END, limit=2)

    assert [row["id"] for row in all_rows] == [newest.pk, tie_high.pk, tie_low.pk, oldest.pk]
    assert [row["id"] for row in limited] == [newest.pk, tie_high.pk]


@pytest.mark.django_db
def test_recent_prs_default_limit_is_ten(team):
    """Without a limit, ten rows at most."""
    member = TeamMemberFactory(team=team)
    for day in range(16, 23):
        PullRequestFactory(team=team, author=member, merged_at=at(day, 10))
        PullRequestFactory(team=team, author=member, merged_at=at(day, 14))

    rows = legacy.get_recent_prs(team=team, start_date=START, end_date=END)

    assert len(rows) == 10
    assert rows[0]["merged_at"] == at(22, 14)
    assert rows[-1]["merged_at"] == at(18, 10)


@pytest.mark.django_db
def test_recent_prs_without_author_and_unicode_names(team):
    """An unknown author shows as an empty name; non-ASCII names come through unchanged."""
    PullRequestFactory(team=team, author=None, merged_at=at(17), cycle_time_hours=None)
    PullRequestFactory(team=team, author=TeamMemberFactory(team=team, display_name="Łukasz Żółć"), merged_at=at(18))

    rows = legacy.get_recent_prs(team=team, start_date=START, end_date=END)

    assert [(row["author_name"], row["cycle_time_hours"]) for row in rows] == [
        ("Łukasz Żółć", Decimal("24.00")),
        ("", None),
    ]


@pytest.mark.django_db
def test_recent_prs_empty_team(team):
    """No merged PR in range: no rows."""
    assert legacy.get_recent_prs(team=team, start_date=START, end_date=END) == []


@pytest.mark.django_db
def test_recent_prs_range_bounds_follow_team_timezone():
    """New York team: PRs merged at local start 00:00 and local end 23:59:59 are listed, those just outside not."""
    team = TeamFactory(timezone="America/New_York")
    member = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=member, merged_at=at(16, 4, 59, 59))
    first = PullRequestFactory(team=team, author=member, merged_at=at(16, 5))
    last = PullRequestFactory(team=team, author=member, merged_at=at(23, 4, 59, 59))
    PullRequestFactory(team=team, author=member, merged_at=at(23, 5))

    rows = legacy.get_recent_prs(team=team, start_date=START, end_date=END)

    assert [row["id"] for row in rows] == [last.pk, first.pk]


@pytest.mark.django_db
def test_recent_prs_ignore_other_teams(team, other_team):
    """Another team's PRs never appear."""
    own = PullRequestFactory(team=team, merged_at=at(17))
    PullRequestFactory(team=other_team, merged_at=at(18))

    rows = legacy.get_recent_prs(team=team, start_date=START, end_date=END)

    assert [row["id"] for row in rows] == [own.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "queries"), [(2, 3), (6, 7)])
def test_recent_prs_query_count_grows_per_row(team, django_assert_num_queries, members, queries):
    """The "before" later optimization improves on: one query for the PRs, then one per row to load its author.

    A PR without an author costs no extra query.
    """
    for _ in range(members):
        PullRequestFactory(team=team, author=TeamMemberFactory(team=team), merged_at=at(18))
    PullRequestFactory(team=team, author=None, merged_at=at(17))

    with django_assert_num_queries(queries):
        legacy.get_recent_prs(team=team, start_date=START, end_date=END)
