"""Scheduled write pairs reach the gate by backfill: `rollout verify --backfill` compares their past periods."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.teams.models import Team
from shadow.evidence import evidence_for
from tests.support.commands import rollout, rollout_failure

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_team(db):
    call_command(
        "seed_demo", "--teams", "1", "--members", "8", "--prs", "150", "--days", "30", "--end-date", "2026-11-20",
        stdout=io.StringIO(),
    )
    return Team.objects.get(slug="demo-1")


def test_weekly_aggregation_is_not_ready_until_backfilled_then_it_is(demo_team):
    pair = "metrics.weekly_aggregation"
    error, _ = rollout_failure("enable", pair, "--team", "demo-1")
    assert "0 of 8 comparisons in the last 91 days" in str(error)
    assert "0 of 8 distinct argument sets" in str(error)

    output = rollout("verify", pair, "--team", "demo-1", "--backfill", "--runs", "1")

    assert f"{pair} for demo-1: 12 periods × 1 run" in output
    item = evidence_for(pair, [demo_team.pk])[demo_team.pk]
    assert (item.comparisons, item.argument_sets, item.mismatches) == (12, 12, 0)
    rollout("enable", pair, "--team", "demo-1")


def test_copilot_sync_backfills_each_stored_day_once(demo_team):
    pair = "integrations.copilot_sync"

    output = rollout("verify", pair, "--team", "demo-1", "--backfill", "--runs", "2")

    item = evidence_for(pair, [demo_team.pk])[demo_team.pk]
    periods = int(output.split(f"{pair} for demo-1: ")[1].split(" periods")[0])
    assert periods >= 14
    # Two runs of each day: twice the comparisons, each day once as an argument set.
    assert (item.comparisons, item.argument_sets, item.mismatches) == (2 * periods, periods, 0)
    assert item.ready


def test_a_pair_without_backfill_says_so_with_exit_2(demo_team):
    error, _ = rollout_failure("verify", "metrics.team_breakdown", "--team", "demo-1", "--backfill")

    assert error.returncode == 2
    assert str(error).startswith("metrics.team_breakdown has no backfill to verify with")
