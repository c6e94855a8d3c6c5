"""`rollout verify` verdicts: an exit status per verdict, its own time budget, an honest noise check, redaction.

    0  every comparison matched
    1  at least one mismatched (a mismatch wins over anything else)
    2  usage error
    3  inconclusive: nothing mismatched, but some comparisons could not decide (timeout, error, row lock)
"""

from __future__ import annotations

import argparse
import datetime as dt

import psycopg
import pytest
from django.db import connection

from apps.integrations.services.copilot_sync.records import CopilotUsageRecord
from flags.management.commands.rollout import Command as RolloutCommand
from shadow import cli
from shadow import pairs as registry
from shadow.checks import check_shadow_settings
from shadow.diff import CompareRules
from shadow.judging import compare_isolated
from shadow.models import DailyEvidence, ShadowRecord
from shadow.outcome import NONE, Comparison, SideRun
from tests.support.commands import rollout, rollout_failure
from tests.support.processes import database_url

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
# A transaction-level advisory lock key the test pair's optimized side waits for.
LOCK_KEY = 4_242_001


def examples(*argument_sets: dict):
    return lambda team: list(argument_sets)


def total(*, team, n: int = 1) -> dict:
    return {"n": n, "total": n * 2}


def wrong_for_7(*, team, n: int = 1) -> dict:
    return {"n": n, "total": n * 2 + (1 if n == 7 else 0)}


def wrong_for_7_raises_for_13(*, team, n: int = 1) -> dict:
    if n == 13:
        raise ValueError("boom for 13")
    return wrong_for_7(team=team, n=n)


def sleep(seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


def slow_but_for_1(*, team, n: int) -> dict:
    """A legacy side that takes 0.25 s in SQL, except for n = 1 (a small export next to four big ones)."""
    if n != 1:
        sleep(0.25)
    return total(team=team, n=n)


FIVE = examples(*({"n": n} for n in range(1, 6)))


# --- 0, 1, 3 and 2 -------------------------------------------------------------------------


def test_every_comparison_matching_exits_0(make_pair, team):
    """All match: the command returns normally (exit status 0), no verdict error."""
    make_pair(PAIR, legacy=total, optimized=total, examples=examples({"n": 1}, {"n": 2}))

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "2")

    assert "4 of 4 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in output.splitlines()


def test_a_mismatch_exits_1_even_beside_errors_and_timeouts(make_pair, team):
    """n = 7 mismatches, n = 13 raises: the mismatch decides (1), the other failure is named after it."""
    make_pair(
        PAIR, legacy=total, optimized=wrong_for_7_raises_for_13, examples=examples({"n": 1}, {"n": 7}, {"n": 13})
    )

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1")

    assert (error.returncode, str(error)) == (
        cli.MISMATCHED,
        "mismatch: 1 of 3 comparisons mismatched; besides, 1 of 3 comparisons ended in an error "
        "(optimized: ValueError)",
    )
    assert "1 of 3 comparisons matched (1 mismatched, 1 errors, 0 timeouts)" in output.splitlines()


def test_both_sides_failing_differently_is_inconclusive(make_pair, team):
    """Legacy raises KeyError, optimized ValueError: an error, not a mismatch, so exit status 3."""

    def legacy(*, team):
        raise KeyError("alice")

    def optimized(*, team):
        raise ValueError("bob")

    make_pair(PAIR, legacy=legacy, optimized=optimized, examples=examples({}))

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1")

    assert (error.returncode, str(error)) == (
        cli.INCONCLUSIVE,
        "inconclusive: 1 of 1 comparisons ended in an error (legacy: KeyError; optimized: ValueError); "
        "see the errors above",
    )
    assert "      legacy: KeyError; optimized: ValueError\n" in output
    assert "alice" not in output and "bob" not in output


def test_both_sides_failing_alike_is_a_match(make_pair, team):
    """The same error on both sides is agreement (both refuse the input): exit status 0."""

    def refuses(*, team):
        raise ValueError("no such range")

    make_pair(PAIR, legacy=refuses, optimized=refuses, examples=examples({}))

    assert "1 of 1 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in rollout(
        "verify", PAIR, "--team", "acme", "--runs", "1"
    ).splitlines()


