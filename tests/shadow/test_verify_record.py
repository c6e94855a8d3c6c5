"""`rollout verify PAIR --record ID`: compare both sides again on the call a stored record was made on.

The record's team and its arguments (decoded from the record's JSON: dates, Decimals) are replayed
`--runs` times through the same path, verdicts and redaction as `--team`: 0 matched, 1 mismatch,
2 usage error, 3 inconclusive.
"""

from __future__ import annotations

import argparse
import datetime as dt
from decimal import Decimal

import pytest

import shadow
from flags.management.commands.rollout import Command as RolloutCommand
from shadow import cli
from shadow.models import DailyEvidence, ShadowRecord
from tests.factories import ShadowRecordFactory
from tests.support.commands import rollout, rollout_failure

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
ARGUMENTS = {"start": dt.date(2024, 5, 1), "threshold": Decimal("0.50"), "author_name": "Ada Lovelace", "n": 7}


class Totals:
    """A pair whose optimized side counts one too many for n = 7 until fixed; both sides log what they were given."""

    def __init__(self):
        self.fixed = False
        self.calls: list[dict] = []

    def legacy(self, *, team, n: int, **arguments) -> dict:
        self.calls.append({"n": n, **arguments})
        return {"author_name": arguments.get("author_name"), "total": n * 2}

    def optimized(self, *, team, n: int, **arguments) -> dict:
        self.calls.append({"n": n, **arguments})
        wrong = n == 7 and not self.fixed
        return {"author_name": (arguments.get("author_name") or "").upper() if wrong else arguments.get("author_name"),
                "total": n * 2 + int(wrong)}


@pytest.fixture
def totals(make_pair) -> Totals:
    source = Totals()
    make_pair(PAIR, legacy=source.legacy, optimized=source.optimized)
    return source


@pytest.fixture
def record(totals, team) -> ShadowRecord:
    """The mismatch a comparison of n = 7 stored."""
    assert shadow.compare(PAIR, team=team, **ARGUMENTS).outcome == "mismatch"
    totals.calls.clear()
    return ShadowRecord.objects.get()


def test_a_record_whose_difference_is_still_there_replays_to_exit_1_with_the_same_difference(record, team):
    """The recorded differences first, then each run's, redacted alike; the comparisons are stored as evidence."""
    error, output = rollout_failure("verify", PAIR, "--record", str(record.pk), "--runs", "2")

    assert (error.returncode, str(error)) == (cli.MISMATCHED, "mismatch: 2 of 2 comparisons mismatched")
    lines = output.splitlines()
    assert lines[0] == f"{PAIR} for acme: record {record.pk}'s call × 2 runs at a 60000 ms budget, stored as evidence"
    assert lines[1].startswith("Recorded ") and lines[1].endswith(": mismatch")
    assert record.differences(personal=False) == [".author_name: [redacted] != [redacted]", ".total: 14 != 15"]
    for line in record.differences(personal=False):
        # Once as recorded, once per run.
        assert lines.count(f"      {line}") == 3
    assert "[1] author_name=[redacted], n=7, start=2024-05-01, threshold=0.50" in lines
    assert "Ada" not in output and "ADA" not in output
    assert lines[-1] == "Personal values and error messages are redacted as in Sentry; --show-personal prints them"
    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).mismatches == 3
    assert ShadowRecord.objects.count() == 3


def test_show_personal_prints_the_recorded_and_replayed_values_in_full(record):
    _error, output = rollout_failure("verify", PAIR, "--record", str(record.pk), "--runs", "1", "--show-personal")

    assert output.splitlines().count("      .author_name: 'Ada Lovelace' != 'ADA LOVELACE'") == 2
    assert "[1] author_name=Ada Lovelace, n=7, start=2024-05-01, threshold=0.50" in output


def test_once_fixed_the_record_replays_to_exit_0(record, totals):
    totals.fixed = True

    output = rollout("verify", PAIR, "--record", str(record.pk))

    assert "3 of 3 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in output.splitlines()
    assert ShadowRecord.objects.count() == 1


def test_dates_and_decimals_round_trip_through_the_record(record, totals):
    """Each side gets the very values of the recorded call (a date, a Decimal), not their JSON forms."""
    totals.fixed = True

    rollout("verify", PAIR, "--record", str(record.pk), "--runs", "1")

    assert record.call_arguments["start"] == {"__date__": "2024-05-01"}
    assert totals.calls == [ARGUMENTS, ARGUMENTS]
    assert [type(call["start"]) for call in totals.calls] == [dt.date, dt.date]
    assert [type(call["threshold"]) for call in totals.calls] == [Decimal, Decimal]


def test_an_unknown_record_exits_2(totals):
    error, output = rollout_failure("verify", PAIR, "--record", "999999")

    assert (error.returncode, str(error)) == (cli.USAGE_ERROR, "No record 999999: see the shadow records in the admin")
    assert output == ""
    assert totals.calls == []


def test_a_record_of_another_pair_exits_2(totals, team):
    other = ShadowRecordFactory(pair_name="test.other", team=team)

    error, _ = rollout_failure("verify", PAIR, "--record", str(other.pk))

    assert (error.returncode, str(error)) == (cli.USAGE_ERROR, f"Record {other.pk} is for test.other, not {PAIR}")
    assert totals.calls == []


def test_a_record_whose_argument_was_stored_by_type_only_exits_2(totals, team):
    """describe_call keeps an argument it cannot encode as its type's name: replaying that would compare another call."""
    record = ShadowRecordFactory(pair_name=PAIR, team=team, call_arguments={"team_id": team.pk, "n": 7, "report": "<Report>"})

    error, _ = rollout_failure("verify", PAIR, "--record", str(record.pk))

    assert (error.returncode, str(error)) == (
        cli.USAGE_ERROR,
        f"Record {record.pk}'s call cannot be replayed: report stored by type only (not encodable by shadow.codec)",
    )
    assert totals.calls == []


@pytest.mark.parametrize("option", ["--backfill", "--examples-only"])
def test_options_that_choose_argument_sets_exit_2_with_record(record, totals, option):
    error, _ = rollout_failure("verify", PAIR, "--record", str(record.pk), option)

    assert (error.returncode, str(error)) == (
        cli.USAGE_ERROR,
        "--backfill and --examples-only choose a team's argument sets; --record replays the recorded call only",
    )
    assert totals.calls == []


@pytest.mark.parametrize("other", [["--team", "acme"], ["--generated", "2"]])
def test_record_cannot_be_combined_with_team_or_generated(record, other):
    """On the command line argparse refuses it with exit status 2; through call_command, as a CommandError."""
    command = RolloutCommand()
    command._called_from_command_line = True
    parser = command.create_parser("manage.py", "rollout")

    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["verify", PAIR, "--record", str(record.pk), *other])
    error, _ = rollout_failure("verify", PAIR, "--record", str(record.pk), *other)

    assert exited.value.code == cli.USAGE_ERROR
    assert str(error) == f"Error: argument {other[0]}: not allowed with argument --record"


def test_noise_with_record_runs_legacy_against_itself_on_the_recorded_call(record, totals):
    totals.fixed = True

    output = rollout("verify", PAIR, "--record", str(record.pk), "--runs", "1", "--noise")

    assert "No field differs between two legacy runs" in output.splitlines()


def test_the_help_names_record():
    parser = RolloutCommand().create_parser("manage.py", "rollout")
    (subparsers,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    text = subparsers.choices["verify"].format_help()

    assert "--record ID" in text
    assert "replays one stored record's call" in text
