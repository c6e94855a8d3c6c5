"""`rollout verify --generated N`: synthetic edge-case teams, built and compared inside a rolled-back transaction.

The teams come from the same hypothesis strategies as the property-based
contract cases (apps.metrics.synthetic), derandomized, so every run builds the
same teams. Nothing they hold survives the command: no team, no row, no
evidence. Each run ends with what it covered.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from apps.metrics.models import PullRequest, TeamMember
from apps.metrics.synthetic import SHAPES, data_shapes
from apps.teams.models import Team
from shadow.models import DailyEvidence, ShadowRecord
from tests.integration.test_verify_catches_injected_bugs import BUGS
from tests.support.commands import rollout, rollout_failure

pytestmark = pytest.mark.django_db

COVERED = re.compile(r"Covered (\d+) distinct argument sets on (\d+) synthetic teams and (\d+) of (\d+) data shapes")


def nothing_left() -> tuple[int, int, int, int, int]:
    return (
        Team.objects.count(), TeamMember.objects.count(), PullRequest.objects.count(), DailyEvidence.objects.count(),
        ShadowRecord.objects.count(),
    )


@pytest.mark.parametrize(
    "pair", ["metrics.team_breakdown", "metrics.key_metrics", "integrations.copilot_sync", "metrics.weekly_aggregation"]
)
def test_both_sides_match_on_generated_teams_and_nothing_is_left(pair):
    before = nothing_left()

    output = rollout("verify", pair, "--generated", "4")

    assert nothing_left() == before
    covered = COVERED.search(output)
    assert covered, output
    argument_sets, teams, shapes, total = map(int, covered.groups())
    # A team whose data gives the pair nothing to compare (no Copilot row with a login, say) is counted apart.
    skipped = re.search(r"(\d+) of 4 synthetic teams gave", output)
    assert teams + (int(skipped.group(1)) if skipped else 0) == 4
    assert teams >= 3
    assert argument_sets >= teams
    assert total == len(SHAPES)
    assert shapes >= total - 4, output
    assert "0 mismatched, 0 errors, 0 timeouts" in output


def test_the_same_teams_on_every_run():
    first = rollout("verify", "metrics.copilot_by_member", "--generated", "3")
    second = rollout("verify", "metrics.copilot_by_member", "--generated", "3")

    strip_timings = re.compile(r"\d+\.\d+ ms")
    assert strip_timings.sub("", first) == strip_timings.sub("", second)


@pytest.mark.parametrize(
    "bug",
    [
        "off-by-one range bound",
        "range in UTC, not the team's zone",
        "tie-break by id instead of name",
        "rounding half-cents to even",
        "shared login goes to the last member",
        "upsert forgets a column",
    ],
)
def test_generated_teams_alone_catch_an_injected_bug(monkeypatch, bug):
    """No seeded team at all: the synthetic teams' edge cases are enough to expose the bug (exit 1)."""
    pair, module, name, replacement = BUGS[bug]
    monkeypatch.setattr(module, name, replacement)

    error, output = rollout_failure("verify", pair, "--generated", "8")

    assert error.returncode == 1, output
    assert str(error).startswith("mismatch:")
    assert "did not match" in output


def test_usage_errors_exit_2():
    assert rollout_failure("verify", "metrics.team_breakdown", "--generated", "0")[0].returncode == 2
    assert rollout_failure("verify", "metrics.team_breakdown", "--generated", "2", "--noise")[0].returncode == 2
    assert rollout_failure("verify", "metrics.team_breakdown", "--generated", "2", "--backfill")[0].returncode == 2


def test_team_and_generated_cannot_be_combined(team):
    error, _output = rollout_failure("verify", "metrics.team_breakdown", "--team", team.slug, "--generated", "2")

    assert "not allowed with argument --team" in str(error)


def test_a_real_team_run_prints_its_data_shapes(team):
    """On a team without edge cases, the coverage line names the shapes its data lacks."""
    output = rollout("verify", "metrics.team_breakdown", "--team", team.slug, "--runs", "1")

    assert re.search(r"Covered \d+ distinct argument sets on " + team.slug + r" and 0 of \d+ data shapes; not covered: ",
                     output), output


def test_seeded_demo_teams_hold_every_shape():
    """seed_demo's edge cases give the live shadow on the demo every shape verify looks for."""
    call_command(
        "seed_demo", "--teams", "2", "--members", "10", "--prs", "200", "--days", "30", "--end-date", "2026-11-20",
        stdout=io.StringIO(),
    )
    shapes = data_shapes(Team.objects.get(slug="demo-2"))

    assert [name for name, present in shapes.items() if not present] == []
