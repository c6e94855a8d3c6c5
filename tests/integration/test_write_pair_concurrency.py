"""Write pairs under shadowing do not deadlock: 4 processes sync the same Copilot report at 100 % sampling.

The team is on the optimized side of integrations.copilot_sync and every
call is sampled, so each run is a legacy shadow run (rolled back) and an
optimized served run, in 4 processes at once, each sending the same records
in its own shuffled order. Both sides take their row locks in key order and
the shadow side waits for a lock at most SHADOW_LOCK_TIMEOUT_MS (then the run
is inconclusive), so PostgreSQL sees no deadlock, no caller sees an error,
nothing is rolled back, and the rows end exactly as the report says.

Slow (about half a minute): it runs in CI's second pass only.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

import flags
from apps.metrics.models import AIUsageDaily
from flags.models import FlagAudit
from flags.services import enable_for_teams
from shadow.gate import AUTO_ROLLBACK_ACTOR
from shadow.models import DailyEvidence, FailureTally
from shadow.sampling import set_rate
from tests.factories import TeamMemberFactory
from tests.support.copilot_sync_child import DAY, expected_record
from tests.support.processes import ROOT, child_env

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="slow fault test: CI's second run (with REDIS_URL) runs it"),
    pytest.mark.django_db(transaction=True),
]

PAIR = "integrations.copilot_sync"
PROCESSES = 4
RUNS = 30
MEMBERS = 40


def deadlocks() -> int:
    with connection.cursor() as cursor:
        # Statistics are read once per transaction unless the snapshot is cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_four_processes_syncing_at_full_sampling_never_deadlock(team):
    members = TeamMemberFactory.create_batch(MEMBERS, team=team)
    enable_for_teams(name=PAIR, teams=[team], actor="tests", reason="concurrency test", force=True)
    set_rate(pair_name=PAIR, rate=1, team=team, actor="tests", reason="every call compared")
    before = deadlocks()

    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.copilot_sync_child", str(team.pk), str(RUNS), str(seed)],
            cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for seed in range(PROCESSES)
    ]
    reports = []
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))

    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    print(
        f"{PROCESSES}×{RUNS} sampled syncs: {evidence.runs} runs recorded, {evidence.matches} matches, "
        f"{evidence.inconclusive} inconclusive, {evidence.timeouts} timeouts"
    )
    assert [report["errors"] for report in reports] == [[]] * PROCESSES
    assert deadlocks() - before == 0
    assert (evidence.mismatches, evidence.errors, evidence.optimized_errors) == (0, 0, 0)
    assert not FailureTally.objects.exists()
    assert not FlagAudit.objects.filter(actor=AUTO_ROLLBACK_ACTOR).exists()
    assert flags.is_enabled(PAIR, team=team)
    stored = AIUsageDaily.objects.filter(team=team, date=DAY).order_by("member_id")
    assert [(row.member_id, row.suggestions_shown, row.suggestions_accepted) for row in stored] == [
        (member.pk, record.shown, record.accepted)
        for member, record in (
            (member, expected_record(member.github_username, number)) for number, member in enumerate(members)
        )
    ]
