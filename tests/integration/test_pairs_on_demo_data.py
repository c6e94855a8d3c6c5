"""Every registered pair, on seeded demo data, for every demo team and every example call: both sides agree."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

import shadow
from apps.teams.models import Team
from shadow import pairs as registry

EXPECTED_PAIRS = [
    "integrations.copilot_sync",
    "metrics.ai_adoption_trend",
    "metrics.copilot_by_member",
    "metrics.copilot_metrics",
    "metrics.cycle_time_trend",
    "metrics.key_metrics",
    "metrics.pr_export",
    "metrics.pr_size_distribution",
    "metrics.recent_prs",
    "metrics.review_time_trend",
    "metrics.reviewer_workload",
    "metrics.team_breakdown",
    "metrics.weekly_aggregation",
]


@pytest.fixture
def demo_teams(db):
    call_command(
        "seed_demo", "--teams", "2", "--members", "12", "--prs", "300", "--days", "30", "--end-date", "2026-11-20",
        stdout=io.StringIO(),
    )
    return list(Team.objects.filter(slug__startswith="demo-").order_by("slug"))


def test_every_pair_of_the_performance_plan_is_registered():
    """The thirteen pairs of the plan (every dashboard card among them) are registered under their flag names, each with
    examples for `rollout verify`."""
    assert registry.names() == EXPECTED_PAIRS
    assert all(pair.examples is not None for pair in registry.all())


def test_every_pair_matches_on_demo_data(demo_teams, settings):
    """shadow.compare for each pair × demo team × example: all matched (the failures are listed if not).

    A generous budget: this judges agreement, not speed, and legacy sides are slow on a loaded machine.
    """
    settings.SHADOW_TIME_BUDGET_MS = 30_000
    outcomes = {}
    for pair in registry.all():
        for team in demo_teams:
            for index, kwargs in enumerate(pair.examples(team)):
                comparison = shadow.compare(pair.name, team=team, **kwargs)
                outcomes[(pair.name, team.slug, index)] = (comparison.outcome, comparison.diff[:3], comparison.error_text)
    failures = {key: value for key, value in outcomes.items() if value[0] != "match"}
    assert failures == {}
    assert {name for name, _, _ in outcomes} == set(EXPECTED_PAIRS)
