"""The floors of the pairs that leave bots out equal their pairs on a team with bots and humans alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.services.dashboard import legacy, optimized
from bench import floors
from tests.factories import (
    AIUsageDailyFactory,
    PRReviewFactory,
    PRSurveyFactory,
    PullRequestFactory,
    TeamMemberFactory,
)

pytestmark = pytest.mark.django_db

START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
IN_RANGE = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def team_with_bots(team):
    members = [
        TeamMemberFactory(team=team, display_name="Ana", github_username="ana"),
        TeamMemberFactory(team=team, display_name="Bruno", github_username="bruno"),
        TeamMemberFactory(team=team, display_name="dependabot", github_username="dependabot[bot]"),
        TeamMemberFactory(team=team, display_name="CI", github_username="ci-user", is_bot=True),
    ]
    for position, member in enumerate(members):
        for _ in range(position + 1):
            pr = PullRequestFactory(team=team, author=member, merged_at=IN_RANGE, cycle_time_hours=Decimal("10.00"))
            PRSurveyFactory(pull_request=pr, author=member, author_ai_assisted=True)
            PRReviewFactory(pull_request=pr, reviewer=member, submitted_at=IN_RANGE)
        AIUsageDailyFactory(
            team=team, member=member, date=dt.date(2026, 11, 17), suggestions_shown=10, suggestions_accepted=position
        )
    return team


@pytest.mark.parametrize(
    ("floor", "name"),
    [
        (floors.team_breakdown_floor, "get_team_breakdown"),
        (floors.reviewer_workload_floor, "get_reviewer_workload"),
        (floors.copilot_metrics_floor, "get_copilot_metrics"),
    ],
)
def test_floor_equals_both_sides_with_bots(team_with_bots, floor, name):
    kwargs = {"team": team_with_bots, "start_date": START, "end_date": END}

    expected = getattr(legacy, name)(**kwargs)

    assert getattr(optimized, name).compute(**kwargs) == expected
    assert floor(**kwargs) == expected
    if isinstance(expected, list):
        assert len(expected) == 2
    else:
        assert expected["active_members"] == 2
