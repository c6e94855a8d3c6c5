"""A users-1-day report speaks for its own day: a record dated another day is rejected, on both sides of the pair."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.integrations.github.stub_server import write_recorded_report
from apps.integrations.services.copilot_sync import parse_usage_records, sync_copilot_metrics
from shadow import force_side
from tests.factories import AIUsageDailyFactory, GitHubIntegrationFactory, TeamMemberFactory
from tests.integrations.test_copilot_sync import TOKEN, stored_rows, usage

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 10, 1)
EARLIER = dt.date(2025, 9, 20)


def test_the_parser_rejects_a_record_of_another_day_with_a_clear_message():
    records, problems = parse_usage_records(
        [usage("octocat", 10, 5), usage("hubot", 20, 5, day="2025-09-20")], report_day=DAY
    )

    assert [record.login for record in records] == ["octocat"]
    assert problems == ["record 2: day is not the report's day (2025-10-01), skipped"]


@pytest.mark.parametrize("side", ["legacy", "optimized"])
def test_a_record_of_another_day_never_overwrites_that_days_row(team, github_stub, report_root, side):
    """The other day's stored row stays as it was; the report's own records are stored; the skip is counted."""
    github_stub.expected_token = TOKEN
    GitHubIntegrationFactory(team=team, org_slug="acme", access_token=TOKEN)
    octocat = TeamMemberFactory(team=team, github_username="octocat")
    TeamMemberFactory(team=team, github_username="hubot")
    AIUsageDailyFactory(
        team=team, member=octocat, date=EARLIER, source="copilot", suggestions_shown=7, suggestions_accepted=7,
        acceptance_rate=Decimal("100.00"), active_hours=None,
    )
    write_recorded_report(
        report_root, org="acme", day=DAY,
        records=[usage("octocat", 1, 0, day="2025-09-20"), usage("hubot", 20, 5)],
    )

    with force_side("integrations.copilot_sync", side):
        summary = sync_copilot_metrics(team=team, day=DAY)

    assert stored_rows(team) == [
        ("hubot", DAY, "copilot", 20, 5, Decimal("25.00"), None),
        ("octocat", EARLIER, "copilot", 7, 7, Decimal("100.00"), None),
    ]
    assert (summary.stored, summary.malformed) == (1, 1)
    assert summary.problems == ("record 1: day is not the report's day (2025-10-01), skipped",)
