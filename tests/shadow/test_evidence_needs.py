"""Each pair declares what readiness needs: comparisons, distinct argument sets, and a window that suits how often
it runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from flags.errors import GateRefusedError
from flags.services import enable_for_teams
from shadow import EvidenceNeeds
from shadow.codec import arguments_hash
from shadow.evidence import evidence_for
from shadow.models import ArgumentSet
from tests.factories import DailyEvidenceFactory

PAIR = "test.pair"

pytestmark = pytest.mark.django_db


def total(*, team, n):
    return n * 2


NEEDS = EvidenceNeeds(min_comparisons=3, min_argument_sets=3, window_days=30)


def test_the_same_arguments_count_once_however_often_they_are_compared(make_pair, sample_everything, team):
    pair = make_pair(legacy=total, optimized=total, evidence=NEEDS)
    for _ in range(4):
        pair(team=team, n=1)

    item = evidence_for(PAIR, [team.pk])[team.pk]

    assert (item.comparisons, item.argument_sets) == (4, 1)
    assert item.problems == ["1 of 3 distinct argument sets"]
    with pytest.raises(GateRefusedError, match="1 of 3 distinct argument sets"):
        enable_for_teams(name=PAIR, teams=[team], actor="tests")

    pair(team=team, n=2)
    pair(team=team, n=3)

    assert evidence_for(PAIR, [team.pk])[team.pk].ready
    enable_for_teams(name=PAIR, teams=[team], actor="tests")


def test_the_pairs_window_replaces_the_settings(make_pair, settings, team):
    """Evidence 20 days old counts for a 30-day pair while the settings' window is 7 days; 40 days old does not."""
    settings.SHADOW_EVIDENCE_DAYS = 7
    pair = make_pair(legacy=total, optimized=total, evidence=NEEDS)
    revisions = pair.revisions()
    today = timezone.now().date()
    for age, n in ((20, 1), (25, 2), (40, 3)):
        DailyEvidenceFactory(pair_name=PAIR, team=team, day=today - dt.timedelta(days=age), runs=1, matches=1)
        ArgumentSet.objects.create(
            pair_name=PAIR, team=team, legacy_revision=revisions["legacy"], optimized_revision=revisions["optimized"],
            arguments_hash=arguments_hash({"n": n}), last_day=today - dt.timedelta(days=age),
        )

    item = evidence_for(PAIR, [team.pk])[team.pk]

    assert (item.days, item.comparisons, item.argument_sets) == (30, 2, 2)
    assert item.problems == ["2 of 3 comparisons in the last 30 days", "2 of 3 distinct argument sets"]


def test_argument_sets_of_an_older_revision_do_not_count(make_pair, sample_everything, team):
    from shadow import pairs
    from shadow.pairs import Pair

    pair = make_pair(legacy=total, optimized=total, evidence=NEEDS)
    for n in range(3):
        pair(team=team, n=n)
    pairs.unregister(PAIR)
    pairs.register(Pair(name=PAIR, legacy=total, optimized=lambda *, team, n: n + n, evidence=NEEDS))

    item = evidence_for(PAIR, [team.pk])[team.pk]

    assert (item.comparisons, item.argument_sets, item.older_comparisons) == (0, 0, 3)


def test_the_arguments_hash_is_stable_and_leaves_the_team_out(team):
    one = arguments_hash({"team": team, "start_date": dt.date(2026, 11, 1), "limit": 5})
    assert one == arguments_hash({"limit": 5, "start_date": dt.date(2026, 11, 1)})
    assert one != arguments_hash({"limit": 6, "start_date": dt.date(2026, 11, 1)})
    assert len(one) == 16
