"""The shadow app's operator surface on the `rollout` command, and its evidence columns in `rollout status`.

    rollout verify PAIR --team SLUG [--runs N] [--budget MS] [--noise] [--backfill] [--show-personal]
    rollout verify PAIR --generated N [--runs N] [--budget MS] [--show-personal]
    rollout verify PAIR --record ID [--runs N] [--budget MS] [--noise] [--show-personal]
    rollout shadow PAIR [--rate R [--reason TEXT]] [--team SLUG]
    rollout plan PAIR [--dry-run] [--create] [--teams SLUG,… | --all-teams] [--step N] [--bake MINUTES] …
        [(--start | --pause | --resume | --abort) --reason TEXT]
    rollout plan --list

Hooked into flags through flags.extensions (see register(), called from
ShadowConfig.ready), so flags never imports this package; so are the
retirement notes of `rollout status`. Exit status:
MATCHED (0) done, every comparison matched; MISMATCHED (1) at least one
comparison did not match (verify; a mismatch wins over anything else), or
the pair has no rollout plan (plan); USAGE_ERROR (2) bad input (unknown pair, team or record,
a bad rate, run count, budget or --generated count, a pair without examples, a bad plan
value, a plan state change without a reason or impossible from the plan's status);
INCONCLUSIVE (3) nothing mismatched, but some comparisons could not decide (a timeout, an
error, a side blocked by a row lock), the last line says why (verify).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.teams.models import Team
from flags import extensions
from flags.audit import cli_actor
from flags.services import reach_note, resolve_teams
from flags.status import flag_statuses, format_table, format_time
from shadow import autopilot, conf, pairs, sampling
from shadow.codec import arguments_hash
from shadow.diff import DEFAULT_PERSONAL_FIELDS, describe_arguments, plural
from shadow.errors import ShadowError, UnknownPairError
from shadow.evidence import Evidence, evidence_for, evidence_row
from shadow.judging import compare_isolated
from shadow.models import PlanDecision, RolloutPlan, SamplingRate, ShadowRecord
from shadow.outcome import NONE, Comparison, SideRun, error_kinds
from shadow.pairs import Pair
from shadow.reporters import report_comparison
from shadow.sampling import format_rate

# Exit statuses (`rollout verify` uses all four, `rollout shadow` 0 and 2, `rollout plan` 0 to 2).
MATCHED = 0
MISMATCHED = 1
# `rollout plan`: understood, but there is nothing to act on (the pair has no plan).
REFUSED = 1
USAGE_ERROR = 2
INCONCLUSIVE = 3
DEFAULT_RUNS = 3
# --generated: each synthetic team costs a few hundred inserts and every argument set run on both sides.
MAX_GENERATED = 500
# --budget, like SHADOW_VERIFY_BUDGET_MS (shadow.checks): from 1 ms to an hour.
MAX_BUDGET_MS = 3_600_000
RATE_PLACES = Decimal("0.0001")
# A list index inside a path, but not inside a quoted key such as ["a[1]"].
PATH_TOKEN = re.compile(r'\["(?:[^"\\]|\\.)*"\]|\[\d+\]')
# How shadow.codec.describe_call stores an argument it could not encode: by its type's name only.
TYPE_ONLY = re.compile(r"<[A-Za-z_][A-Za-z0-9_.]*>")

T = TypeVar("T")


# --- evidence, as `rollout status` columns ------------------------------------------------


def evidence_columns(flag_name: str, teams: list[Team]) -> dict[int, dict[str, Any]]:
    """The status-columns provider: evidence for flags that have a pair, one query per such flag."""
    if flag_name not in pairs.names():
        return {}
    evidence = evidence_for(flag_name, [team.pk for team in teams])
    return {team_id: evidence_row(item) for team_id, item in evidence.items()}


# --- input --------------------------------------------------------------------------------


def get_pair(name: str) -> Pair[Any, Any]:
    try:
        return pairs.get(name)
    except UnknownPairError as error:
        raise CommandError(str(error), returncode=USAGE_ERROR) from error


def get_team(slug: str) -> Team:
    # The rollout command's lookup, so unknown slugs get the same message (and exit status 2).
    (team,) = resolve_teams([slug])
    return team


def parse_rate(value: str) -> Decimal:
    """A rate from 0 to 1 with at most the 4 decimal places SamplingRate stores (finer would be rounded silently)."""
    out_of_range = CommandError(f"Sampling rate must be a number from 0 to 1, got {value!r}", returncode=USAGE_ERROR)
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise out_of_range from None
    if not rate.is_finite() or not Decimal("0") <= rate <= Decimal("1"):
        raise out_of_range
    if rate != rate.quantize(RATE_PLACES):
        raise CommandError(f"Sampling rate has at most 4 decimal places, got {value!r}", returncode=USAGE_ERROR)
    return rate


def pair_argument(parser: CommandParser) -> None:
    parser.add_argument("pair", help=f"a registered pair: {', '.join(pairs.names()) or 'none registered'}")


# --- rendering ----------------------------------------------------------------------------


def describe_side(run: SideRun) -> str:
    if run.measurement is None:
        return f"{run.side} —"
    timing = f"{run.measurement.wall_ms:.2f} ms, {plural(run.measurement.queries, 'query', 'queries')}"
    return f"{run.side} timed out after {timing}" if run.timed_out else f"{run.side} {timing}"


def describe_evidence(slug: str, item: Evidence) -> str:
    counts = (
        f"{plural(item.comparisons, 'comparison')}, {plural(item.mismatches, 'mismatch', 'mismatches')}, "
        f"{plural(item.errors, 'error')}, {plural(item.timeouts, 'timeout')}"
    )
    verdict = "ready" if item.ready else f"not ready: {'; '.join(item.problems)}"
    return f"Evidence for {slug} over the last {item.days} days: {counts}; {verdict}"


def path_pattern(path: str) -> str:
    """A difference's path with list indices as [*]: the ignore pattern that covers every row."""
    return PATH_TOKEN.sub(lambda match: "[*]" if match.group().strip("[]").isdigit() else match.group(), path)


