"""The shadow app on the `rollout` command: evidence columns in `status`, `verify` (with --noise) and `shadow` rates."""

from __future__ import annotations

import getpass
import itertools
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.metrics.synthetic import SHAPES
from flags.models import FlagAudit
from shadow import pairs as registry
from shadow import sampling
from shadow.models import MS_BUCKETS, QUERY_BUCKETS, DailyEvidence, SamplingRate, ShadowRecord
from tests.factories import DailyEvidenceFactory, SamplingRateFactory, TeamFactory
from tests.support.commands import rollout, rollout_failure

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
ACTOR = f"cli:{getpass.getuser()}"
# The line a rate change ends with: when it reaches every process (FLAGS_MAX_STALE_SECONDS defaults to 5).
REACHED = (
    "This process serves the change now; every other process within 5 s (FLAGS_MAX_STALE_SECONDS), "
    "whatever the cache server does.\n"
)


def table(output: str) -> list[list[str]]:
    return [re.split(r" {2,}", line) for line in output.splitlines()]


def histogram(buckets, counts: dict) -> list[int]:
    """A histogram with counts[bound] samples in the bucket whose upper bound is `bound` ("over": above the last)."""
    values = [0] * (len(buckets) + 1)
    for bound, count in counts.items():
        values[len(buckets) if bound == "over" else buckets.index(bound)] = count
    return values


def legacy_total(*, team, n: int = 1) -> dict:
    return {"n": n, "total": n * 2}


def optimized_total(*, team, n: int = 1) -> dict:
    """Agrees with legacy except for n = 7 (a wrong total) and n = 13 (it raises)."""
    if n == 13:
        raise ValueError("boom")
    return {"n": n, "total": n * 2 + (1 if n == 7 else 0)}


def examples(*argument_sets: dict):
    return lambda team: list(argument_sets)


@pytest.fixture
def gate(settings):
    settings.SHADOW_MIN_COMPARISONS = 5
    settings.SHADOW_EVIDENCE_DAYS = 7


# --- status: evidence columns -------------------------------------------------------------


