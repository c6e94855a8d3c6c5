"""The guarded rollback does not depend on the evidence: with every evidence write failing, 5 failures still roll back."""

from __future__ import annotations

import pytest

import flags
from flags.models import FlagAudit
from flags.services import enable_for_teams
from shadow import evidence
from shadow.gate import AUTO_ROLLBACK_ACTOR
from shadow.models import DailyEvidence, FailureTally

pytestmark = pytest.mark.django_db

PAIR = "test.pair"


def legacy_total(*, team, n):
    return n * 2


def broken_total(*, team, n):
    raise RuntimeError("optimized is broken")


def wrong_total(*, team, n):
    return -1


@pytest.fixture
def evidence_writes_fail(monkeypatch):
    monkeypatch.setattr(evidence, "UPSERT", "INSERT INTO shadow_no_such_table VALUES (%s)")


@pytest.mark.parametrize(("optimized", "sampled"), [(broken_total, False), (wrong_total, True)])
def test_five_failures_roll_the_team_back_although_no_evidence_could_be_stored(
    make_pair, settings, team, evidence_writes_fail, optimized, sampled
):
    """Optimized errors on unsampled calls, or mismatches on sampled ones: the 5th flips the team back."""
    settings.SHADOW_DEFAULT_RATE = 1 if sampled else 0
    pair = make_pair(PAIR, legacy=legacy_total, optimized=optimized)
    enable_for_teams(name=PAIR, teams=[team], actor="tests", reason="on", force=True)

    answers = [pair(team=team, n=2) for _ in range(4)]
    assert flags.is_enabled(PAIR, team=team) is True
    answers.append(pair(team=team, n=2))

    assert answers == [4] * 5
    assert flags.is_enabled(PAIR, team=team) is False
    assert DailyEvidence.objects.count() == 0
    tally = FailureTally.objects.get(pair_name=PAIR, team=team)
    assert (tally.mismatches, tally.errors) == ((5, 0) if sampled else (0, 5))
    assert FlagAudit.objects.filter(flag_name=PAIR, actor=AUTO_ROLLBACK_ACTOR).count() == 1