@dataclass
class Redaction:
    """What `rollout verify` prints of personal data.

    By default what Sentry gets: differences as Comparison.diff renders them
    (the values of the pair's personal fields as [redacted]), failures by
    exception type only (messages may quote values), and example arguments
    with the values of personal keys redacted (the pair's personal fields and
    the default ones: a Copilot record's login, say). show (--show-personal):
    everything in full. `hid` records whether anything was actually hidden.
    """

    show: bool
    personal_fields: frozenset[str]
    hid: bool = False

    def pick(self, redacted: T, full: T) -> T:
        if self.show:
            return full
        self.hid = self.hid or redacted != full
        return redacted

    def differences(self, comparison: Comparison) -> list[str]:
        if comparison.result is None:
            return []
        full = comparison.result.lines(redact=False, limit=conf.get("SHADOW_MAX_DIFF_LINES"))
        return self.pick(comparison.diff, full)

    def failure(self, comparison: Comparison) -> str:
        return self.pick(error_kinds(comparison), comparison.error_text)

    def arguments(self, kwargs: dict[str, Any]) -> str:
        return self.pick(describe_arguments(kwargs, self.personal_fields), describe_arguments(kwargs))


# --- rollout verify -----------------------------------------------------------------------


VERIFY_EPILOG = f"""\
exit status:
  {MATCHED}  every comparison matched
  {MISMATCHED}  at least one comparison mismatched (a mismatch wins over anything else)
  {USAGE_ERROR}  usage error: unknown pair, team or record (or a record of another pair), no examples,
     a bad --runs, --budget or --generated
  {INCONCLUSIVE}  inconclusive: nothing mismatched, but some comparisons could not decide: they timed
     out, ended in an error (both sides failing differently included) or found a row locked;
     the last line says why (e.g. "rerun with a larger --budget")

Personal fields (names, logins, emails, titles, ...) and error messages are printed as Sentry
gets them, redacted, unless --show-personal is given; the stored records keep them for staff.

Every run ends with what it covered: the distinct argument sets compared and which of the
data's edge-case shapes (local-midnight merges, shared names and logins, half-cent averages,
formula-like text, ...) the team's rows, or the synthetic teams' rows, hold.

--record ID replays one stored record's call (the ShadowRecord's team and arguments, as the
admin's record page shows them with this command): is the difference still there, or is it
fixed? Its comparisons are stored as evidence, as with --team.
"""


def verify_arguments(parser: CommandParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = VERIFY_EPILOG
    pair_argument(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--team", metavar="SLUG", help="the team whose data the examples use")
    source.add_argument(
        "--generated",
        type=int,
        metavar="N",
        help=f"instead of a team's data: N synthetic edge-case teams (1 to {MAX_GENERATED}), built inside a "
        "transaction that is rolled back; the same teams on every run; nothing is stored or reported",
    )
    source.add_argument(
        "--record",
        type=int,
        metavar="ID",
        help="instead of examples: the call a stored record (ShadowRecord) was made on, on its team; "
        "stored as evidence, as with --team",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help=f"comparisons per argument set (default {DEFAULT_RUNS}; 1 with --generated)",
    )
    parser.add_argument(
        "--budget",
        type=int,
        metavar="MS",
        help=f"each side's time budget in these runs, 1 to {MAX_BUDGET_MS} ms (default SHADOW_VERIFY_BUDGET_MS, "
        f"{conf.DEFAULTS['SHADOW_VERIFY_BUDGET_MS']} unless set, or the pair's own budget when larger)",
    )
    parser.add_argument(
        "--noise",
        action="store_true",
        help="first run legacy against itself and list the fields that differ between two legacy runs",
    )
    parser.add_argument(
        "--examples-only",
        action="store_true",
        help="compare on the pair's fixed examples only, without the argument sets generated from the team's data",
    )
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="compare on the pair's past periods (e.g. the last 12 weeks, the last 28 Copilot days) instead of its "
        "examples; each distinct period counts once towards the gate's distinct argument sets",
    )
    parser.add_argument(
        "--show-personal",
        action="store_true",
        help="print personal fields and error messages in full (default: redacted, as Sentry gets them)",
    )


def verify_argument_sets(
    pair: Pair[Any, Any], team: Team, *, backfill: bool, explore: bool = True
) -> tuple[list[dict[str, Any]], str]:
    """The distinct argument sets to compare, and what they are called: the pair's examples and the sets it
    generates from the team's data (explore), or its past periods (backfill)."""
    source, what, declare = (
        (pair.backfill, "period", "a backfill(team) function returning one argument set per past period")
        if backfill else
        (pair.examples, "example", "an examples(team) function returning the keyword-argument sets to compare")
    )
    if source is None:
        raise CommandError(
            f"{pair.name} has no {'backfill' if backfill else 'examples'} to verify with: give its Pair {declare}",
            returncode=USAGE_ERROR,
        )
    argument_sets = list(source(team))
    if not argument_sets:
        raise CommandError(
            f"{pair.name} has no {'past periods' if backfill else 'examples'} for team {team.slug}",
            returncode=USAGE_ERROR,
        )
    if not backfill and explore and pair.explore is not None:
        # Generated edge cases beside the examples; a set already among them is compared once.
        argument_sets += pair.explore(team)
        what = "argument set"
    return list({arguments_hash(kwargs): kwargs for kwargs in argument_sets}.values()), what


def verify_budget(pair: Pair[Any, Any], given: int | None) -> int:
    """--budget, or SHADOW_VERIFY_BUDGET_MS (the pair's own budget when larger: on demand is never stricter)."""
    if given is None:
        return max(int(conf.get("SHADOW_VERIFY_BUDGET_MS")), pair.budget_ms)
    if not 1 <= given <= MAX_BUDGET_MS:
        raise CommandError(f"--budget must be from 1 to {MAX_BUDGET_MS} ms, got {given}", returncode=USAGE_ERROR)
    return given


@dataclass
class Tally:
    """What the comparisons of one `rollout verify` came to: its summary line and its exit status."""

    budget_ms: int
    outcomes: Counter[str] = field(default_factory=Counter)
    # Side -> comparisons in which it timed out.
    timed_out: Counter[str] = field(default_factory=Counter)
    # "optimized ValueError" -> comparisons that ended in that error (types only, never messages).
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, comparison: Comparison) -> None:
        self.outcomes[comparison.outcome] += 1
        if comparison.outcome == "timeout":
            self.timed_out.update(run.side for run in comparison.runs() if run.timed_out)
        elif comparison.outcome == "error":
            self.errors[error_kinds(comparison)] += 1

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def summary(self) -> str:
        counts = [
            f"{self.outcomes['mismatch']} mismatched", f"{self.outcomes['error']} errors",
            f"{self.outcomes['timeout']} timeouts",
        ]
        if self.outcomes["inconclusive"]:
            counts.append(f"{self.outcomes['inconclusive']} inconclusive")
        return f"{self.outcomes['match']} of {self.total} comparisons matched ({', '.join(counts)})"

    def undecided(self) -> tuple[list[str], list[str]]:
        """(why some comparisons decided nothing, what to do about it), one clause per kind."""
        of = f"of {self.total} comparisons"
        reasons, hints = [], []
        if self.outcomes["timeout"]:
            timeouts = self.outcomes["timeout"]
            sides = (
                " and ".join(sorted(self.timed_out)) if set(self.timed_out.values()) == {timeouts}
                else ", ".join(f"{side} {count}" for side, count in sorted(self.timed_out.items()))
            )
            reasons.append(f"{timeouts} {of} timed out ({sides}) at the {self.budget_ms} ms budget")
            hints.append("rerun with a larger --budget")
        if self.outcomes["error"]:
            kinds = [f"{kind} ×{count}" if count > 1 else kind for kind, count in self.errors.most_common(3)]
            more = ", …" if len(self.errors) > 3 else ""
            reasons.append(f"{self.outcomes['error']} {of} ended in an error ({', '.join(kinds)}{more})")
            hints.append("see the errors above")
        if self.outcomes["inconclusive"]:
            reasons.append(f"{self.outcomes['inconclusive']} {of} found a row locked by another transaction")
            hints.append("rerun when nothing else writes those rows")
        return reasons, hints

    def verdict(self) -> tuple[int, str]:
        """(exit status, the reason): a mismatch wins, then anything undecided, else every comparison matched."""
        reasons, hints = self.undecided()
        mismatches = self.outcomes["mismatch"]
        if mismatches:
            besides = f"; besides, {', '.join(reasons)}" if reasons else ""
            return MISMATCHED, f"mismatch: {mismatches} of {self.total} comparisons mismatched{besides}"
        if reasons:
            return INCONCLUSIVE, f"inconclusive: {', '.join(reasons)}; {'; '.join(hints)}"
        return MATCHED, f"match: all {self.total} comparisons matched"