@pytest.fixture
def status_evidence(make_pair, gate, team, other_team):
    """acme: 4 matches, 1 mismatch, p50 legacy over 10 s vs 7.5 ms, 12 vs 2 queries; globex: 6 clean, unmeasured."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)
    DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=5, matches=4, mismatches=1,
        legacy_ms_histogram=histogram(MS_BUCKETS, {"over": 5}),
        optimized_ms_histogram=histogram(MS_BUCKETS, {7.5: 3, 20: 2}),
        legacy_queries_histogram=histogram(QUERY_BUCKETS, {12: 5}),
        optimized_queries_histogram=histogram(QUERY_BUCKETS, {2: 4, 3: 1}),
    )
    DailyEvidenceFactory(pair_name=PAIR, team=other_team, runs=6, matches=6)


def test_status_text_adds_the_evidence_columns_for_a_flag_with_a_pair(status_evidence):
    """The pair's rows carry comparisons, mismatches, errors, timeouts, p50s and code revisions legacy → optimized,
    and ready; others "—"."""
    rows = table(rollout("status"))
    revisions = registry.get(PAIR).revisions()
    code = f"{revisions['legacy']} → {revisions['optimized']}"

    assert rows[0] == [
        "FLAG", "TEAM", "STATE", "SINCE", "BY", "MODE", "COMPARISONS", "MISMATCHES", "ERRORS", "TIMEOUTS",
        "INCONCLUSIVE", "STALE CACHE", "ARGUMENT SETS", "P50 MS", "P50 QUERIES", "REVISION", "READY",
    ]
    assert [row for row in rows if row[0] == PAIR] == [
        [PAIR, "acme", "off", "—", "—", "listed teams only", "5", "1", "0", "0", "0", "0", "0", ">10000 → 7.5", "12 → 2", code, "no"],
        [PAIR, "globex", "off", "—", "—", "listed teams only", "6", "0", "0", "0", "0", "0", "0", "—", "—", code, "yes"],
    ]
    assert [row for row in rows if row[0] == "metrics.key_metrics"][0][6:] == ["—"] * 11


def test_status_json_puts_the_evidence_under_each_team_of_a_paired_flag(status_evidence):
    """--json: an "evidence" object per team row of the paired flag; flags without a pair have none."""
    document = json.loads(rollout("status", "--json"))

    paired = next(flag for flag in document["flags"] if flag["name"] == PAIR)
    assert [team["evidence"] for team in paired["teams"]] == [
        {
            "comparisons": 5, "mismatches": 1, "errors": 0, "timeouts": 0, "inconclusive": 0, "stale_cache": 0, "argument_sets": 0,
            "p50_ms": {"legacy": ">10000", "optimized": 7.5},
            "p50_queries": {"legacy": 12, "optimized": 2},
            "revision": registry.get(PAIR).revisions(),
            "ready": False,
        },
        {
            "comparisons": 6, "mismatches": 0, "errors": 0, "timeouts": 0, "inconclusive": 0, "stale_cache": 0, "argument_sets": 0,
            "p50_ms": None, "p50_queries": None, "revision": registry.get(PAIR).revisions(), "ready": True,
        },
    ]
    unpaired = next(flag for flag in document["flags"] if flag["name"] == "metrics.key_metrics")
    assert set(unpaired["teams"][0]) == {"slug", "name", "state", "since", "by"}


@pytest.mark.parametrize("team_count", [2, 6])
def test_status_adds_two_queries_per_paired_flag_whatever_the_number_of_teams(
    make_pair, gate, team_count, django_assert_num_queries
):
    """Teams, flag rows, audit entries, two evidence queries (days, distinct argument sets) for the one paired
    flag, and the completed rollout plans for the retirement notes: six at any size."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)
    for team in [TeamFactory() for _ in range(team_count)]:
        DailyEvidenceFactory(pair_name=PAIR, team=team, runs=2, matches=2)

    with django_assert_num_queries(6):
        rollout("status")
    with django_assert_num_queries(6):
        rollout("status", "--json")


def test_disable_does_not_read_evidence(make_pair, gate, team):
    """Only `status` asks for the columns: the before/after states printed by disable do not read evidence."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)

    with CaptureQueriesContext(connection) as captured:
        rollout("disable", PAIR, "--team", "acme")

    assert [query["sql"] for query in captured.captured_queries if "shadow_dailyevidence" in query["sql"]] == []


# --- verify -------------------------------------------------------------------------------


def test_verify_runs_each_example_n_times_prints_each_run_and_stores_the_evidence(make_pair, gate, team):
    """Two examples × 2 runs, all matching: exit 0, one line per run, 4 comparisons stored, the evidence summary."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples({"n": 1}, {"n": 2}))

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "2")

    lines = output.splitlines()
    assert lines[0] == f"{PAIR} for acme: 2 examples × 2 runs at a 60000 ms budget, stored as evidence"
    assert lines[1] == "[1] n=1"
    assert re.fullmatch(r"  run 1: match     legacy \d+\.\d\d ms, 0 queries \| optimized \d+\.\d\d ms, 0 queries", lines[2])
    assert [line[:16] for line in lines[2:4] + lines[5:7]] == ["  run 1: match  ", "  run 2: match  "] * 2
    assert lines[4] == "[2] n=2"
    assert lines[7:] == [
        "4 of 4 comparisons matched (0 mismatched, 0 errors, 0 timeouts)",
        "Evidence for acme over the last 7 days: 4 comparisons, 0 mismatches, 0 errors, 0 timeouts; "
        "not ready: 4 of 5 comparisons in the last 7 days",
        "Covered 2 distinct argument sets on acme and 0 of 14 data shapes; not covered: " + ", ".join(SHAPES),
    ]
    assert DailyEvidence.objects.values_list("runs", "matches", "mismatches").get(pair_name=PAIR, team=team) == (
        4, 4, 0,
    )


