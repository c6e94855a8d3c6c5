"""`manage.py rollout`: the operator's view of the rollout flags, and the switches.

    rollout status [--json] [--team SLUG …]
    rollout enable FLAG (--team SLUG … | --percent N | --everyone) [--force] [--reason TEXT]
    rollout disable FLAG --team SLUG … [--reason TEXT]
    rollout kill FLAG --reason TEXT
    rollout restore FLAG --reason TEXT [--force]
    rollout history FLAG [--json]

Every change goes through flags.services, so it is atomic and audited as
"cli:<os user>". Input is checked in full before the first write: an unknown
flag or team, or a bad percentage, exits with status 2 and changes nothing.
A change that would switch teams on (enable by team, percentage or
everyone; restore after a kill) and that an enable guard (the shadow
readiness gate) refuses exits with status 1, prints the guard's problems and
changes nothing; --force with a --reason goes past it, and the audit entry
says so. Switching teams off (disable, kill, a lower percentage) is never refused.
Each sub-command is one entry in SUBCOMMANDS; other apps add theirs through
flags.extensions.register_subcommand (shadow: verify, shadow, plan), and
lines after the status table through flags.extensions.register_status_notes
(shadow: the pairs whose legacy side is ready to retire).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.teams.models import Team
from flags import extensions, services
from flags.audit import cli_actor
from flags.errors import FlagError, GateRefusedError
from flags.models import Flag
from flags.registry import ROLLOUT_FLAGS
from flags.services import resolve_teams
from flags.status import (
    flag_history,
    flag_statuses,
    history_document,
    history_table,
    status_document,
    status_table,
)

if TYPE_CHECKING:
    from argparse import _ActionsContainer

# The exit status of a command-line usage error, as argparse uses it.
USAGE_ERROR = 2
# The exit status of a change that was understood but refused (the readiness gate).
REFUSED = 1


@dataclass(frozen=True)
class SubCommand:
    help: str
    add_arguments: Callable[[CommandParser], None]
    run: Callable[[BaseCommand, dict[str, Any]], None]


# --- input ---------------------------------------------------------------------------


def add_flag_argument(parser: CommandParser) -> None:
    parser.add_argument("flag", help=f"a registered flag: {', '.join(ROLLOUT_FLAGS.names())}")


def add_reason_argument(parser: CommandParser, *, required: bool = False) -> None:
    if required:
        parser.add_argument("--reason", required=True, help="why (required); recorded in the audit log")
    else:
        parser.add_argument("--reason", default="", help="why; recorded in the audit log")


def add_team_argument(parser: _ActionsContainer, *, required: bool = False, help_text: str) -> None:
    # `parser`: a parser or one of its argument groups.
    parser.add_argument("--team", dest="teams", action="append", metavar="SLUG", required=required, help=help_text)


# --- changes -------------------------------------------------------------------------


def change_teams(
    command: BaseCommand, *, name: str, teams: list[Team], write: Callable[..., Flag], wanted_on: bool
) -> None:
    """Apply write(teams=…) and report each team's state before and after."""
    (before,) = flag_statuses(teams=teams, flag_names=[name])
    write(teams=teams)
    (after,) = flag_statuses(teams=teams, flag_names=[name])
    for old, new in zip(before.teams, after.teams):
        command.stdout.write(command.style.SUCCESS(f"{name}: {new.state} for {new.slug} (was {old.state})"))
    command.stdout.write(services.reach_note())
    if wanted_on and after.everyone is False:
        command.stdout.write(command.style.WARNING(
            f"{name} is {after.mode}, which overrides the team list; "
            f"`manage.py rollout restore {name}` applies per-team rules again"
        ))


def gated(
    command: BaseCommand, *, name: str, options: dict[str, Any], not_done: str, change: Callable[..., None]
) -> None:
    """Run change(force=False); when the enable guards refuse, exit with REFUSED, or with --force warn and force it."""
    try:
        change(force=False)
    except GateRefusedError as refusal:
        if not options["force"]:
            raise CommandError(refused_message(refusal, not_done=not_done), returncode=REFUSED) from refusal
        command.stdout.write(command.style.WARNING(
            f"{name}: FORCED past the readiness gate, which refused:\n"
            + "\n".join(f"  {problem}" for problem in refusal.problems)
        ))
        change(force=True)


