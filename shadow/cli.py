"""The shadow app's operator surface on the `rollout` command, and its evidence columns in `rollout status`.

    rollout verify PAIR --team SLUG [--runs N] [--noise]
    rollout shadow PAIR [--rate R [--reason TEXT]] [--team SLUG]

Hooked into flags through flags.extensions (see register(), called from
ShadowConfig.ready), so flags never imports this package. Exit status: 0
done, 1 a comparison did not match (verify), 2 bad input (unknown pair or
team, a bad rate or run count, a pair without examples).
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.teams.models import Team
from flags import extensions
from flags.audit import cli_actor
from flags.services import reach_note, resolve_teams
from flags.status import format_table, format_time
from shadow import conf, pairs, sampling
from shadow.errors import UnknownPairError
from shadow.evidence import Evidence, evidence_for, evidence_row
from shadow.judging import compare_isolated, compare_now
from shadow.models import SamplingRate
from shadow.outcome import NONE, SideRun
from shadow.pairs import Pair
from shadow.sampling import format_rate

USAGE_ERROR = 2
FAILED = 1
DEFAULT_RUNS = 3
RATE_PLACES = Decimal("0.0001")
# A list index inside a path, but not inside a quoted key such as ["a[1]"].
PATH_TOKEN = re.compile(r'\["(?:[^"\\]|\\.)*"\]|\[\d+\]')


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


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def format_argument(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def describe_arguments(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{key}={format_argument(value)}" for key, value in kwargs.items()) or "(no arguments)"


def describe_side(run: SideRun) -> str:
    if run.measurement is None:
        return f"{run.side} —"
    return f"{run.side} {run.measurement.wall_ms:.2f} ms, {plural(run.measurement.queries, 'query', 'queries')}"


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


# --- rollout verify -----------------------------------------------------------------------


def verify_arguments(parser: CommandParser) -> None:
    pair_argument(parser)
    parser.add_argument("--team", required=True, metavar="SLUG", help="the team whose data the examples use")
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help=f"comparisons per example (default {DEFAULT_RUNS})"
    )
    parser.add_argument(
        "--noise",
        action="store_true",
        help="first run legacy against itself and list the fields that differ between two legacy runs",
    )


def run_verify(command: BaseCommand, options: dict[str, Any]) -> None:
    pair = get_pair(options["pair"])
    team = get_team(options["team"])
    runs = options["runs"]
    if runs < 1:
        raise CommandError(f"--runs must be at least 1, got {runs}", returncode=USAGE_ERROR)
    if pair.examples is None:
        raise CommandError(
            f"{pair.name} has no examples to verify with: give its Pair an examples(team) function "
            "returning the keyword-argument sets to compare",
            returncode=USAGE_ERROR,
        )
    argument_sets = list(pair.examples(team))
    if not argument_sets:
        raise CommandError(f"{pair.name} has no examples for team {team.slug}", returncode=USAGE_ERROR)

    if options["noise"]:
        report_noise(command, pair, team, argument_sets, runs)

    command.stdout.write(
        f"{pair.name} for {team.slug}: {plural(len(argument_sets), 'example')} × {plural(runs, 'run')}, "
        "stored as evidence"
    )
    outcomes: Counter[str] = Counter()
    for number, kwargs in enumerate(argument_sets, start=1):
        command.stdout.write(f"[{number}] {describe_arguments(kwargs)}")
        for run in range(1, runs + 1):
            comparison = compare_now(pair.name, team=team, **kwargs)
            outcomes[comparison.outcome] += 1
            line = (
                f"  run {run}: {comparison.outcome:<8}  "
                f"{describe_side(comparison.legacy)} | {describe_side(comparison.optimized)}"
            )
            if comparison.matched:
                command.stdout.write(line)
                continue
            command.stdout.write(command.style.ERROR(line))
            for detail in comparison.diff or [comparison.error_text]:
                command.stdout.write(f"      {detail}")

    total = sum(outcomes.values())
    failed = total - outcomes["match"]
    command.stdout.write(
        f"{outcomes['match']} of {total} comparisons matched "
        f"({outcomes['mismatch']} mismatched, {outcomes['error']} errors, {outcomes['timeout']} timeouts)"
    )
    item = evidence_for(pair.name, [team.pk])[team.pk]
    command.stdout.write(describe_evidence(team.slug, item))
    if failed:
        raise CommandError(f"{pair.name}: {failed} of {total} comparisons did not match", returncode=FAILED)


def legacy_twin(pair: Pair[Any, Any]) -> Pair[Any, Any]:
    """The pair with legacy on both sides, never registered: what differs between two runs is noise."""
    return Pair(
        name=pair.name, legacy=pair.legacy, optimized=pair.legacy, rules=pair.rules,
        writes=pair.writes, snapshot=pair.snapshot, time_budget_ms=pair.time_budget_ms, stream=pair.stream,
    )


def find_noise(
    pair: Pair[Any, Any], team: Team, argument_sets: list[dict[str, Any]], runs: int
) -> tuple[Counter[str], list[str], int]:
    """(pattern -> number of legacy-vs-legacy runs it differed in, errors, runs); nothing is reported or stored."""
    twin = legacy_twin(pair)
    patterns: Counter[str] = Counter()
    errors: list[str] = []
    total = 0
    for kwargs in argument_sets:
        for _ in range(runs):
            total += 1
            comparison = compare_isolated(twin, {**kwargs, "team": team}, served=NONE)
            if comparison.result is not None:
                patterns.update({path_pattern(difference.path) for difference in comparison.result.differences})
            elif not comparison.matched:
                errors.append(f"{comparison.outcome}: {comparison.error_text}")
    return patterns, errors, total


def report_noise(
    command: BaseCommand, pair: Pair[Any, Any], team: Team, argument_sets: list[dict[str, Any]], runs: int
) -> None:
    patterns, errors, total = find_noise(pair, team, argument_sets, runs)
    command.stdout.write(f"Noise check: legacy against itself, {plural(total, 'run')}, nothing stored")
    if patterns:
        command.stdout.write(command.style.WARNING(
            "Fields that differ between two legacy runs (non-deterministic; add them as IgnoreRule paths):"
        ))
        for pattern, count in patterns.items():
            command.stdout.write(f"  {pattern or '<root>'}  (in {count} of {total} runs)")
    else:
        command.stdout.write("No field differs between two legacy runs")
    for error in errors:
        command.stdout.write(command.style.WARNING(f"  legacy run failed: {error}"))


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