def test_verify_exits_1_on_a_mismatch_and_prints_the_difference(make_pair, gate, team):
    """A wrong total: exit status 1, each failing run followed by its diff line, the mismatches stored and recorded."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples({"n": 7}))

    error, output = rollout_failure("verify", PAIR, "--team", "acme")

    assert error.returncode == 1
    assert str(error) == "mismatch: 3 of 3 comparisons mismatched"
    lines = output.splitlines()
    assert [line[:19] for line in lines[2:8:2]] == ["  run 1: mismatch  ", "  run 2: mismatch  ", "  run 3: mismatch  "]
    assert lines[3:9:2] == ["      .total: 14 != 15"] * 3
    assert lines[8] == "0 of 3 comparisons matched (3 mismatched, 0 errors, 0 timeouts)"
    assert DailyEvidence.objects.values_list("runs", "mismatches").get(pair_name=PAIR, team=team) == (3, 3)
    assert ShadowRecord.objects.filter(pair_name=PAIR, outcome="mismatch").count() == 3


def test_verify_prints_personal_values_redacted(make_pair, gate, team):
    """A differing title is shown as [redacted] on the command line (the record keeps it unredacted)."""

    def legacy(*, team):
        return {"title": "Fix Alice's login"}

    def optimized(*, team):
        return {"title": "Fix Bob's login"}

    make_pair(PAIR, legacy=legacy, optimized=optimized, examples=examples({}))

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1")

    assert error.returncode == 1
    assert "      .title: [redacted] != [redacted]\n" in output
    assert "Alice" not in output
    assert output.splitlines()[-1] == (
        "Personal values and error messages are redacted as in Sentry; --show-personal prints them"
    )
    assert ShadowRecord.objects.get().diff == [
        {
            "path": ".title",
            "line": '.title: "Fix Alice\'s login" != "Fix Bob\'s login"',
            "redacted": ".title: [redacted] != [redacted]",
            "legacy": '"Fix Alice\'s login"',
            "optimized": '"Fix Bob\'s login"',
            "legacy_redacted": "[redacted]",
            "optimized_redacted": "[redacted]",
        }
    ]


def test_verify_exits_3_on_an_error_and_prints_its_type(make_pair, gate, team):
    """Optimized raising, nothing mismatching: inconclusive (exit status 3), the error's type under the run.

    Its message may quote personal values, so it is shown with --show-personal only (as Sentry gets types only).
    """
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples({"n": 1}, {"n": 13}))

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1")

    assert (error.returncode, str(error)) == (
        3, "inconclusive: 1 of 2 comparisons ended in an error (optimized: ValueError); see the errors above",
    )
    assert "      optimized: ValueError\n" in output
    assert "boom" not in output
    assert "1 of 2 comparisons matched (0 mismatched, 1 errors, 0 timeouts)\n" in output

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1", "--show-personal")

    assert error.returncode == 3
    assert "      optimized: ValueError: boom\n" in output


def test_verify_with_enough_clean_runs_says_ready(make_pair, gate, team):
    """Five clean comparisons meet the gate's minimum: the summary says ready."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples({"n": 1}))

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "5")

    assert output.splitlines()[-2] == (
        "Evidence for acme over the last 7 days: 5 comparisons, 0 mismatches, 0 errors, 0 timeouts; ready"
    )