def verify_runs(options: dict[str, Any]) -> int:
    runs: int | None = options["runs"]
    if runs is None:
        # Synthetic teams are many and small: one run each, their variety is the point.
        return 1 if options["generated"] is not None else DEFAULT_RUNS
    if runs < 1:
        raise CommandError(f"--runs must be at least 1, got {runs}", returncode=USAGE_ERROR)
    return runs


@dataclass
class Coverage:
    """What a verify run compared: distinct argument sets (per team), and the data shapes the teams held."""

    argument_sets: int = 0
    shapes: dict[str, bool] = field(default_factory=dict)

    def add(self, argument_sets: int, shapes: dict[str, bool] | None) -> None:
        self.argument_sets += argument_sets
        for name, present in (shapes or {}).items():
            self.shapes[name] = self.shapes.get(name, False) or present

    def line(self, teams: str) -> str:
        text = f"Covered {plural(self.argument_sets, 'distinct argument set')} on {teams}"
        if not self.shapes:
            return text
        covered = [name for name, present in self.shapes.items() if present]
        missing = [name for name, present in self.shapes.items() if not present]
        text += f" and {len(covered)} of {plural(len(self.shapes), 'data shape')}"
        return text + (f"; not covered: {', '.join(missing)}" if missing else "")


def shapes_of(team: Team) -> dict[str, bool] | None:
    data = pairs.team_data()
    return None if data is None else data.shapes(team)


@dataclass
class Verification:
    """One `rollout verify`: the pair with the on-demand budget, and how its comparisons are run and printed."""

    command: BaseCommand
    pair: Pair[Any, Any]
    runs: int
    redaction: Redaction
    tally: Tally
    # Stored as evidence and reported (a real team), or only printed (synthetic teams).
    store: bool = True
    # Print every run's line (a real team), or only the runs that did not match (synthetic teams).
    verbose: bool = True

    def compare(self, team: Team, number: int, kwargs: dict[str, Any]) -> int:
        """Compare one argument set `runs` times; returns how many runs did not match."""
        unmatched = 0
        if self.verbose:
            self.command.stdout.write(f"[{number}] {self.redaction.arguments(kwargs)}")
        for run in range(1, self.runs + 1):
            comparison = compare_isolated(self.pair, {**kwargs, "team": team}, served=NONE)
            if self.store:
                report_comparison(self.pair, comparison)
            self.tally.add(comparison)
            line = (
                f"  run {run}: {comparison.outcome:<8}  "
                f"{describe_side(comparison.legacy)} | {describe_side(comparison.optimized)}"
            )
            if comparison.matched:
                if self.verbose:
                    self.command.stdout.write(line)
                continue
            unmatched += 1
            if not self.verbose and unmatched == 1:
                self.command.stdout.write(f"[{number}] {self.redaction.arguments(kwargs)}")
            style = self.command.style.ERROR if comparison.outcome == "mismatch" else self.command.style.WARNING
            self.command.stdout.write(style(line))
            for detail in self.redaction.differences(comparison) or [self.redaction.failure(comparison)]:
                self.command.stdout.write(f"      {detail}")
        return unmatched


def run_verify(command: BaseCommand, options: dict[str, Any]) -> None:
    pair = get_pair(options["pair"])
    runs = verify_runs(options)
    budget = verify_budget(pair, options["budget"])
    # The pair with the on-demand budget, never registered: sampled calls keep the pair's own.
    # The evidence is stored under its name, which the copy shares (report_comparison reads the name and rules only).
    on_demand = dataclasses.replace(pair, time_budget_ms=budget)
    redaction = Redaction(
        show=options["show_personal"], personal_fields=pair.rules.personal_fields | DEFAULT_PERSONAL_FIELDS
    )
    verification = Verification(command, on_demand, runs, redaction, Tally(budget_ms=budget))
    if options["generated"] is not None:
        closing = verify_generated(verification, options)
    elif options["record"] is not None:
        closing = verify_record(verification, options)
    else:
        closing = verify_team(verification, get_team(options["team"]), options)

    tally = verification.tally
    command.stdout.write(tally.summary())
    for line in closing:
        command.stdout.write(line)
    if redaction.hid:
        command.stdout.write(
            "Personal values and error messages are redacted as in Sentry; --show-personal prints them"
        )
    status, reason = tally.verdict()
    if status != MATCHED:
        # The last line: why the exit status is not 0.
        raise CommandError(reason, returncode=status)