def check_force(options: dict[str, Any]) -> None:
    if options["force"] and not options["reason"].strip():
        raise FlagError("--force needs a --reason: it is recorded in the audit log")


def add_force_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="go ahead even though the readiness gate refuses the teams this switches on; "
        "needs --reason, audited as FORCED",
    )


def change_mode(command: BaseCommand, *, name: str, write: Callable[[], Flag]) -> None:
    """Apply a flag-wide change and report the mode before and after, and how many teams it is on for."""
    (before,) = flag_statuses(flag_names=[name])
    write()
    (after,) = flag_statuses(flag_names=[name])
    was = "unchanged" if before.mode == after.mode else f"was {before.mode}"
    command.stdout.write(command.style.SUCCESS(
        f"{name}: {after.mode} ({was}); on for {after.on_count} of {len(after.teams)} teams"
    ))
    command.stdout.write(services.reach_note())


# --- sub-commands --------------------------------------------------------------------


def status_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help='print one JSON document instead of a table; the notes printed after the table (e.g. pairs ready '
        'to retire) are its "notes" list, present only when there are notes',
    )
    add_team_argument(parser, help_text="only this team (repeatable)")


def run_status(command: BaseCommand, options: dict[str, Any]) -> None:
    teams = resolve_teams(options["teams"]) if options["teams"] else None
    statuses = flag_statuses(teams=teams, with_columns=True)
    # Notes concern pairs, not teams: --team does not filter them.
    notes = extensions.status_notes()
    if options["json"]:
        document = status_document(statuses)
        if notes:
            # Only when there are any, so the document's keys stay as they were for everyone else.
            document["notes"] = notes
        command.stdout.write(json.dumps(document, indent=2))
    else:
        command.stdout.write(status_table(statuses))
        if notes:
            command.stdout.write("\n" + "\n".join(notes))


def enable_arguments(parser: CommandParser) -> None:
    add_flag_argument(parser)
    how = parser.add_mutually_exclusive_group(required=True)
    add_team_argument(how, help_text="list this team (repeatable); lifts a per-team block")
    how.add_argument("--percent", help="on for this stable share of teams, 0 to 99.9")
    how.add_argument("--everyone", action="store_true", help="on for every team except blocked ones")
    add_reason_argument(parser)
    add_force_argument(parser)


def run_enable(command: BaseCommand, options: dict[str, Any]) -> None:
    name = ROLLOUT_FLAGS.get(options["flag"]).name
    actor, reason = cli_actor(), options["reason"]
    check_force(options)
    if options["teams"]:
        teams = resolve_teams(options["teams"])

        def change(force: bool) -> None:
            write = partial(services.enable_for_teams, name=name, actor=actor, reason=reason, force=force)
            change_teams(command, name=name, teams=teams, wanted_on=True, write=write)
    else:
        if options["percent"] is not None:
            write = partial(services.set_percent, percent=services.parse_percent(options["percent"]))
        else:
            write = partial(services.set_everyone, everyone=True)

        def change(force: bool) -> None:
            change_mode(command, name=name, write=partial(write, name=name, actor=actor, reason=reason, force=force))

    gated(command, name=name, options=options, not_done="not enabled", change=change)


def refused_message(refusal: GateRefusedError, *, not_done: str = "not enabled") -> str:
    problems = "\n".join(f"  {problem}" for problem in refusal.problems)
    return (
        f"{refusal.flag_name}: {not_done}, the readiness gate refuses:\n{problems}\n"
        f"Nothing was changed. To override, repeat with --force --reason TEXT (audited)."
    )


def disable_arguments(parser: CommandParser) -> None:
    add_flag_argument(parser)
    add_team_argument(parser, required=True, help_text="turn off for this team whatever else says (repeatable)")
    add_reason_argument(parser)