def test_verify_noise_lists_a_field_that_differs_between_two_legacy_runs(make_pair, gate, team):
    """--noise: a legacy whose rows carry a value that changes every call (as a timestamp does) is named by pattern."""
    clock = itertools.count()

    def legacy(*, team, n: int):
        return {"rows": [{"id": 1, "generated": next(clock)}, {"id": 2, "generated": next(clock)}], "total": n}

    def optimized(*, team, n: int):
        return {"rows": [{"id": 1, "generated": 0}, {"id": 2, "generated": 0}], "total": n}

    make_pair(PAIR, legacy=legacy, optimized=optimized, examples=examples({"n": 1}))

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--noise")

    assert output.splitlines()[:3] == [
        "Noise check: legacy against itself, 3 runs, 3 finished, nothing stored",
        "Fields that differ between two legacy runs (non-deterministic; add them as IgnoreRule paths):",
        "  .rows[*].generated  (in 3 of 3 runs)",
    ]
    assert error.returncode == 1
    assert DailyEvidence.objects.values_list("runs", flat=True).get(pair_name=PAIR, team=team) == 3


def test_verify_noise_says_so_when_legacy_is_deterministic(make_pair, gate, team):
    """--noise with a deterministic legacy: no field listed, then the usual verification."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples({"n": 1}))

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "2", "--noise")

    assert output.splitlines()[:3] == [
        "Noise check: legacy against itself, 2 runs, 2 finished, nothing stored",
        "No field differs between two legacy runs",
        f"{PAIR} for acme: 1 example × 2 runs at a 60000 ms budget, stored as evidence",
    ]
    assert DailyEvidence.objects.values_list("runs", flat=True).get(pair_name=PAIR, team=team) == 2


def test_verify_of_a_pair_without_examples_exits_2(make_pair, gate, team):
    """A pair without examples cannot be verified on demand: exit status 2 and how to fix it."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)

    error, _ = rollout_failure("verify", PAIR, "--team", "acme")

    assert error.returncode == 2
    assert str(error).startswith(f"{PAIR} has no examples to verify with")
    assert DailyEvidence.objects.count() == 0


def test_verify_with_no_examples_for_the_team_exits_2(make_pair, gate, team):
    """examples(team) returning nothing: exit status 2."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples())

    error, _ = rollout_failure("verify", PAIR, "--team", "acme")

    assert (error.returncode, str(error)) == (2, f"{PAIR} has no examples for team acme")


def test_verify_needs_at_least_one_run(make_pair, gate, team):
    """--runs 0: exit status 2, nothing compared."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples({"n": 1}))

    error, _ = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "0")

    assert (error.returncode, str(error)) == (2, "--runs must be at least 1, got 0")
    assert DailyEvidence.objects.count() == 0


# --- shadow: sampling rates ---------------------------------------------------------------


@pytest.fixture
def rates_pair(make_pair, settings):
    settings.SHADOW_DEFAULT_RATE = 0.01
    return make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)


def test_shadow_rate_sets_the_rate_for_all_teams_at_once(rates_pair, team):
    """--rate 0.25: stored for all teams by the cli actor, and the (warm) cached rate changes at once."""
    assert sampling.rate_for(PAIR, team) == 0.01

    output = rollout("shadow", PAIR, "--rate", "0.25")

    assert output == f"{PAIR}: sampling rate for all teams set to 0.25 (was 0.01)\n" + REACHED
    assert list(SamplingRate.objects.values_list("team", "rate", "updated_by")) == [(None, Decimal("0.2500"), ACTOR)]
    assert sampling.rate_for(PAIR, team) == 0.25


def test_shadow_rate_for_one_team_leaves_the_others_alone(rates_pair, team, other_team):
    """--team acme --rate 1: acme is sampled on every call, globex keeps the default."""
    output = rollout("shadow", PAIR, "--team", "acme", "--rate", "1")

    assert output == f"{PAIR}: sampling rate for acme set to 1 (was 0.01)\n" + REACHED
    assert (sampling.rate_for(PAIR, team), sampling.rate_for(PAIR, other_team)) == (1.0, 0.01)
    assert sampling.should_sample(PAIR, team) is True


