"""A cached pair's comparisons pit two computations against each other; its cache entry is checked on its own."""

from __future__ import annotations

import pytest

from shadow import CachedEntry, PairCache
from shadow.models import DailyEvidence, ShadowRecord
from shadow.testing import force_side

PAIR = "test.pair"

pytestmark = pytest.mark.django_db


class Counting:
    """Team totals from a dict standing in for the team's rows, and an optimized side cached in another dict."""

    def __init__(self):
        self.rows = {"total": 10}
        self.entries: dict[int, tuple[int, float]] = {}
        self.computed = 0

    def legacy(self, *, team):
        return self.rows["total"]

    def compute(self, *, team):
        self.computed += 1
        return self.rows["total"]

    def optimized(self, *, team):
        if team.pk not in self.entries:
            self.entries[team.pk] = (self.compute(team=team), 42.0)
        return self.entries[team.pk][0]

    def peek(self, *, team):
        entry = self.entries.get(team.pk)
        return None if entry is None else CachedEntry(value=entry[0], age_seconds=entry[1])


@pytest.fixture
def counting(make_pair):
    source = Counting()
    pair = make_pair(
        legacy=source.legacy, optimized=source.optimized, cache=PairCache(compute=source.compute, peek=source.peek)
    )
    return source, pair


def test_a_stale_entry_is_its_own_outcome_never_a_mismatch(counting, settings, team, sentry_events):
    """The rows changed behind the cache: legacy and the fresh computation agree, the entry is reported stale."""
    source, pair = counting
    with force_side(PAIR, "optimized"):
        settings.SHADOW_DEFAULT_RATE = 0
        assert pair(team=team) == 10
        source.rows["total"] = 12
        # Unsampled: the cache serves, stale.
        assert pair(team=team) == 10
        settings.SHADOW_DEFAULT_RATE = 1
        # Sampled: computed fresh, and the caller gets the fresh value.
        assert pair(team=team) == 12

    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (evidence.matches, evidence.mismatches, evidence.stale_cache) == (1, 0, 1)
    record = ShadowRecord.objects.get(pair_name=PAIR)
    assert record.outcome == "stale_cache"
    assert record.error == "the cached entry (42 s old) differs from a fresh computation of the same call"
    assert record.diff == [{
        "path": "", "line": "cached vs fresh: <root>: 10 != 12", "redacted": "cached vs fresh: <root>: 10 != 12",
        "legacy": "10", "optimized": "12", "legacy_redacted": "10", "optimized_redacted": "12",
    }]
    assert record.side_labels == ("Cached", "Fresh")
    [event] = sentry_events.wait_for_events(1)
    assert event["message"] == "Stale cache in test.pair"
    assert event["tags"]["shadow.outcome"] == "stale_cache"
    assert event["contexts"]["shadow"]["age_seconds"] == 42.0


def test_a_fresh_entry_is_not_reported(counting, sample_everything, team):
    source, pair = counting
    source.entries[team.pk] = (10, 1.0)

    assert pair(team=team) == 10

    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (evidence.matches, evidence.stale_cache) == (1, 0)
    assert not ShadowRecord.objects.exists()


def test_on_demand_comparisons_compute_and_never_read_the_cache(counting, team):
    """`rollout verify` and shadow.compare run the computation each time, whatever is cached."""
    import shadow

    source, _ = counting
    source.entries[team.pk] = (99, 1.0)

    assert shadow.compare(PAIR, team=team).outcome == "match"
    assert shadow.compare(PAIR, team=team).outcome == "match"
    assert source.computed == 2


def test_only_read_pairs_declare_a_cache():
    from shadow.pairs import Pair

    source = Counting()
    with pytest.raises(ValueError, match="only read pairs can declare a cache"):
        Pair(
            name=PAIR, legacy=source.legacy, optimized=source.optimized, writes=True, snapshot=source.legacy,
            cache=PairCache(compute=source.compute, peek=source.peek),
        )