def run_disable(command: BaseCommand, options: dict[str, Any]) -> None:
    name = ROLLOUT_FLAGS.get(options["flag"]).name
    teams = resolve_teams(options["teams"])
    write = partial(services.disable_for_teams, name=name, actor=cli_actor(), reason=options["reason"])
    change_teams(command, name=name, teams=teams, write=write, wanted_on=False)


def kill_arguments(parser: CommandParser) -> None:
    add_flag_argument(parser)
    # Switching a path off for everyone is the biggest change there is: its audit entry says why.
    add_reason_argument(parser, required=True)


def restore_arguments(parser: CommandParser) -> None:
    kill_arguments(parser)
    add_force_argument(parser)


def required_reason(options: dict[str, Any]) -> str:
    reason: str = options["reason"]
    if not reason.strip():
        raise FlagError("--reason must say why: it is recorded in the audit log")
    return reason


def run_kill(command: BaseCommand, options: dict[str, Any]) -> None:
    name = ROLLOUT_FLAGS.get(options["flag"]).name
    reason = required_reason(options)
    write = partial(services.set_everyone, name=name, everyone=False, actor=cli_actor(), reason=reason)
    change_mode(command, name=name, write=write)


def run_restore(command: BaseCommand, options: dict[str, Any]) -> None:
    name = ROLLOUT_FLAGS.get(options["flag"]).name
    reason = required_reason(options)
    check_force(options)

    def change(force: bool) -> None:
        write = partial(services.set_everyone, name=name, everyone=None, actor=cli_actor(), reason=reason, force=force)
        change_mode(command, name=name, write=write)

    gated(command, name=name, options=options, not_done="not restored", change=change)


def history_arguments(parser: CommandParser) -> None:
    parser.add_argument("flag", help="a registered flag, or a retired one that has audit entries")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")


def run_history(command: BaseCommand, options: dict[str, Any]) -> None:
    name = options["flag"]
    entries = flag_history(flag_name=name)
    if not entries and name not in ROLLOUT_FLAGS:
        ROLLOUT_FLAGS.get(name)  # raises, listing the registered flags
    if options["json"]:
        command.stdout.write(json.dumps(history_document(flag_name=name, entries=entries), indent=2))
    elif entries:
        command.stdout.write(history_table(entries))
    else:
        command.stdout.write(f"{name}: no changes recorded")


SUBCOMMANDS: dict[str, SubCommand] = {
    "status": SubCommand("each flag's state for each team, and who changed it last", status_arguments, run_status),
    "enable": SubCommand("turn a flag on for teams, a percentage of teams, or everyone", enable_arguments, run_enable),
    "disable": SubCommand("roll teams back: off for them whatever the percentage says", disable_arguments, run_disable),
    "kill": SubCommand("turn a flag off for every team (the kill switch)", kill_arguments, run_kill),
    "restore": SubCommand("undo kill or --everyone: per-team rules apply again", restore_arguments, run_restore),
    "history": SubCommand("a flag's audit log, oldest first", history_arguments, run_history),
}


def all_subcommands() -> dict[str, SubCommand]:
    """The built-in sub-commands, then those other apps registered (which may not reuse a built-in name)."""
    added = extensions.subcommands()
    clashes = sorted(set(added) & set(SUBCOMMANDS))
    if clashes:
        raise ValueError(f"rollout sub-commands from other apps clash with built-in ones: {', '.join(clashes)}")
    return {
        **SUBCOMMANDS,
        **{name: SubCommand(sub.help, sub.add_arguments, sub.handler) for name, sub in added.items()},
    }


class Command(BaseCommand):
    help = "See and change the per-team rollout flags. Changes are audited as cli:<os user>."
    # Rolling back must work even while an unrelated system check fails.
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for name, subcommand in all_subcommands().items():
            subcommand.add_arguments(subparsers.add_parser(name, help=subcommand.help, description=subcommand.help))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            all_subcommands()[options["subcommand"]].run(self, options)
        except FlagError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from error
