"""The dashboard page's SQL: the same number of queries whatever the team's size, and none for the cards when warm.

Every card is a pair; with every flag on for the team the page runs the
optimized sides only (sampling is off in tests). A cold page makes the
request's own queries (session, user, team membership), one read of the
team's data stamp shared by every card, and each card's computation; a warm
page (same data, same range) makes the request's queries and the stamp read
only. Legacy, for contrast, grows with the team.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.utils import timezone

from flags.services import enable_for_teams
from tests.factories import (
    AIUsageDailyFactory,
    PRReviewFactory,
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamMemberFactory,
)

# Committed rows, as in production: the flag store and sampling rates answer from memory only for committed state.
pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD_PAIRS = [
    "metrics.key_metrics",
    "metrics.team_breakdown",
    "metrics.cycle_time_trend",
    "metrics.review_time_trend",
    "metrics.ai_adoption_trend",
    "metrics.pr_size_distribution",
    "metrics.recent_prs",
    "metrics.copilot_metrics",
    "metrics.copilot_by_member",
    "metrics.reviewer_workload",
]
SMALL, LARGE = 3, 24
# Request (session, user, membership and team) + the stamp + one per card (key metrics: two), + one for the AI
# impact card (not a pair: its per-PR survey, Copilot-day and rating figures under one FILTERed aggregate).
COLD = 16
WARM = 4


def build_activity(team, members: int) -> None:
    """`members` members, each with three PRs merged in the last 30 days (surveyed, rated and reviewed by the next
    member) and Copilot usage on two days."""
    now = timezone.now()
    people = [TeamMemberFactory(team=team) for _ in range(members)]
    for position, person in enumerate(people):
        reviewer = people[(position + 1) % members]
        for days_ago in (2, 9, 20):
            merged_at = now - dt.timedelta(days=days_ago, hours=position % 5)
            pr = PullRequestFactory(team=team, author=person, merged_at=merged_at, additions=10 * (position + 1))
            survey = PRSurveyFactory(pull_request=pr, author_ai_assisted=days_ago != 9)
            PRSurveyReviewFactory(survey=survey, reviewer=reviewer)
            PRReviewFactory(pull_request=pr, reviewer=reviewer, submitted_at=merged_at - dt.timedelta(hours=2))
        for days_ago in (1, 3):
            AIUsageDailyFactory(
                team=team, member=person, date=timezone.localdate() - dt.timedelta(days=days_ago),
                suggestions_shown=100 + position, suggestions_accepted=30,
            )


def all_flags_on(team) -> None:
    for name in DASHBOARD_PAIRS:
        enable_for_teams(name=name, teams=[team], actor="test", reason="page query count", force=True)


def warm_process(client, team) -> None:
    """One page first, then an empty metrics cache: the process has read its flag states and sampling rates
    (kept in memory between version checks, as in a running server), the cards have nothing cached."""
    page(client, team)
    caches["default"].clear()


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def page(client, team) -> str:
    response = client.get(f"/app/{team.slug}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("members", [SMALL, LARGE])
def test_the_page_makes_the_same_queries_at_two_team_sizes(member_client, team, django_assert_num_queries, members):
    build_activity(team, members)
    all_flags_on(team)
    warm_process(member_client, team)

    with django_assert_num_queries(COLD):
        html = page(member_client, team)
    with django_assert_num_queries(WARM):
        warm = page(member_client, team)

    assert f"{3 * members}" in html
    # The cached cards show what the computed ones showed (the CSRF token is masked anew on every response).
    assert without_csrf(warm) == without_csrf(html)


def test_a_write_to_the_team_makes_the_next_page_compute_again(member_client, team, django_assert_num_queries):
    build_activity(team, SMALL)
    all_flags_on(team)
    warm_process(member_client, team)
    page(member_client, team)

    PullRequestFactory(team=team, merged_at=timezone.now() - dt.timedelta(days=1), cycle_time_hours=Decimal("1.00"))

    with django_assert_num_queries(COLD):
        page(member_client, team)


def test_legacy_grows_with_the_team(member_client, team, django_assert_num_queries):
    """For contrast: with every flag off, the page's query count depends on the number of members."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    build_activity(team, SMALL)
    with CaptureQueriesContext(connection) as small:
        page(member_client, team)
    build_activity(team, SMALL)
    with CaptureQueriesContext(connection) as larger:
        page(member_client, team)

    assert len(larger.captured_queries) > len(small.captured_queries) + 10
