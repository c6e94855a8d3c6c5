"""Legacy dashboard services: reviewer workload.

The range used throughout is Monday 2026-11-16 to Sunday 2026-11-22, both
inclusive, in the team's time zone.
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.metrics.models import PRReview, PullRequest
from apps.metrics.services.dashboard import legacy
from tests.factories import PRReviewFactory, PullRequestFactory, TeamFactory, TeamMemberFactory

UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    """A UTC instant in November 2026."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def reviews(pr: PullRequest, reviewer, count: int, *, submitted_at=None, **kwargs) -> None:
    for _ in range(count):
        PRReviewFactory(pull_request=pr, reviewer=reviewer, submitted_at=submitted_at or at(18), **kwargs)


@pytest.mark.django_db
def test_reviewer_workload_on_hand_built_data(team):
    """Mean here is 12 ÷ 4 = 3: above 4.5 is high, below 1.5 is low; sorted by reviews desc."""
    pr = PullRequestFactory(team=team)
    ana = TeamMemberFactory(team=team, display_name="Ana")
    bruno = TeamMemberFactory(team=team, display_name="Bruno")
    carla = TeamMemberFactory(team=team, display_name="Carla")
    dora = TeamMemberFactory(team=team, display_name="Dora")
    reviews(pr, ana, 6, state=PRReview.State.CHANGES_REQUESTED)
    reviews(pr, bruno, 3, state=PRReview.State.COMMENTED)
    reviews(pr, carla, 1)
    reviews(pr, dora, 2)
    # Bots without a member and reviews outside the range are ignored.
    reviews(pr, None, 5, is_ai_review=True, ai_reviewer_type="copilot")
    reviews(pr, carla, 5, submitted_at=at(23))

    rows = legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)

    assert rows == [
        {"member_id": ana.pk, "member_name": "Ana", "reviews": 6, "workload": "high"},
        {"member_id": bruno.pk, "member_name": "Bruno", "reviews": 3, "workload": "normal"},
        {"member_id": dora.pk, "member_name": "Dora", "reviews": 2, "workload": "normal"},
        {"member_id": carla.pk, "member_name": "Carla", "reviews": 1, "workload": "low"},
    ]


@pytest.mark.django_db
def test_reviewer_workload_counts_reviews_on_open_prs(team):
    """Reviews on a PR that is not merged yet still count as work."""
    open_pr = PullRequestFactory(team=team, state=PullRequest.State.OPEN, merged_at=None)
    member = TeamMemberFactory(team=team)
    reviews(open_pr, member, 2)

    rows = legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["reviews"]) for row in rows] == [(member.pk, 2)]


@pytest.mark.django_db
def test_reviewer_workload_thresholds_are_strict(team):
    """Mean 2: exactly 3 (1.5 × mean) and exactly 1 (0.5 × mean) are both normal."""
    pr = PullRequestFactory(team=team)
    busy = TeamMemberFactory(team=team, display_name="Busy")
    quiet = TeamMemberFactory(team=team, display_name="Quiet")
    reviews(pr, busy, 3)
    reviews(pr, quiet, 1)

    rows = legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["reviews"], row["workload"]) for row in rows] == [
        (busy.pk, 3, "normal"),
        (quiet.pk, 1, "normal"),
    ]


@pytest.mark.django_db
def test_reviewer_workload_single_reviewer_is_normal(team):
    """A lone reviewer is the mean, so normal."""
    member = TeamMemberFactory(team=team)
    reviews(PullRequestFactory(team=team), member, 7)

    rows = legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)

    assert rows == [{"member_id": member.pk, "member_name": member.display_name, "reviews": 7, "workload": "normal"}]


@pytest.mark.django_db
def test_reviewer_workload_ties_sort_by_name_then_id(team):
    """Equal review counts sort by name (codepoint order), then member id."""
    pr = PullRequestFactory(team=team)
    zhang = TeamMemberFactory(team=team, display_name="张伟")
    sam_2 = TeamMemberFactory(team=team, display_name="Sam")
    sam_1 = TeamMemberFactory(team=team, display_name="Sam")
    emilie = TeamMemberFactory(team=team, display_name="Émilie")
    for member in (zhang, sam_1, sam_2, emilie):
        reviews(pr, member, 2)

    rows = legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["member_name"]) for row in rows] == [
        (sam_2.pk, "Sam"),
        (sam_1.pk, "Sam"),
        (emilie.pk, "Émilie"),
        (zhang.pk, "张伟"),
    ]


@pytest.mark.django_db
def test_reviewer_workload_empty_team(team):
    """No reviews: no rows."""
    assert legacy.get_reviewer_workload(team=team, start_date=START, end_date=END) == []


@pytest.mark.django_db
def test_reviewer_workload_range_bounds_follow_team_timezone():
    """New York team: reviews at local start 00:00 and local end 23:59:59 count, those just outside do not."""
    team = TeamFactory(timezone="America/New_York")
    pr = PullRequestFactory(team=team)
    too_early = TeamMemberFactory(team=team, display_name="A too early")
    first = TeamMemberFactory(team=team, display_name="B first")
    last = TeamMemberFactory(team=team, display_name="C last")
    too_late = TeamMemberFactory(team=team, display_name="D too late")
    reviews(pr, too_early, 1, submitted_at=at(16, 4, 59, 59))
    reviews(pr, first, 1, submitted_at=at(16, 5))
    reviews(pr, last, 1, submitted_at=at(23, 4, 59, 59))
    reviews(pr, too_late, 1, submitted_at=at(23, 5))

    rows = legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)

    assert [row["member_id"] for row in rows] == [first.pk, last.pk]


@pytest.mark.django_db
def test_reviewer_workload_ignores_other_teams(team, other_team):
    """Another team's reviews never count, and do not move the mean."""
    pr = PullRequestFactory(team=team)
    ana = TeamMemberFactory(team=team, display_name="Ana")
    bruno = TeamMemberFactory(team=team, display_name="Bruno")
    reviews(pr, ana, 2)
    reviews(pr, bruno, 2)
    reviews(PullRequestFactory(team=other_team), TeamMemberFactory(team=other_team), 40)

    rows = legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["reviews"], row["workload"]) for row in rows] == [
        (ana.pk, 2, "normal"),
        (bruno.pk, 2, "normal"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "queries"), [(2, 5), (6, 13)])
def test_reviewer_workload_query_count_grows_per_reviewer(team, django_assert_num_queries, members, queries):
    """The "before" later optimization improves on: one query for the reviewers, then two per reviewer."""
    pr = PullRequestFactory(team=team)
    for _ in range(members):
        reviews(pr, TeamMemberFactory(team=team), 2)

    with django_assert_num_queries(queries):
        legacy.get_reviewer_workload(team=team, start_date=START, end_date=END)
