"""Extension points for apps that build on flags (flags itself imports none of them).

- Enable guards: called before teams are switched on; each returns the
  reasons to refuse (an empty list lets the change through). The shadow app
  registers its readiness gate here.
- Status columns: a provider adds columns to the team rows of `rollout
  status` (text table, and the "evidence" key of each team in --json).
- Sub-commands: other apps add `rollout <name>` sub-commands.
- Status notes: a provider adds lines after the `rollout status` table (and
  the "notes" list of --json), e.g. the pairs whose legacy side can go.

Registration happens in the other app's AppConfig.ready(); registering the
same callable again is a no-op, so a second ready() (tests) is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.core.management.base import BaseCommand, CommandParser

    from apps.teams.models import Team

# (flag name, teams about to be switched on) -> the reasons to refuse.
EnableGuard = Callable[[str, list["Team"]], list[str]]

_enable_guards: list[EnableGuard] = []


def register_enable_guard(guard: EnableGuard) -> EnableGuard:
    if guard not in _enable_guards:
        _enable_guards.append(guard)
    return guard


def enable_refusals(flag_name: str, teams: list[Team]) -> list[str]:
    return [problem for guard in _enable_guards for problem in guard(flag_name, teams)]


# --- status columns ----------------------------------------------------------------------

# (flag name, teams) -> {team id: {column name: value}}. Teams without an entry get no columns;
# a flag the provider knows nothing about gets {}. Values must be JSON-serialisable: None, bool,
# numbers, strings, or a dict of those (the text table joins a dict's values with " → ").
StatusColumnsProvider = Callable[[str, list["Team"]], dict[int, dict[str, Any]]]

_status_column_providers: list[StatusColumnsProvider] = []


def register_status_columns(provider: StatusColumnsProvider) -> StatusColumnsProvider:
    """Add columns to `rollout status`. The provider is called once per flag with all shown teams,
    so it should answer for all of them in a fixed number of queries."""
    if provider not in _status_column_providers:
        _status_column_providers.append(provider)
    return provider


def status_columns(flag_name: str, teams: list[Team]) -> dict[int, dict[str, Any]]:
    """Every provider's columns for the flag, merged per team (later providers win on a clash)."""
    merged: dict[int, dict[str, Any]] = {}
    for provider in _status_column_providers:
        for team_id, columns in provider(flag_name, teams).items():
            merged.setdefault(team_id, {}).update(columns)
    return merged


# --- status notes ------------------------------------------------------------------------

# () -> lines to print after the `rollout status` table; an empty list when there is nothing to say.
StatusNotesProvider = Callable[[], list[str]]

_status_note_providers: list[StatusNotesProvider] = []


def register_status_notes(provider: StatusNotesProvider) -> StatusNotesProvider:
    """Add notes to `rollout status`. The provider is called once per status, whatever the teams shown."""
    if provider not in _status_note_providers:
        _status_note_providers.append(provider)
    return provider


def status_notes() -> list[str]:
    """Every provider's notes, in the order the providers were registered."""
    return [note for provider in _status_note_providers for note in provider()]


# --- rollout sub-commands ----------------------------------------------------------------


@dataclass(frozen=True)
class SubCommand:
    """`rollout <name>`: add_arguments(parser) declares its arguments, handler(command, options) runs it.

    The handler writes to command.stdout and reports failures by raising
    CommandError with a returncode (1: refused or failed, 2: bad input); a
    FlagError it lets through exits with status 2.
    """

    name: str
    help: str
    add_arguments: Callable[[CommandParser], None]
    handler: Callable[[BaseCommand, dict[str, Any]], None]


_subcommands: dict[str, SubCommand] = {}


def register_subcommand(
    name: str,
    help: str,  # noqa: A002
    add_arguments: Callable[[CommandParser], None],
    handler: Callable[[BaseCommand, dict[str, Any]], None],
) -> SubCommand:
    subcommand = SubCommand(name=name, help=help, add_arguments=add_arguments, handler=handler)
    existing = _subcommands.get(name)
    if existing is not None and existing != subcommand:
        raise ValueError(f"rollout sub-command {name!r} is registered twice")
    _subcommands[name] = subcommand
    return subcommand


def subcommands() -> dict[str, SubCommand]:
    return dict(_subcommands)
