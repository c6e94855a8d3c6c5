"""Which calls run the other side: rates, their precedence, run-time changes, and the random order of the sides."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest

from flags.services import enable_for_teams
from shadow import sampling
from shadow.models import DailyEvidence, ShadowRecord
from tests.shadow.sides import Side

PAIR = "test.pair"


def make_logged_pair(make_pair, *, legacy="same", optimized="same") -> tuple:
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value=legacy), optimized=Side("optimized", log, value=optimized))
    return pair, log


@pytest.mark.django_db
def test_rate_zero_never_runs_the_other_side(make_pair, settings, team):
    """At rate 0, 30 calls run legacy 30 times and optimized never."""
    settings.SHADOW_DEFAULT_RATE = 0
    pair, log = make_logged_pair(make_pair)

    for _ in range(30):
        pair(team=team)

    assert Counter(log) == {"legacy": 30}


@pytest.mark.django_db
def test_rate_one_always_runs_both_sides(make_pair, sample_everything, team):
    """At rate 1, every one of 10 calls runs both sides and is counted as a run."""
    pair, log = make_logged_pair(make_pair)

    for _ in range(10):
        pair(team=team)

    assert Counter(log) == {"legacy": 10, "optimized": 10}
    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).runs == 10


@pytest.mark.django_db
def test_the_default_rate_applies_without_any_rate_row(settings, team):
    """No SamplingRate rows: SHADOW_DEFAULT_RATE is the rate for every team."""
    settings.SHADOW_DEFAULT_RATE = 0.25

    assert sampling.rate_for(PAIR, team) == 0.25


@pytest.mark.django_db
def test_a_pair_rate_for_all_teams_beats_the_default(settings, team, other_team):
    """A rate set for all teams replaces SHADOW_DEFAULT_RATE for every team."""
    settings.SHADOW_DEFAULT_RATE = 1
    sampling.set_rate(pair_name=PAIR, rate="0.05", actor="tests")

    assert (sampling.rate_for(PAIR, team), sampling.rate_for(PAIR, other_team)) == (0.05, 0.05)


@pytest.mark.django_db
def test_a_team_rate_beats_the_pair_rate_and_the_default(make_pair, settings, team, other_team):
    """Default 1, pair rate 0, team rate 1: only `team`'s calls are compared."""
    settings.SHADOW_DEFAULT_RATE = 1
    sampling.set_rate(pair_name=PAIR, rate=0, actor="tests")
    sampling.set_rate(pair_name=PAIR, rate=1, team=team, actor="tests")
    pair, log = make_logged_pair(make_pair)

    pair(team=other_team)
    pair(team=team)

    assert (sampling.rate_for(PAIR, team), sampling.rate_for(PAIR, other_team)) == (1.0, 0.0)
    assert Counter(log) == {"legacy": 2, "optimized": 1}
    assert list(DailyEvidence.objects.values_list("team_id", "runs")) == [(team.pk, 1)]


@pytest.mark.django_db
def test_a_rate_change_takes_effect_on_the_next_call(make_pair, settings, team):
    """set_rate clears the cached rates: the call right after it follows the new rate."""
    settings.SHADOW_DEFAULT_RATE = 0
    pair, log = make_logged_pair(make_pair)

    pair(team=team)
    sampling.set_rate(pair_name=PAIR, rate=1, team=team, actor="tests")
    pair(team=team)
    sampling.set_rate(pair_name=PAIR, rate=0, team=team, actor="tests")
    pair(team=team)

    assert Counter(log) == {"legacy": 3, "optimized": 1}


@pytest.mark.django_db
def test_rate_lookup_makes_one_query_cold_and_none_warm(
    settings, team, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The pair's rates are read once, then served from the cache (once the change is committed)."""
    with django_capture_on_commit_callbacks(execute=True):
        sampling.set_rate(pair_name=PAIR, rate="0.5", team=team, actor="tests")

    with django_assert_num_queries(1):
        cold = sampling.rate_for(PAIR, team)
    with django_assert_num_queries(0):
        warm = sampling.rate_for(PAIR, team)
        sampling.should_sample(PAIR, team)

    assert (cold, warm) == (0.5, 0.5)


@pytest.mark.django_db
def test_a_pair_without_rate_rows_is_cached_too(settings, team, django_assert_num_queries):
    """"No rows" is cached as well, so a pair on the default rate costs no query when warm."""
    settings.SHADOW_DEFAULT_RATE = 0
    sampling.should_sample(PAIR, team)

    with django_assert_num_queries(0):
        assert sampling.should_sample(PAIR, team) is False


@pytest.mark.parametrize("rate", ["-0.01", "1.01"])
@pytest.mark.django_db
def test_rates_outside_zero_to_one_are_refused(rate):
    """A rate is a share of calls: 0 to 1."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        sampling.set_rate(pair_name=PAIR, rate=rate, actor="tests")


@pytest.mark.django_db
def test_set_rate_updates_the_existing_row(team):
    """Setting a team's rate twice leaves one row with the latest rate and actor."""
    sampling.set_rate(pair_name=PAIR, rate="0.1", team=team, actor="first")
    row = sampling.set_rate(pair_name=PAIR, rate="0.2", team=team, actor="second")

    assert (row.rate, row.updated_by) == (Decimal("0.2"), "second")
    assert sampling.rates_for(PAIR) == {team.pk: 0.2}


@pytest.mark.django_db
def test_a_fractional_rate_samples_by_chance(make_pair, settings, team):
    """At rate 0.5 with a fixed seed, some of 40 calls are compared and some are not."""
    settings.SHADOW_DEFAULT_RATE = 0.5
    random.seed(20240506)
    pair, log = make_logged_pair(make_pair)

    for _ in range(40):
        pair(team=team)

    compared = log.count("optimized")
    assert 0 < compared < 40
    assert log.count("legacy") == 40


@pytest.mark.django_db
def test_once_flipped_on_sampled_calls_still_run_legacy_and_catch_a_wrong_optimized_side(
    make_pair, sample_everything, team
):
    """Optimized serves, legacy runs as the shadow, the mismatch is recorded, and legacy's answer reaches the caller."""
    pair, log = make_logged_pair(make_pair, legacy={"prs": 4}, optimized={"prs": 5})
    enable_for_teams(name=PAIR, teams=[team], actor="tests", reason="testing the shadow while on", force=True)

    assert pair(team=team) == {"prs": 4}

    assert sorted(log) == ["legacy", "optimized"]
    row = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (row.runs, row.mismatches, row.optimized_served_mismatches) == (1, 1, 1)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served, record.error) == ("mismatch", "optimized", "served legacy after mismatch")


@pytest.mark.django_db
def test_the_order_of_the_two_sides_is_random(make_pair, sample_everything, team):
    """Over 40 sampled calls both orders occur, so neither side always gets the warm cache."""
    random.seed(7)
    pair, log = make_logged_pair(make_pair)

    for _ in range(40):
        pair(team=team)

    orders = Counter(tuple(log[index : index + 2]) for index in range(0, 80, 2))
    assert set(orders) == {("legacy", "optimized"), ("optimized", "legacy")}
    assert sum(orders.values()) == 40