def verify_team(verification: Verification, team: Team, options: dict[str, Any]) -> list[str]:
    """Compare on one real team's examples (or past periods), stored as evidence; returns the closing lines
    (the team's evidence now, what the run covered)."""
    pair, command = verification.pair, verification.command
    argument_sets, what = verify_argument_sets(
        pair, team, backfill=options["backfill"], explore=not options["examples_only"]
    )
    if options["noise"]:
        report_noise(command, pair, team, argument_sets, verification.runs, verification.redaction)
    command.stdout.write(
        f"{pair.name} for {team.slug}: {plural(len(argument_sets), what)} × {plural(verification.runs, 'run')} "
        f"at a {verification.tally.budget_ms} ms budget, stored as evidence"
    )
    for number, kwargs in enumerate(argument_sets, start=1):
        verification.compare(team, number, kwargs)
    item = evidence_for(pair.name, [team.pk])[team.pk]
    coverage = Coverage()
    coverage.add(len(argument_sets), shapes_of(team))
    return [describe_evidence(team.slug, item), coverage.line(team.slug)]


def get_record(pair: Pair[Any, Any], record_id: int) -> ShadowRecord:
    record = ShadowRecord.objects.select_related("team").filter(pk=record_id).first()
    if record is None:
        raise CommandError(f"No record {record_id}: see the shadow records in the admin", returncode=USAGE_ERROR)
    if record.pair_name != pair.name:
        raise CommandError(f"Record {record_id} is for {record.pair_name}, not {pair.name}", returncode=USAGE_ERROR)
    return record


def record_kwargs(record: ShadowRecord) -> dict[str, Any]:
    """The recorded call's keyword arguments, decoded; a usage error if the record cannot say what they were."""
    try:
        kwargs = record.call_kwargs()
    except ShadowError as error:
        raise CommandError(f"Record {record.pk}'s call cannot be replayed: {error}", returncode=USAGE_ERROR) from None
    # Replaying the type's name in place of the value would compare another call.
    unknown = [key for key, value in kwargs.items() if isinstance(value, str) and TYPE_ONLY.fullmatch(value)]
    if unknown:
        raise CommandError(
            f"Record {record.pk}'s call cannot be replayed: {', '.join(unknown)} stored by type only "
            "(not encodable by shadow.codec)",
            returncode=USAGE_ERROR,
        )
    return kwargs


def verify_record(verification: Verification, options: dict[str, Any]) -> list[str]:
    """Compare again on one stored record's call (its team, its arguments), stored as evidence; returns the closing
    line (the team's evidence now)."""
    if options["backfill"] or options["examples_only"]:
        raise CommandError(
            "--backfill and --examples-only choose a team's argument sets; --record replays the recorded call only",
            returncode=USAGE_ERROR,
        )
    pair, command, redaction = verification.pair, verification.command, verification.redaction
    record = get_record(pair, options["record"])
    kwargs = record_kwargs(record)
    team = record.team
    if options["noise"]:
        report_noise(command, pair, team, [kwargs], verification.runs, redaction)
    command.stdout.write(
        f"{pair.name} for {team.slug}: record {record.pk}'s call × {plural(verification.runs, 'run')} "
        f"at a {verification.tally.budget_ms} ms budget, stored as evidence"
    )
    # What was recorded, redacted as the replay's own lines are, to read them against.
    command.stdout.write(f"Recorded {format_time(record.created_at)}: {record.get_outcome_display().lower()}")
    recorded = redaction.pick(record.differences(personal=False), record.differences(personal=True))
    limit = conf.get("SHADOW_MAX_DIFF_LINES")
    error = redaction.pick(record.error_shown(personal=False), record.error)
    for line in recorded[:limit] or ([error] if error else []):
        command.stdout.write(f"      {line}")
    if len(recorded) > limit:
        command.stdout.write(f"      … and {len(recorded) - limit} more")
    verification.compare(team, 1, kwargs)
    return [describe_evidence(team.slug, evidence_for(pair.name, [team.pk])[team.pk])]


def verify_generated(verification: Verification, options: dict[str, Any]) -> list[str]:
    """Compare on `--generated N` synthetic teams, each rolled back, nothing stored; returns the closing lines."""
    count = options["generated"]
    if not 1 <= count <= MAX_GENERATED:
        raise CommandError(f"--generated must be from 1 to {MAX_GENERATED}, got {count}", returncode=USAGE_ERROR)
    if options["noise"] or options["backfill"]:
        raise CommandError("--noise and --backfill need a real team (--team)", returncode=USAGE_ERROR)
    data = pairs.team_data()
    if data is None:
        raise CommandError("No synthetic teams can be built: the application registered no TeamData",
                           returncode=USAGE_ERROR)
    pair, command = verification.pair, verification.command
    verification.store, verification.verbose = False, False
    command.stdout.write(
        f"{pair.name} on {plural(count, 'synthetic team')}: their argument sets × {plural(verification.runs, 'run')} "
        f"at a {verification.tally.budget_ms} ms budget, rolled back, nothing stored"
    )
    coverage = Coverage()
    built = compared = 0

    def visit(team: Team) -> None:
        nonlocal built, compared
        built += 1
        try:
            argument_sets, _what = verify_argument_sets(pair, team, backfill=False, explore=not options["examples_only"])
        except CommandError:
            # This team's data gives the pair nothing to compare (no Copilot days, say): counted, not fatal.
            return
        compared += 1
        unmatched = sum(verification.compare(team, index, kwargs) for index, kwargs in enumerate(argument_sets, 1))
        coverage.add(len(argument_sets), data.shapes(team))
        verdict = "all matched" if not unmatched else command.style.ERROR(f"{unmatched} did not match")
        command.stdout.write(
            f"synthetic team {built} ({team.timezone}): {plural(len(argument_sets), 'argument set')}, {verdict}"
        )

    with transaction.atomic():
        data.generate(count, visit)
        transaction.set_rollback(True)
    closing = [coverage.line(plural(compared, "synthetic team"))]
    if compared < built:
        closing.insert(0, f"{built - compared} of {built} synthetic teams gave {pair.name} nothing to compare")
    return closing


