"""Query counts of the legacy Copilot writer: the "before" of the performance plan.

The writer's exact counts for new rows and for updated rows at two report
sizes are pinned on both sides by the contract suite
(tests/integrations/contracts/test_copilot_sync.py): 2 + 7 per record when
every row is new, 2 + 5 when every row exists. Kept here: what an unmatched
login costs, and the full syncs through the orchestrator.

The full syncs call the `integrations.copilot_sync` pair with its flag off
(legacy serves) and sampling off; with a cold flag store and cache the
rollout decision reads the flags' versions, the state of the flag's row
(created off by migrate) and the pair's sampling rates (3 queries).
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.integrations.github.stub_server import write_recorded_report
from apps.integrations.services.copilot_sync import CopilotUsageRecord, sync_copilot_metrics
from apps.integrations.services.copilot_sync.legacy import sync_copilot_usage
from tests.factories import GitHubIntegrationFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 10, 1)


def records_for_new_members(team, count: int) -> list[CopilotUsageRecord]:
    members = TeamMemberFactory.create_batch(count, team=team)
    return [CopilotUsageRecord(login=m.github_username, day=DAY, shown=10, accepted=3) for m in members]


def test_an_unmatched_login_costs_one_lookup(team, django_assert_num_queries):
    """3 new rows plus 2 unknown logins: 23 + 2."""
    records = records_for_new_members(team, 3) + [
        CopilotUsageRecord(login="stranger-1", day=DAY, shown=1, accepted=1),
        CopilotUsageRecord(login="stranger-2", day=DAY, shown=1, accepted=1),
    ]

    with django_assert_num_queries(25):
        result = sync_copilot_usage(team=team, records=records)

    assert result == {"records": 5, "stored": 3, "unmatched": 2}


def write_report_for_new_members(team, report_root, count: int) -> None:
    members = TeamMemberFactory.create_batch(count, team=team)
    records = [
        {
            "user_login": m.github_username,
            "day": "2025-10-01",
            "code_generation_activity_count": 10,
            "code_acceptance_activity_count": 3,
        }
        for m in members
    ]
    write_recorded_report(report_root, org="acme", day=DAY, records=records)


@pytest.fixture
def legacy_serves_unsampled(settings):
    """The pair's flag is off for the team (legacy serves) and no call is sampled."""
    settings.SHADOW_DEFAULT_RATE = 0


@pytest.mark.usefixtures("legacy_serves_unsampled")
def test_a_full_sync_of_three_users_takes_30_queries(team, github_stub, report_root, django_assert_num_queries):
    """The orchestration adds seven queries to the writer: the integration, the rollout decision (3), the status,
    and the savepoint (and its release) in which a write pair's serving side runs, so a lost deadlock can be retried."""
    GitHubIntegrationFactory(team=team, org_slug="acme")
    write_report_for_new_members(team, report_root, 3)

    with django_assert_num_queries(30):
        summary = sync_copilot_metrics(team=team, day=DAY)

    assert summary.stored == 3


@pytest.mark.usefixtures("legacy_serves_unsampled")
def test_a_full_sync_of_nine_users_takes_72_queries(team, github_stub, report_root, django_assert_num_queries):
    """Same seven extra queries; the growth is all in the per-record writer."""
    GitHubIntegrationFactory(team=team, org_slug="acme")
    write_report_for_new_members(team, report_root, 9)

    with django_assert_num_queries(72):
        summary = sync_copilot_metrics(team=team, day=DAY)

    assert summary.stored == 9
