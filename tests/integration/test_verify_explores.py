"""`rollout verify` explores: beside each pair's examples it compares argument sets generated from the team's data."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from apps.metrics.services import exploration
from apps.teams.models import Team
from tests.support.commands import rollout

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_team(db):
    call_command(
        "seed_demo", "--teams", "1", "--members", "8", "--prs", "200", "--days", "30", "--end-date", "2026-11-20",
        stdout=io.StringIO(),
    )
    return Team.objects.get(slug="demo-1")


@pytest.mark.parametrize(("pair", "at_least"), [
    ("metrics.team_breakdown", 10),
    ("metrics.key_metrics", 10),
    ("metrics.copilot_by_member", 13),
    ("metrics.pr_export", 20),
    ("metrics.reviewer_workload", 10),
    ("metrics.cycle_time_trend", 10),
    ("metrics.review_time_trend", 10),
    ("metrics.ai_adoption_trend", 10),
    ("metrics.pr_size_distribution", 10),
    ("metrics.copilot_metrics", 10),
    # Limits 1, 0 and -1 among them: both sides refuse -1 alike, which verify counts as a match.
    ("metrics.recent_prs", 13),
])
def test_verify_compares_the_examples_and_the_generated_edge_cases_and_all_match(demo_team, pair, at_least):
    output = rollout("verify", pair, "--team", "demo-1", "--runs", "1")

    header = next(line for line in output.splitlines() if line.startswith(f"{pair} for demo-1: "))
    count = int(header.split(": ")[1].split(" ")[0])
    assert count >= at_least, header
    assert f"{count} of {count} comparisons matched" in output


def test_examples_only_leaves_the_generated_sets_out(demo_team):
    output = rollout("verify", "metrics.team_breakdown", "--team", "demo-1", "--runs", "1", "--examples-only")

    assert "metrics.team_breakdown for demo-1: 3 examples × 1 run" in output


def test_ranges_end_on_the_last_day_with_data_and_cross_a_dst_change(demo_team):
    """The demo ends on 2026-11-20; a European or American zone changed its offset in late October or early
    November, and one range spans that change."""
    demo_team.timezone = "Europe/Berlin"
    ranges = exploration.date_ranges(demo_team)

    last = exploration.last_day_with_data(demo_team)
    assert last <= dt.date(2026, 11, 20)
    assert {"start_date": last, "end_date": last} in ranges
    change = exploration.dst_change_near(demo_team, last)
    assert change == dt.date(2026, 10, 25)
    assert {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 10, 27)} in ranges


def test_limits_and_filters_cover_the_edges(demo_team):
    limits = {arguments["limit"] for arguments in exploration.ranges_and_limits(demo_team)}
    filters = [arguments["filters"] for arguments in exploration.export_filters(demo_team)]

    assert {1, 0, -1, 10} <= limits
    assert any(f.author_id and f.state and f.size for f in filters)
    assert {f.state for f in filters if f.state} == {"open", "merged", "closed"}