def legacy_twin(pair: Pair[Any, Any]) -> Pair[Any, Any]:
    """The pair with legacy on both sides, never registered: what differs between two runs is noise."""
    return dataclasses.replace(pair, optimized=pair.legacy)


# Why a legacy-against-legacy run did not finish, by its outcome; any other outcome without a result "failed".
UNFINISHED = {"timeout": "timed out", "inconclusive": "found a row locked"}


@dataclass
class Noise:
    """What running legacy against itself found. Only finished runs (both results compared) say anything."""

    runs: int = 0
    finished: int = 0
    # Pattern -> finished runs it differed in.
    patterns: Counter[str] = field(default_factory=Counter)
    # Why -> runs that did not finish ("timed out", "failed", "found a row locked").
    unfinished: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def why_unfinished(self) -> str:
        """`4 timed out: rerun with a larger --budget`."""
        text = ", ".join(f"{count} {why}" for why, count in self.unfinished.items())
        return text + (": rerun with a larger --budget" if self.unfinished["timed out"] else "")


def find_noise(
    pair: Pair[Any, Any], team: Team, argument_sets: list[dict[str, Any]], runs: int, redaction: Redaction
) -> Noise:
    """Legacy against itself `runs` times per example, at the pair's budget; nothing is reported or stored."""
    twin = legacy_twin(pair)
    noise = Noise()
    for kwargs in argument_sets:
        for _ in range(runs):
            noise.runs += 1
            comparison = compare_isolated(twin, {**kwargs, "team": team}, served=NONE)
            if comparison.result is not None:
                noise.finished += 1
                noise.patterns.update({path_pattern(difference.path) for difference in comparison.result.differences})
                continue
            # Timed out, blocked, or failed (both runs raising the same error is a "match" without a result).
            why = UNFINISHED.get(comparison.outcome, "failed")
            noise.unfinished[why] += 1
            if why == "failed":
                failure = redaction.failure(comparison)
                noise.failures.append(
                    f"the same error in both runs ({failure})" if comparison.matched else f"{comparison.outcome}: {failure}"
                )
    return noise


def report_noise(
    command: BaseCommand, pair: Pair[Any, Any], team: Team, argument_sets: list[dict[str, Any]], runs: int,
    redaction: Redaction,
) -> None:
    noise = find_noise(pair, team, argument_sets, runs, redaction)
    command.stdout.write(
        f"Noise check: legacy against itself, {plural(noise.runs, 'run')}, {noise.finished} finished, nothing stored"
    )
    everything = noise.finished == noise.runs
    within = "" if everything else (
        f" in the {noise.finished} of {noise.runs} runs that finished ({noise.why_unfinished()})"
    )
    if noise.patterns:
        command.stdout.write(command.style.WARNING(
            f"Fields that differ between two legacy runs{within} (non-deterministic; add them as IgnoreRule paths):"
        ))
        for pattern, count in noise.patterns.items():
            command.stdout.write(f"  {pattern or '<root>'}  (in {count} of {noise.finished} runs)")
    elif everything:
        command.stdout.write("No field differs between two legacy runs")
    elif noise.finished:
        command.stdout.write(command.style.WARNING(f"No field differs{within}"))
    else:
        command.stdout.write(command.style.WARNING(
            f"No legacy run finished ({noise.why_unfinished()}): nothing is known about noise"
        ))
    for failure in noise.failures:
        command.stdout.write(command.style.WARNING(f"  legacy run failed: {failure}"))


# --- rollout shadow -----------------------------------------------------------------------


def shadow_arguments(parser: CommandParser) -> None:
    pair_argument(parser)
    parser.add_argument("--rate", help="set the share of calls compared, 0 to 1 (without it: show the rates)")
    parser.add_argument("--team", metavar="SLUG", help="only this team (default: all teams)")
    parser.add_argument("--reason", default="", help="why; recorded in the audit log (`rollout history`)")


def run_shadow(command: BaseCommand, options: dict[str, Any]) -> None:
    pair = get_pair(options["pair"])
    team = get_team(options["team"]) if options["team"] else None
    scope = team.slug if team else "all teams"
    if options["rate"] is None:
        show_rates(command, pair, team)
        return
    rate = parse_rate(options["rate"])
    before = sampling.rate_for(pair.name, team)
    sampling.set_rate(pair_name=pair.name, rate=rate, team=team, actor=cli_actor(), reason=options["reason"])
    command.stdout.write(command.style.SUCCESS(
        f"{pair.name}: sampling rate for {scope} set to {format_rate(rate)} (was {format_rate(before)})"
    ))
    command.stdout.write(reach_note())


def show_rates(command: BaseCommand, pair: Pair[Any, Any], team: Team | None) -> None:
    """One team: its effective rate and where it comes from. Otherwise: every stored rate."""
    rows = list(SamplingRate.objects.filter(pair_name=pair.name).select_related("team"))
    everyone = next((row for row in rows if row.team_id is None), None)
    fallback = (everyone.rate, "the rate for all teams") if everyone else (
        conf.get("SHADOW_DEFAULT_RATE"), "SHADOW_DEFAULT_RATE"
    )
    if team is not None:
        own = next((row for row in rows if row.team_id == team.pk), None)
        rate, source = (own.rate, "its own rate") if own else fallback
        command.stdout.write(f"{pair.name}: {team.slug} is sampled at {format_rate(rate)} ({source})")
        return
    rate, source = fallback
    command.stdout.write(
        f"{pair.name}: teams without a rate of their own are sampled at {format_rate(rate)} ({source})"
    )
    if rows:
        # The all-teams row first, then teams by slug.
        rows.sort(key=lambda row: (row.team is not None, row.team.slug if row.team else ""))
        command.stdout.write(format_table(
            ["SCOPE", "RATE", "SET BY", "UPDATED"],
            [
                [row.team.slug if row.team else "all teams", format_rate(row.rate), row.updated_by or "—",
                 format_time(row.updated_at)]
                for row in rows
            ],
        ))