def test_a_side_blocked_by_a_lock_is_inconclusive(make_pair, team, settings):
    """Another session holds a lock the optimized side needs: it gives up after SHADOW_LOCK_TIMEOUT_MS, exit 3."""
    settings.SHADOW_LOCK_TIMEOUT_MS = 50

    def waits_for_the_lock(*, team):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        return 1

    make_pair(PAIR, legacy=lambda *, team: 1, optimized=waits_for_the_lock, examples=examples({}))

    with psycopg.connect(database_url()) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "2")
        other.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])

    assert (error.returncode, str(error)) == (
        cli.INCONCLUSIVE,
        "inconclusive: 2 of 2 comparisons found a row locked by another transaction; "
        "rerun when nothing else writes those rows",
    )
    assert "0 of 2 comparisons matched (0 mismatched, 0 errors, 0 timeouts, 2 inconclusive)" in output.splitlines()
    assert DailyEvidence.objects.values_list("runs", "inconclusive").get(pair_name=PAIR, team=team) == (2, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "0"], "--budget must be from 1 to 3600000 ms, got 0"),
        (["--budget", "3600001"], "--budget must be from 1 to 3600000 ms, got 3600001"),
        (["--runs", "0"], "--runs must be at least 1, got 0"),
    ],
)
def test_bad_input_exits_2_and_compares_nothing(make_pair, team, args, message):
    """A budget outside 1 ms to an hour, like a run count below 1, is a usage error."""
    make_pair(PAIR, legacy=total, optimized=total, examples=examples({"n": 1}))

    error, _ = rollout_failure("verify", PAIR, "--team", "acme", *args)

    assert (error.returncode, str(error)) == (cli.USAGE_ERROR, message)
    assert DailyEvidence.objects.count() == 0


def test_the_exit_statuses_are_named_and_in_the_help():
    """0, 1, 2, 3 are constants, and `rollout verify --help` lists each with its meaning."""
    assert (cli.MATCHED, cli.MISMATCHED, cli.USAGE_ERROR, cli.INCONCLUSIVE) == (0, 1, 2, 3)
    parser = RolloutCommand().create_parser("manage.py", "rollout")
    (subparsers,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]

    text = subparsers.choices["verify"].format_help()

    assert "  0  every comparison matched\n" in text
    assert "  1  at least one comparison mismatched" in text
    assert "  2  usage error" in text
    assert "  3  inconclusive: nothing mismatched" in text
    assert "--budget MS" in text and "--show-personal" in text


def judged(outcome: str, *, legacy: SideRun | None = None, optimized: SideRun | None = None) -> Comparison:
    return Comparison(
        pair=PAIR, team_id=1, team_slug="acme", served=NONE, legacy=legacy or SideRun("legacy"),
        optimized=optimized or SideRun("optimized"), outcome=outcome,
    )


def test_the_verdict_names_every_kind_of_undecided_comparison():
    """Timeouts by side, errors by type, row locks: one clause each, then what to do about each."""
    tally = cli.Tally(budget_ms=2000)
    for comparison in [
        judged("match"),
        judged("timeout", legacy=SideRun("legacy", timed_out=True)),
        judged("timeout", legacy=SideRun("legacy", timed_out=True), optimized=SideRun("optimized", timed_out=True)),
        judged("timeout", optimized=SideRun("optimized", timed_out=True)),
        judged("error", optimized=SideRun("optimized", error=ValueError("alice"))),
        judged("error", optimized=SideRun("optimized", error=ValueError("bob"))),
        judged("inconclusive", optimized=SideRun("optimized", error=RuntimeError("lock"), blocked=True)),
    ]:
        tally.add(comparison)

    assert tally.summary() == "1 of 7 comparisons matched (0 mismatched, 2 errors, 3 timeouts, 1 inconclusive)"
    assert tally.verdict() == (
        cli.INCONCLUSIVE,
        "inconclusive: 3 of 7 comparisons timed out (legacy 2, optimized 2) at the 2000 ms budget, "
        "2 of 7 comparisons ended in an error (optimized: ValueError ×2), "
        "1 of 7 comparisons found a row locked by another transaction; "
        "rerun with a larger --budget; see the errors above; rerun when nothing else writes those rows",
    )

    both = cli.Tally(budget_ms=50)
    both.add(judged("timeout", legacy=SideRun("legacy", timed_out=True), optimized=SideRun("optimized", timed_out=True)))
    assert both.verdict()[1] == (
        "inconclusive: 1 of 1 comparisons timed out (legacy and optimized) at the 50 ms budget; "
        "rerun with a larger --budget"
    )

    tally.add(judged("mismatch"))
    assert tally.verdict()[0] == cli.MISMATCHED
    assert cli.Tally(budget_ms=1).verdict()[0] == cli.MATCHED