def test_shadow_without_rate_lists_the_stored_rates(rates_pair, team, other_team):
    """No --rate: the fallback for teams without their own rate, then every stored rate, all teams first."""
    rollout("shadow", PAIR, "--team", "globex", "--rate", "0.5")
    rollout("shadow", PAIR, "--rate", "0.1")
    rollout("shadow", PAIR, "--team", "acme", "--rate", "0")

    rows = table(rollout("shadow", PAIR))

    assert rows[0] == [f"{PAIR}: teams without a rate of their own are sampled at 0.1 (the rate for all teams)"]
    assert rows[1] == ["SCOPE", "RATE", "SET BY", "UPDATED"]
    assert [row[:3] for row in rows[2:]] == [["all teams", "0.1", ACTOR], ["acme", "0", ACTOR], ["globex", "0.5", ACTOR]]


def test_shadow_without_any_stored_rate_names_the_default(rates_pair):
    """Nothing stored: the setting's rate, and no table."""
    assert rollout("shadow", PAIR) == (
        f"{PAIR}: teams without a rate of their own are sampled at 0.01 (SHADOW_DEFAULT_RATE)\n"
    )


def test_shadow_for_one_team_says_where_its_rate_comes_from(rates_pair, team, other_team):
    """--team without --rate: the team's effective rate and its source."""
    SamplingRateFactory(pair_name=PAIR, team=None, rate=Decimal("0.2"))
    SamplingRateFactory(pair_name=PAIR, team=team, rate=Decimal("0.75"))

    assert rollout("shadow", PAIR, "--team", "acme") == f"{PAIR}: acme is sampled at 0.75 (its own rate)\n"
    assert rollout("shadow", PAIR, "--team", "globex") == f"{PAIR}: globex is sampled at 0.2 (the rate for all teams)\n"


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("2", "Sampling rate must be a number from 0 to 1, got '2'"),
        ("-0.1", "Sampling rate must be a number from 0 to 1, got '-0.1'"),
        ("abc", "Sampling rate must be a number from 0 to 1, got 'abc'"),
        ("nan", "Sampling rate must be a number from 0 to 1, got 'nan'"),
        ("0.00001", "Sampling rate has at most 4 decimal places, got '0.00001'"),
    ],
)
def test_a_bad_rate_exits_2_and_stores_nothing(rates_pair, rate, message):
    """Out of range, not a number, or finer than the stored precision: exit status 2, nothing stored or audited."""
    error, _ = rollout_failure("shadow", PAIR, "--rate", rate)

    assert (error.returncode, str(error)) == (2, message)
    assert SamplingRate.objects.count() == 0
    assert FlagAudit.objects.count() == 0


# --- unknown names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "no.such.pair", "--team", "acme"],
        ["shadow", "no.such.pair"],
        ["shadow", "no.such.pair", "--rate", "0.5"],
    ],
)
def test_an_unknown_pair_exits_2_listing_the_registered_pairs(make_pair, team, args):
    """The message names every registered pair."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)
    make_pair("test.other_pair", legacy=legacy_total, optimized=optimized_total)

    error, _ = rollout_failure(*args)

    assert (error.returncode, str(error)) == (
        2, "Unknown pair 'no.such.pair'; registered pairs: test.other_pair, test.pair",
    )


@pytest.mark.parametrize(
    "args",
    [
        ["verify", PAIR, "--team", "acmee"],
        ["shadow", PAIR, "--team", "acmee"],
        ["shadow", PAIR, "--team", "acmee", "--rate", "0.5"],
    ],
)
def test_an_unknown_team_exits_2_listing_the_teams(make_pair, team, other_team, args):
    """The same message as the other rollout sub-commands: the slug, a guess, the valid slugs."""
    make_pair(PAIR, legacy=legacy_total, optimized=optimized_total, examples=examples({"n": 1}))

    error, _ = rollout_failure(*args)

    assert (error.returncode, str(error)) == (2, "Unknown team 'acmee'; did you mean acme?; teams: acme, globex")
    assert (DailyEvidence.objects.count(), SamplingRate.objects.count()) == (0, 0)