# --- rollout plan -------------------------------------------------------------------------


PlanStatus = RolloutPlan.Status
# How many of a plan's decisions `rollout plan PAIR` lists, newest first.
DECISIONS_SHOWN = 10
# A paused or halted plan can be resumed; its preview shows what resuming would do.
RESUMABLE = (PlanStatus.PAUSED, PlanStatus.HALTED)


@dataclass(frozen=True)
class PlanOption:
    """An option that sets one RolloutPlan field, on --create or later."""

    flag: str
    field: str
    label: str
    metavar: str
    help: str

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


PLAN_OPTIONS = [
    PlanOption("--step", "step_size", "step size", "N", "teams promoted per step, at least 1"),
    PlanOption("--bake", "bake_minutes", "bake minutes", "MINUTES", "minutes to wait after each step"),
    PlanOption(
        "--min-comparisons", "min_comparisons", "min comparisons", "N",
        "comparisons a team needs for the current code before its promotion",
    ),
    PlanOption("--min-argument-sets", "min_argument_sets", "min argument sets", "N",
               "distinct argument sets a team needs"),
    PlanOption(
        "--max-p95-ratio", "max_p95_ratio", "max p95 ratio", "X",
        "optimized p95 may be at most X times legacy p95, above 0 and at most 999.99",
    ),
    PlanOption("--max-per-day", "max_teams_per_day", "max per day", "N", "promotions per UTC day, at least 1"),
    PlanOption(
        "--retire-after", "retire_after_days", "retire after days", "DAYS",
        "days every team must have been on with clean evidence before legacy can go",
    ),
]
# A plan field -> the option that sets it, for validation messages.
OPTION_OF = {option.field: option.flag for option in PLAN_OPTIONS} | {"teams": "--teams"}


@dataclass(frozen=True)
class Transition:
    """A state change of a plan: the statuses it starts from, and the autopilot's operator function."""

    verb: str
    done: str
    sources: tuple[str, ...]
    # autopilot.start, pause or abort: (plan, *, actor, reason) -> the decision recorded.
    apply: Callable[..., PlanDecision]


TRANSITIONS = {
    "start": Transition("start", "started", (PlanStatus.DRY_RUN, *RESUMABLE), autopilot.start),
    "resume": Transition("resume", "resumed", RESUMABLE, autopilot.start),
    "pause": Transition("pause", "paused", (PlanStatus.ACTIVE,), autopilot.pause),
    "abort": Transition("abort", "aborted", (PlanStatus.DRY_RUN, PlanStatus.ACTIVE, *RESUMABLE), autopilot.abort),
}

PLAN_EPILOG = f"""\
Without options (or with --dry-run) it prints the plan, what the autopilot would do now and why for
each of its teams, and its last {DECISIONS_SHOWN} decisions. A paused or halted plan is previewed as if
resumed now. --dry-run with changes prints the plan as they would make it and writes nothing.

Changes are checked in full before anything is written; --start, --pause, --resume and --abort need
--reason and are recorded as the plan's decisions by cli:<os user>. --start: a dry-run, paused or
halted plan becomes active (its analysis is for the code running now); --resume: the same, for a
paused or halted plan; --pause: an active plan; --abort: any plan not yet aborted or completed
(teams it promoted stay on; roll them back with `rollout disable`).

exit status:
  0  done
  {REFUSED}  the pair has no rollout plan (create one with --create)
  {USAGE_ERROR}  usage error: unknown pair or team, a bad value, --create of an existing plan, a state
     change without --reason or impossible from the plan's status
"""