# --- the on-demand time budget ---------------------------------------------------------------


def test_a_slow_legacy_times_out_at_a_small_budget_and_matches_at_a_large_one(make_pair, team):
    """Four of five examples take legacy 0.25 s: at --budget 50 they time out (3, with the reason), at 5000 all match."""
    pair = make_pair(PAIR, legacy=slow_but_for_1, optimized=total, examples=FIVE)

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1", "--budget", "50")

    assert (error.returncode, str(error)) == (
        cli.INCONCLUSIVE,
        "inconclusive: 4 of 5 comparisons timed out (legacy) at the 50 ms budget; rerun with a larger --budget",
    )
    lines = output.splitlines()
    assert lines[0] == f"{PAIR} for acme: 5 examples × 1 run at a 50 ms budget, stored as evidence"
    runs = [line for line in lines if line.startswith("  run ")]
    assert [line[:17] for line in runs] == ["  run 1: match   "] + ["  run 1: timeout "] * 4
    assert runs[1].startswith("  run 1: timeout   legacy timed out after ")
    assert lines[lines.index(runs[1]) + 1] == "      legacy: timed out"
    assert "1 of 5 comparisons matched (0 mismatched, 0 errors, 4 timeouts)" in lines
    assert DailyEvidence.objects.values_list("runs", "timeouts").get(pair_name=PAIR, team=team) == (5, 4)

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "1", "--budget", "5000")

    assert "5 of 5 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in output.splitlines()
    # The budget was the run's own: the registered pair keeps its budget for sampled calls.
    assert registry.get(PAIR) is pair and pair.time_budget_ms is None


def test_the_default_budget_is_shadow_verify_budget_ms(make_pair, team, settings):
    """Without --budget the runs get SHADOW_VERIFY_BUDGET_MS, not the sampled calls' SHADOW_TIME_BUDGET_MS."""
    settings.SHADOW_TIME_BUDGET_MS = 50
    settings.SHADOW_VERIFY_BUDGET_MS = 5000
    make_pair(PAIR, legacy=slow_but_for_1, optimized=total, examples=examples({"n": 2}))

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "1")

    assert output.splitlines()[0] == f"{PAIR} for acme: 1 example × 1 run at a 5000 ms budget, stored as evidence"
    assert "1 of 1 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in output.splitlines()

    settings.SHADOW_VERIFY_BUDGET_MS = 50
    error, _ = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1")

    assert (error.returncode, str(error)) == (
        cli.INCONCLUSIVE,
        "inconclusive: 1 of 1 comparisons timed out (legacy) at the 50 ms budget; rerun with a larger --budget",
    )


def test_a_pair_with_a_larger_budget_of_its_own_keeps_it(make_pair, team, settings):
    """On demand is never stricter than sampling: a pair's own larger budget beats SHADOW_VERIFY_BUDGET_MS."""
    settings.SHADOW_VERIFY_BUDGET_MS = 1000
    make_pair(PAIR, legacy=total, optimized=total, examples=examples({"n": 1}), time_budget_ms=90_000)

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "1")

    assert "at a 90000 ms budget" in output.splitlines()[0]


