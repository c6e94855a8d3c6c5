"""The autopilot end to end: celery beat inside a real worker process runs it on schedule, and it promotes teams.

Nothing here calls the autopilot: the worker's own beat sends `shadow.autopilot.run_autopilot_task`
through Redis every second (SHADOW_AUTOPILOT_INTERVAL_SECONDS=1), the worker runs it against this
test's database, and the test only watches the database for its decisions.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

import flags
from apps.teams.models import Team
from flags.models import FlagAudit
from flags.store import STORE
from shadow import conf, pairs
from shadow.autopilot import AUTOPILOT_ACTOR
from shadow.models import MS_BUCKETS, ArgumentSet, PlanDecision, RolloutPlan, empty_ms_histogram
from tests.factories import DailyEvidenceFactory, TeamFactory
from tests.support.processes import celery_worker

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: CI's second run sets it"),
]

PAIR = "metrics.team_breakdown"
# Long enough for a cold worker to start, beat to tick and two runs to act; a passing run takes seconds.
DEADLINE_SECONDS = 60
POLL_SECONDS = 0.25


def histogram(runs: int, bucket_ms: float) -> list[int]:
    """Every run in the bucket that ends at `bucket_ms`, so both sides have a p95."""
    counts = empty_ms_histogram()
    counts[MS_BUCKETS.index(bucket_ms)] = runs
    return counts


def needed_comparisons() -> int:
    """Enough for the plan (50) and for the readiness gate, which the autopilot's enable goes through too."""
    return max(int(conf.get("SHADOW_MIN_COMPARISONS")), 50)


def needed_argument_sets() -> int:
    """Enough for the plan (3) and for the pair's own EvidenceNeeds."""
    return max(pairs.get(PAIR).evidence.min_argument_sets, 3)


def ready_team(slug: str, revisions: dict[str, str]) -> Team:
    """A team whose evidence for the pair's current code satisfies both the plan and the readiness gate."""
    team = TeamFactory(slug=slug, name=slug.title())
    comparisons = needed_comparisons()
    DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=comparisons, matches=comparisons, measured_runs=comparisons,
        legacy_ms_histogram=histogram(comparisons, 20), optimized_ms_histogram=histogram(comparisons, 20),
    )
    argument_sets = needed_argument_sets()
    today = dt.datetime.now(dt.UTC).date()
    ArgumentSet.objects.bulk_create(
        ArgumentSet(
            pair_name=PAIR, team=team, legacy_revision=revisions["legacy"], optimized_revision=revisions["optimized"],
            arguments_hash=f"{index:016x}", last_day=today,
        )
        for index in range(argument_sets)
    )
    return team


def wait_for(condition: Callable[[], bool]) -> bool:
    """Poll until `condition` holds or the deadline passes; whether it held."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL_SECONDS)
    return condition()


def run_beat_worker(tmp_path: Path, *, interval_seconds: str) -> tuple[list[Team], RolloutPlan, bool]:
    """Two ready teams and an active plan, then a worker with embedded beat until both teams are promoted."""
    assert PAIR in pairs.names()
    revisions = pairs.get(PAIR).revisions()
    teams = [ready_team("autopilot-first", revisions), ready_team("autopilot-second", revisions)]
    plan = RolloutPlan.objects.create(
        pair_name=PAIR, status=RolloutPlan.Status.ACTIVE, teams=[team.slug for team in teams], revisions=revisions,
        step_size=1, bake_minutes=0, min_comparisons=50, min_argument_sets=3,
    )

    def promoted() -> bool:
        return PlanDecision.objects.filter(plan=plan, action=PlanDecision.Action.PROMOTE).count() == len(teams)

    queue = f"autopilot-test-{uuid.uuid4().hex[:8]}"
    with celery_worker(
        queue, beat_schedule=tmp_path / "celerybeat-schedule", SHADOW_AUTOPILOT_INTERVAL_SECONDS=interval_seconds,
    ):
        started = time.monotonic()
        done = wait_for(promoted)
        print(f"beat worker: both teams promoted={done} after {time.monotonic() - started:.1f} s")
    return teams, plan, done


@pytest.mark.django_db(transaction=True)
def test_beat_in_a_worker_process_runs_the_autopilot_which_promotes_ready_teams_step_by_step(tmp_path):
    """Step 1 promotes the first team, the next run (no bake) the second; each promotion is audited with its evidence."""
    teams, plan, done = run_beat_worker(tmp_path, interval_seconds="1")
    assert done, "the worker's beat did not run the autopilot to both promotions in time"

    decisions = list(
        PlanDecision.objects.filter(plan=plan, action=PlanDecision.Action.PROMOTE).order_by("created_at", "id")
    )
    assert [decision.team_slug for decision in decisions] == [team.slug for team in teams]
    assert {decision.actor for decision in decisions} == {AUTOPILOT_ACTOR}
    assert [decision.evidence["comparisons"] for decision in decisions] == [needed_comparisons()] * len(teams)

    audits = list(FlagAudit.objects.filter(flag_name=PAIR, actor=AUTOPILOT_ACTOR).order_by("created_at", "id"))
    assert [(audit.team_slug, audit.reason.split(":")[0]) for audit in audits] == [
        (teams[0].slug, "autopilot step 1"), (teams[1].slug, "autopilot step 2"),
    ]
    # The reason carries the evidence snapshot the promotion rested on: what `rollout history` shows.
    evidence = f"{needed_comparisons()} comparisons, {needed_argument_sets()} argument sets, 0 mismatches, 0 errors"
    assert all(evidence in audit.reason for audit in audits)

    # Read the flag states afresh: the worker changed them, not this process.
    STORE.forget()
    assert all(flags.is_enabled(PAIR, team=team) for team in teams)
    plan.refresh_from_db()
    assert plan.status == RolloutPlan.Status.ACTIVE
    assert plan.step_team_ids == [teams[1].pk]