def plan_arguments(parser: CommandParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = PLAN_EPILOG
    parser.add_argument(
        "pair", nargs="?", help=f"a registered pair: {', '.join(pairs.names()) or 'none registered'}"
    )
    parser.add_argument("--list", action="store_true", help="every plan, one line each")
    parser.add_argument("--dry-run", action="store_true", help="only show: what the autopilot would do now and why")
    parser.add_argument("--create", action="store_true", help="create the pair's plan, as a dry run")
    teams = parser.add_mutually_exclusive_group()
    teams.add_argument(
        "--teams", dest="team_slugs", metavar="SLUG,…", help="the teams to promote, in this order (comma-separated)"
    )
    teams.add_argument("--all-teams", action="store_true", help="every team, smallest data first (the default)")
    # An unsaved plan holds the model's defaults: what --create gives a field no option sets.
    new_plan = RolloutPlan()
    for option in PLAN_OPTIONS:
        # Ratios are parsed by the handler, so a bad one exits with the usage status like every other bad value.
        default = getattr(new_plan, option.field)
        parser.add_argument(
            option.flag, type=str if option.field == "max_p95_ratio" else int, metavar=option.metavar,
            help=f"{option.help}; a new plan has {default}",
        )
    change = parser.add_mutually_exclusive_group()
    change.add_argument("--start", action="store_true", help="activate a dry-run, paused or halted plan")
    change.add_argument("--pause", action="store_true", help="pause an active plan")
    change.add_argument("--resume", action="store_true", help="activate a paused or halted plan again")
    change.add_argument("--abort", action="store_true", help="stop the plan for good")
    parser.add_argument(
        "--reason", default="", metavar="TEXT", help="why (required with --start, --pause, --resume, --abort)"
    )


def plan_edits(options: dict[str, Any]) -> dict[str, Any]:
    """Plan field -> the value the options give it; teams checked to exist (UnknownTeamError: exit 2)."""
    edits: dict[str, Any] = {}
    if options["team_slugs"] is not None:
        slugs = [slug.strip() for slug in options["team_slugs"].split(",") if slug.strip()]
        if not slugs:
            raise CommandError("--teams needs at least one team slug (--all-teams: every team)", returncode=USAGE_ERROR)
        edits["teams"] = [team.slug for team in resolve_teams(slugs)]
    elif options["all_teams"]:
        edits["teams"] = []
    for option in PLAN_OPTIONS:
        value = options[option.dest]
        if value is not None:
            edits[option.field] = parse_ratio(value) if option.field == "max_p95_ratio" else value
    return edits


def parse_ratio(value: str) -> Decimal:
    try:
        ratio = Decimal(value)
    except InvalidOperation:
        ratio = Decimal("NaN")
    if not ratio.is_finite():
        raise CommandError(f"--max-p95-ratio must be a number, got {value!r}", returncode=USAGE_ERROR)
    return ratio


def plan_transition(options: dict[str, Any]) -> tuple[Transition | None, str]:
    """The state change asked for, if any, and its reason; a reason is required with one and refused without."""
    transition = next((TRANSITIONS[verb] for verb in TRANSITIONS if options[verb]), None)
    reason: str = options["reason"].strip()
    if transition is not None and not reason:
        raise CommandError(
            f"--{transition.verb} needs a --reason: it is recorded with the plan's decisions", returncode=USAGE_ERROR
        )
    if transition is None and reason:
        raise CommandError(
            "--reason goes with --start, --pause, --resume or --abort (edits are not recorded)", returncode=USAGE_ERROR
        )
    return transition, reason


def check_transition(plan: RolloutPlan, transition: Transition) -> None:
    if plan.status in transition.sources:
        return
    status = plan.get_status_display().lower()
    if plan.status == PlanStatus.ABORTED:
        why = "aborting is final"
    elif plan.status == PlanStatus.COMPLETED:
        why = "the rollout is complete and legacy is ready to retire"
    elif transition.verb == "pause":
        why = "only an active plan can be paused"
    elif plan.status == PlanStatus.ACTIVE:
        why = "it is already active"
    else:
        why = "it has not started: use --start"
    article = "an" if status[0] in "aeiou" else "a"
    raise CommandError(
        f"{plan.pair_name}: cannot {transition.verb} {article} {status} plan: {why}", returncode=USAGE_ERROR
    )


def describe_teams(slugs: list[str]) -> str:
    return ", ".join(slugs) if slugs else "all teams, smallest data first"


def apply_edits(plan: RolloutPlan, edits: dict[str, Any]) -> list[str]:
    """Set the fields, validate the plan as the model does and save it; the changes, one line each."""
    labels = {option.field: option.label for option in PLAN_OPTIONS} | {"teams": "teams"}
    changes = []
    for name, value in edits.items():
        before = getattr(plan, name)
        if before != value:
            shown = (
                (describe_teams(before), describe_teams(value)) if name == "teams"
                else (f"{before:.2f}", f"{value:.2f}") if name == "max_p95_ratio"
                else (before, value)
            )
            changes.append(f"{labels[name]}: {shown[0]} → {shown[1]}")
            setattr(plan, name, value)
    if not changes and not plan._state.adding:
        return changes
    try:
        plan.full_clean()
    except ValidationError as error:
        problems = "\n".join(
            f"  {OPTION_OF.get(name, name)}: {' '.join(messages)}" for name, messages in error.message_dict.items()
        )
        raise CommandError(f"{plan.pair_name}: nothing written, invalid plan:\n{problems}", returncode=USAGE_ERROR) from None
    plan.save()
    return changes


def next_step(decision: autopilot.Decision) -> str:
    """What the autopilot would do with the plan now, in a few words, and why."""
    if decision.kind == "promote":
        return decision.reason
    if decision.kind == "halt":
        step = ", ".join(team.slug for team in decision.roll_back)
        return f"halt{f' and roll back {step}' if step else ''} ({decision.reason})"
    action = {
        "bake": "wait", "idle": "wait", "pause": "pause", "restart": "pause and restart the analysis",
        "complete": "complete", "inactive": "nothing",
    }.get(decision.kind, decision.kind)
    return f"{action} ({decision.reason})" if decision.reason else action


def resumed(plan: RolloutPlan) -> RolloutPlan:
    """An unsaved copy of a paused or halted plan as resuming would make it: active, for the code running now."""
    copy = RolloutPlan(**{field.attname: getattr(plan, field.attname) for field in plan._meta.concrete_fields})
    copy.status, copy.status_reason = PlanStatus.ACTIVE, ""
    copy.revisions = pairs.get(plan.pair_name).revisions()
    return copy


def teams_on(plan: RolloutPlan, decision: autopilot.Decision) -> tuple[int, int]:
    """(teams on, the plan's teams): from the decision's verdicts, or, when it has none, the flag's state."""
    if decision.teams:
        return sum(verdict.state in ("on", "baking") for verdict in decision.teams), len(decision.teams)
    teams = autopilot.plan_teams(plan)
    if not teams:
        return 0, 0
    [status] = flag_statuses(teams=teams, flag_names=[plan.pair_name])
    return sum(cell.on for cell in status.teams), len(teams)


def plan_lines(plan: RolloutPlan) -> list[str]:
    status = plan.get_status_display().lower()
    window = pairs.get(plan.pair_name).evidence.days
    fields = [
        ("teams", describe_teams(plan.teams)),
        ("step size", plural(plan.step_size, "team")),
        ("bake", f"{plural(plan.bake_minutes, 'minute')} after each step"),
        (
            "evidence required",
            f"{plural(plan.min_comparisons, 'comparison')} and {plural(plan.min_argument_sets, 'distinct argument set')} "
            f"for the current code in the last {plural(window, 'day')}, no mismatch, error or timeout, "
            f"optimized p95 at most {Decimal(plan.max_p95_ratio):.2f}× legacy p95",
        ),
        ("max per day", f"{plural(plan.max_teams_per_day, 'promotion')} (UTC days)"),
        ("retire after", f"{plural(plan.retire_after_days, 'day')} with every team on"),
    ]
    width = max(len(label) for label, _value in fields) + 2
    head = f"Rollout plan for {plan.pair_name}: {status}" + (f" ({plan.status_reason})" if plan.status_reason else "")
    return [head, *(f"  {f'{label}:'.ljust(width)}{value}" for label, value in fields)]


def outlook_lines(plan: RolloutPlan) -> list[str]:
    """What the autopilot would do now and why, team by team, then the plan as a whole."""
    status = plan.get_status_display().lower()
    if plan.status in RESUMABLE:
        decision = autopilot.explain(resumed(plan))
        header = f"The autopilot does nothing while the plan is {status}. If resumed now (--resume):"
    elif plan.status in (PlanStatus.ACTIVE, PlanStatus.DRY_RUN):
        decision = autopilot.explain(plan)
        header = "What the autopilot would do now" + (
            " (a dry run: it acts once the plan is started with --start):" if plan.status == PlanStatus.DRY_RUN else ":"
        )
    else:
        on, total = teams_on(plan, autopilot.explain(plan))
        return [f"The autopilot does nothing more: the plan is {status}; on for {on} of {plural(total, 'team')}"]
    # A team the readiness gate would refuse is already "waiting, the readiness gate: …" (autopilot.decide).
    return [header, *(f"  {verdict.line()}" for verdict in decision.teams), f"next: {next_step(decision)}"]


def decision_lines(plan: RolloutPlan) -> list[str]:
    decisions = list(plan.decisions.all()[:DECISIONS_SHOWN]) if plan.pk else []
    if not decisions:
        return ["No decisions yet"]
    rows = [
        [format_time(item.created_at), item.actor, item.get_action_display().lower(), item.team_slug or "—", item.reason]
        for item in decisions
    ]
    return [
        f"Last {plural(len(rows), 'decision')}, newest first:",
        format_table(["WHEN", "BY", "ACTION", "TEAM", "REASON"], rows),
    ]


def show_plan(command: BaseCommand, plan: RolloutPlan) -> None:
    sections = [plan_lines(plan), outlook_lines(plan), decision_lines(plan)]
    command.stdout.write("\n\n".join("\n".join(section) for section in sections))


def list_plans(command: BaseCommand) -> None:
    plans = list(RolloutPlan.objects.all())
    if not plans:
        command.stdout.write("No rollout plans; create one with rollout plan PAIR --create")
        return
    rows = []
    for plan in plans:
        status = plan.get_status_display().lower()
        if plan.pair_name not in pairs.names():
            rows.append([plan.pair_name, status, "—", "nothing (the pair is no longer registered)"])
            continue
        decision = autopilot.explain(resumed(plan)) if plan.status in RESUMABLE else autopilot.explain(plan)
        on, total = teams_on(plan, decision)
        # A paused or halted plan does nothing; what it would do once resumed follows.
        step = f"nothing until resumed; then {next_step(decision)}" if plan.status in RESUMABLE else next_step(decision)
        rows.append([plan.pair_name, status, f"{on} of {total}", step])
    command.stdout.write(format_table(["PAIR", "STATUS", "TEAMS ON", "NEXT"], rows))


def no_plan(name: str) -> CommandError:
    return CommandError(
        f"{name} has no rollout plan; create one with rollout plan {name} --create "
        "[--teams SLUG,…] [--step N] [--bake MINUTES] …, then start it with --start --reason TEXT",
        returncode=REFUSED,
    )


def run_plan(command: BaseCommand, options: dict[str, Any]) -> None:
    edits_given = any(options[option.dest] is not None for option in PLAN_OPTIONS) or (
        options["team_slugs"] is not None or options["all_teams"]
    )
    changing = options["create"] or edits_given or any(options[verb] for verb in TRANSITIONS)
    if options["list"]:
        if options["pair"] or changing or options["reason"]:
            raise CommandError("--list takes no pair and no other option", returncode=USAGE_ERROR)
        list_plans(command)
        return
    if not options["pair"]:
        raise CommandError("Give a pair, or --list for every plan", returncode=USAGE_ERROR)
    pair = get_pair(options["pair"])
    # Everything is checked before the first write.
    edits = plan_edits(options)
    transition, reason = plan_transition(options)
    if not changing:
        plan = RolloutPlan.objects.filter(pair_name=pair.name).first()
        if plan is None:
            raise no_plan(pair.name)
        show_plan(command, plan)
        return
    with transaction.atomic():
        # Locked like the autopilot's run locks active plans: a change waits for a run in progress.
        found = RolloutPlan.objects.select_for_update().filter(pair_name=pair.name).first()
        if options["create"]:
            if found is not None:
                raise CommandError(
                    f"{pair.name} already has a rollout plan ({found.get_status_display().lower()}): "
                    "change it without --create",
                    returncode=USAGE_ERROR,
                )
            plan = RolloutPlan(pair_name=pair.name)
        elif found is None:
            raise no_plan(pair.name)
        else:
            plan = found
        if transition is not None:
            check_transition(plan, transition)
        created = plan._state.adding
        changes = apply_edits(plan, edits)
        autopilot.note_edit(plan, actor=cli_actor(), changes=changes, created=created)
        lines = [f"{pair.name}: rollout plan created as a dry run"] if created else []
        lines += [f"{pair.name}: {change}" for change in changes]
        if transition is not None:
            was = plan.get_status_display().lower()
            transition.apply(plan, actor=cli_actor(), reason=reason)
            lines.append(f"{pair.name}: plan {transition.done} (was {was})")
            if transition.verb == "abort":
                lines.append("Teams it promoted stay on: roll them back with rollout disable if needed")
        if not lines:
            lines.append(f"{pair.name}: nothing changed")
        dry_run = options["dry_run"]
        style = command.style.WARNING if dry_run else command.style.SUCCESS
        for line in lines:
            command.stdout.write(style(f"(dry run) {line}" if dry_run else line))
        command.stdout.write("")
        show_plan(command, plan)
        if dry_run:
            transaction.set_rollback(True)
            command.stdout.write(command.style.WARNING("Dry run: nothing was written"))


def retirement_notes() -> list[str]:
    """The status-notes provider: pairs whose plan completed, and what to remove (one query; none without pairs)."""
    if not pairs.names():
        return []
    return [f"{item.pair_name}: {item.line()}" for item in autopilot.ready_to_retire()]


# --- registration -------------------------------------------------------------------------


def register() -> None:
    extensions.register_status_columns(evidence_columns)
    extensions.register_subcommand(
        "verify",
        "compare a pair's two sides now on its examples for a team, and store the result as evidence",
        verify_arguments,
        run_verify,
    )
    extensions.register_subcommand(
        "shadow", "show or set a pair's sampling rate, for all teams or one team", shadow_arguments, run_shadow
    )
    extensions.register_subcommand(
        "plan",
        "show, create, change, start, pause, resume or abort a pair's autopilot rollout plan",
        plan_arguments,
        run_plan,
    )
    # `rollout status` ends with the pairs whose legacy side is ready to retire.
    extensions.register_status_notes(retirement_notes)
