"""Sampling-rate changes are rollout changes: audited with who and why, and shown by `rollout history`."""

from __future__ import annotations

import getpass

import pytest

from flags.models import FlagAudit
from shadow import sampling
from tests.support.commands import rollout

pytestmark = pytest.mark.django_db

PAIR = "test.pair"


def entries() -> list[tuple]:
    return [
        (entry.scope, entry.before, entry.after, entry.actor, entry.reason)
        for entry in FlagAudit.objects.filter(flag_name=PAIR).order_by("id")
    ]


def test_rollout_shadow_rate_changes_are_audited_and_in_the_history(make_pair, team):
    make_pair(legacy=lambda *, team: 1, optimized=lambda *, team: 1)
    rollout("shadow", PAIR, "--rate", "0.5", "--reason", "more evidence before the flip")
    rollout("shadow", PAIR, "--rate", "1", "--team", team.slug, "--reason", "acme first")
    rollout("shadow", PAIR, "--rate", "0.25")

    actor = f"cli:{getpass.getuser()}"
    assert entries() == [
        ("all", "sampling default", "sampling 0.5", actor, "more evidence before the flip"),
        (team.slug, "sampling default", "sampling 1", actor, "acme first"),
        ("all", "sampling 0.5", "sampling 0.25", actor, ""),
    ]
    history = rollout("history", PAIR)
    assert "more evidence before the flip" in history and "acme first" in history


def test_a_rate_set_in_code_is_audited_too(make_pair, team):
    make_pair(legacy=lambda *, team: 1, optimized=lambda *, team: 1)

    sampling.set_rate(pair_name=PAIR, rate="0.1", team=team, actor="system:tests", reason="warm-up")

    assert entries() == [(team.slug, "sampling default", "sampling 0.1", "system:tests", "warm-up")]