def test_shadow_verify_budget_ms_is_checked_at_start_up(settings):
    """SHADOW_VERIFY_BUDGET_MS from 1 ms to an hour, like the other budgets."""
    assert check_shadow_settings() == []
    settings.SHADOW_VERIFY_BUDGET_MS = 0
    assert [error.msg for error in check_shadow_settings()] == [
        "SHADOW_VERIFY_BUDGET_MS must be a number from 1 to 3600000, got 0"
    ]
    settings.SHADOW_VERIFY_BUDGET_MS = "60000"
    assert [error.id for error in check_shadow_settings()] == ["shadow.E003"]


# --- the noise check ---------------------------------------------------------------------------


def test_the_noise_check_says_how_many_legacy_runs_finished(make_pair, team):
    """1 of 5 legacy-against-legacy runs finished: it says so, and does not claim that no field differs."""
    make_pair(PAIR, legacy=slow_but_for_1, optimized=total, examples=FIVE)

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1", "--budget", "50", "--noise")

    assert output.splitlines()[:3] == [
        "Noise check: legacy against itself, 5 runs, 1 finished, nothing stored",
        "No field differs in the 1 of 5 runs that finished (4 timed out: rerun with a larger --budget)",
        f"{PAIR} for acme: 5 examples × 1 run at a 50 ms budget, stored as evidence",
    ]
    assert "No field differs between two legacy runs" not in output
    assert error.returncode == cli.INCONCLUSIVE


def test_the_noise_check_uses_the_budget_too(make_pair, team):
    """The same check at --budget 5000: every run finishes, and then no field differs, unqualified; exit 0."""
    make_pair(PAIR, legacy=slow_but_for_1, optimized=total, examples=FIVE)

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "1", "--budget", "5000", "--noise")

    assert output.splitlines()[:2] == [
        "Noise check: legacy against itself, 5 runs, 5 finished, nothing stored",
        "No field differs between two legacy runs",
    ]


def test_noise_found_in_some_finished_runs_is_counted_against_those(make_pair, team):
    """A field that differs in the one finished run: listed as in 1 of 1 runs, with the unfinished ones named."""
    calls = iter(range(1000))

    def legacy(*, team, n: int):
        if n != 1:
            sleep(0.25)
        return {"n": n, "generated": next(calls)}

    make_pair(PAIR, legacy=legacy, optimized=legacy, examples=examples({"n": 1}, {"n": 2}))

    _, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1", "--budget", "50", "--noise")

    assert output.splitlines()[:3] == [
        "Noise check: legacy against itself, 2 runs, 1 finished, nothing stored",
        "Fields that differ between two legacy runs in the 1 of 2 runs that finished (1 timed out: rerun with a "
        "larger --budget) (non-deterministic; add them as IgnoreRule paths):",
        "  .generated  (in 1 of 1 runs)",
    ]


def test_no_legacy_run_finishing_says_nothing_is_known(make_pair, team):
    """Every legacy run timed out: no claim about noise at all."""
    make_pair(PAIR, legacy=slow_but_for_1, optimized=total, examples=examples({"n": 2}))

    _, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "2", "--budget", "50", "--noise")

    assert output.splitlines()[:2] == [
        "Noise check: legacy against itself, 2 runs, 0 finished, nothing stored",
        "No legacy run finished (2 timed out: rerun with a larger --budget): nothing is known about noise",
    ]


# --- personal fields ---------------------------------------------------------------------------

LOGINS = ("octocat", "hubot")


def records() -> list[CopilotUsageRecord]:
    return [CopilotUsageRecord(login=login, day=dt.date(2026, 11, 23), shown=10, accepted=4) for login in LOGINS]


def by_handle(*, team, records: list) -> list[dict]:
    return [{"handle": record.login, "accepted": record.accepted} for record in records]


def by_wrong_handle(*, team, records: list) -> list[dict]:
    return [{"handle": record.login.upper(), "accepted": record.accepted} for record in records]


@pytest.fixture
def personal_pair(make_pair):
    """A pair whose rules make "handle" personal, mismatching on it, with Copilot records as its example."""
    return make_pair(
        PAIR, legacy=by_handle, optimized=by_wrong_handle, rules=CompareRules(personal_fields=frozenset({"handle"})),
        examples=lambda team: [{"records": records()}],
    )


def test_personal_fields_are_redacted_by_default(personal_pair, team):
    """The differing handles are [redacted] exactly as in Comparison.diff (Sentry's), and no login is printed."""
    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1")

    assert error.returncode == cli.MISMATCHED
    lines = output.splitlines()
    assert lines[1] == (
        "[1] records=[{'login': [redacted], 'day': 2026-11-23, 'shown': 10, 'accepted': 4}, "
        "{'login': [redacted], 'day': 2026-11-23, 'shown': 10, 'accepted': 4}] (2 items)"
    )
    assert lines[3:5] == ["      [0].handle: [redacted] != [redacted]", "      [1].handle: [redacted] != [redacted]"]
    assert lines[-1] == "Personal values and error messages are redacted as in Sentry; --show-personal prints them"
    assert not any(login in output.lower() for login in LOGINS)
    # The stored record keeps the values for staff.
    assert [item["line"] for item in ShadowRecord.objects.get().diff] == [
        "[0].handle: 'octocat' != 'OCTOCAT'", "[1].handle: 'hubot' != 'HUBOT'",
    ]


def test_show_personal_prints_them(personal_pair, team):
    """--show-personal: the logins in the arguments and the handles in the differences, in full; no note."""
    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1", "--show-personal")

    assert error.returncode == cli.MISMATCHED
    lines = output.splitlines()
    assert lines[1].startswith("[1] records=[{'login': 'octocat', 'day': 2026-11-23, 'shown': 10, 'accepted': 4}, ")
    assert lines[3:5] == ["      [0].handle: 'octocat' != 'OCTOCAT'", "      [1].handle: 'hubot' != 'HUBOT'"]
    assert "--show-personal prints them" not in output


def test_error_messages_and_noise_failures_are_redacted_by_default(make_pair, team):
    """A side whose error message quotes a login: its type only, in the runs and in the noise check's failures."""

    def legacy(*, team, records: list):
        raise LookupError(f"no member with login {records[0].login}")

    make_pair(PAIR, legacy=legacy, optimized=by_handle, examples=lambda team: [{"records": records()}])

    error, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1", "--noise")

    assert error.returncode == cli.INCONCLUSIVE
    assert "  legacy run failed: the same error in both runs (legacy: LookupError; optimized: LookupError)" in (
        output.splitlines()
    )
    assert "      legacy: LookupError" in output.splitlines()
    assert "octocat" not in output and "octocat" not in str(error)

    _, output = rollout_failure("verify", PAIR, "--team", "acme", "--runs", "1", "--noise", "--show-personal")

    assert "      legacy: LookupError: no member with login octocat" in output.splitlines()


def test_a_personal_argument_name_is_redacted(make_pair, team):
    """An example argument named like a personal field (login=…) prints as [redacted]."""

    def side(*, team, login: str, n: int) -> int:
        return n

    make_pair(PAIR, legacy=side, optimized=side, examples=examples({"login": "octocat", "n": 3}))

    output = rollout("verify", PAIR, "--team", "acme", "--runs", "1")

    assert output.splitlines()[1] == "[1] login=[redacted], n=3"


def test_redaction_follows_the_comparisons_diff(make_pair, team):
    """What verify prints is what Comparison.diff (Sentry's rendering) gives, line for line."""
    pair = make_pair(
        PAIR, legacy=by_handle, optimized=by_wrong_handle, rules=CompareRules(personal_fields=frozenset({"handle"})),
    )
    comparison = compare_isolated(pair, {"team": team, "records": records()}, served=NONE)
    redaction = cli.Redaction(show=False, personal_fields=pair.rules.personal_fields)

    assert redaction.differences(comparison) == comparison.diff
    assert redaction.hid is True
    assert cli.Redaction(show=True, personal_fields=frozenset()).differences(comparison) == (
        comparison.result.lines(redact=False)
    )
