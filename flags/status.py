"""Read side of the `rollout` command: the flag × team state table, the audit history, and their rendering.

Everything here is built in a fixed number of queries whatever the number of
flags, teams and audit entries, and returns plain data (no model instances).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Q
from django.utils import timezone

from apps.teams.models import Team
from flags import extensions
from flags.audit import on_off
from flags.models import Flag, FlagAudit
from flags.registry import ROLLOUT_FLAGS
from flags.rules import NOT_LISTED, ON_CAUSES, cause, describe_flag_mode

# Shown for "nothing recorded" in text output (JSON uses null).
BLANK = "—"


@dataclass(frozen=True)
class TeamState:
    slug: str
    name: str
    on: bool
    # The latest audit entry for this flag and this team or for all teams, if any.
    since: datetime | None
    by: str | None
    # Columns added by other apps (flags.extensions.register_status_columns), e.g. shadow evidence.
    columns: dict[str, Any] = field(default_factory=dict)
    # The rule that decides the state (flags.rules.cause): killed, blocked, listed, in percentage, ...
    cause: str = ""

    @property
    def state(self) -> str:
        return on_off(self.on)


@dataclass(frozen=True)
class FlagStatus:
    name: str
    registered: bool
    exists: bool
    everyone: bool | None
    percent: Decimal | None
    mode: str
    description: str | None
    owner: str | None
    lifetime: str | None
    teams: list[TeamState]

    @property
    def on_count(self) -> int:
        return sum(team.on for team in self.teams)


@dataclass(frozen=True)
class HistoryEntry:
    time: datetime
    actor: str
    scope: str
    team_id: int | None
    before: str
    after: str
    reason: str


def flag_statuses(
    *, teams: list[Team] | None = None, flag_names: list[str] | None = None, with_columns: bool = False
) -> list[FlagStatus]:
    """The effective state of each flag for each team.

    Flags: every registered flag (also before its row exists: then off for
    every team, mode "listed teams only"), then every unregistered flag row,
    each group by name; `flag_names` narrows that down. Teams: `teams` in the
    given order, default every team by slug. The state follows
    flags.rules.cause (and so decide), read from the database (not the cache), so it is the
    truth right after a change. `since`/`by` come from the latest audit entry
    for the flag and that team or for all teams. with_columns: each team's
    `columns` are filled by the registered status-column providers.

    Queries: one for the teams (none when `teams` is given), one for the flag
    rows with both team lists, one for the latest audit entries; with_columns
    adds what the providers make for each flag (shadow: one per flag that has a pair).
    """
    if teams is None:
        teams = list(Team.objects.order_by("slug"))
    rows = _flag_rows(flag_names)
    registered = [flag for flag in ROLLOUT_FLAGS.all() if flag_names is None or flag.name in flag_names]
    names = [flag.name for flag in registered] + sorted(set(rows) - {flag.name for flag in registered})
    latest = _latest_entries(flag_names=names, team_ids=[team.pk for team in teams])

    statuses = []
    for name in names:
        declared = ROLLOUT_FLAGS.get(name) if name in ROLLOUT_FLAGS else None
        row = rows.get(name)
        everyone = row["everyone"] if row else None
        percent = row["percent"] if row else None
        listed = frozenset(row["listed"]) if row else frozenset()
        blocked = frozenset(row["blocked"]) if row else frozenset()
        columns = extensions.status_columns(name, teams) if with_columns else {}
        cells = []
        for team in teams:
            entry = _later(latest.get((name, team.pk)), latest.get((name, None)))
            rule = cause(
                flag_name=name, everyone=everyone, percent=percent,
                team_id=team.pk, listed=team.pk in listed, blocked=team.pk in blocked,
            ) if row is not None else NOT_LISTED
            cells.append(TeamState(
                slug=team.slug, name=team.name, on=rule in ON_CAUSES, cause=rule,
                since=entry[0] if entry else None, by=entry[2] if entry else None,
                columns=columns.get(team.pk, {}),
            ))
        statuses.append(FlagStatus(
            name=name,
            registered=declared is not None,
            exists=row is not None,
            everyone=everyone,
            percent=percent,
            mode=describe_flag_mode(everyone, percent),
            description=declared.description if declared else None,
            owner=declared.owner if declared else None,
            lifetime=declared.lifetime if declared else None,
            teams=cells,
        ))
    return statuses


class FlagRow(TypedDict):
    """A flag's row with both team lists as id arrays."""

    name: str
    everyone: bool | None
    percent: Decimal | None
    listed: list[int]
    blocked: list[int]


# (created_at, id, actor) of an audit entry.
LatestEntry = tuple[datetime, int, str]


def _flag_rows(flag_names: list[str] | None) -> dict[str, FlagRow]:
    # Both team lists as id arrays in the same query: no per-flag prefetch, one query even with no rows.
    rows = Flag.objects.annotate(
        listed=ArraySubquery(Flag.teams.through.objects.filter(flag_id=OuterRef("pk")).values("team_id")),
        blocked=ArraySubquery(Flag.blocked_teams.through.objects.filter(flag_id=OuterRef("pk")).values("team_id")),
    ).values("name", "everyone", "percent", "listed", "blocked")
    if flag_names is not None:
        rows = rows.filter(name__in=flag_names)
    return {row["name"]: row for row in rows}


def _latest_entries(*, flag_names: list[str], team_ids: list[int]) -> dict[tuple[str, int | None], LatestEntry]:
    """(flag name, team id or None for all teams) -> (created_at, id, actor) of the latest entry."""
    entries = (
        FlagAudit.objects.filter(flag_name__in=flag_names)
        .filter(Q(team_id__in=team_ids) | Q(team_id__isnull=True))
        .order_by("flag_name", "team_id", "-created_at", "-id")
        .distinct("flag_name", "team_id")
        .values_list("flag_name", "team_id", "created_at", "id", "actor")
    )
    return {(flag_name, team_id): (created_at, pk, actor) for flag_name, team_id, created_at, pk, actor in entries}


def _later(first: LatestEntry | None, second: LatestEntry | None) -> LatestEntry | None:
    candidates = [entry for entry in (first, second) if entry is not None]
    return max(candidates, key=lambda entry: (entry[0], entry[1])) if candidates else None


def flag_history(*, flag_name: str) -> list[HistoryEntry]:
    """Every audit entry of the flag, oldest first (one query; names need not be registered)."""
    return [
        HistoryEntry(
            time=entry.created_at, actor=entry.actor, scope=entry.scope, team_id=entry.team_id,
            before=entry.before, after=entry.after, reason=entry.reason,
        )
        for entry in FlagAudit.objects.filter(flag_name=flag_name).order_by("created_at", "id")
    ]


# --- rendering -----------------------------------------------------------------------


def format_time(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z") if value else BLANK


def iso_time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns left-aligned to their widest cell, two spaces apart, without trailing spaces."""
    # A newline inside a cell (a multi-line reason) would break the columns.
    table = [[" ".join(str(cell).splitlines()) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in table) for column in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table)


def format_cell(value: Any) -> str:
    """An added column's value as text: None "—", booleans yes/no, a dict its values joined by " → "."""
    if value is None:
        return BLANK
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return " → ".join(format_cell(item) for item in value.values())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def column_header(name: str) -> str:
    return name.replace("_", " ").upper()


def status_table(statuses: list[FlagStatus]) -> str:
    """One row per flag and team; a flag shows one row with team "—" when there are no teams.

    Columns added by extensions follow MODE, in the order they first appear;
    rows without them show "—". Without any, the table has the six fixed columns.
    """
    extra = list(dict.fromkeys(name for status in statuses for team in status.teams for name in team.columns))
    rows = []
    for status in statuses:
        mode = status.mode if status.registered else f"unregistered: {status.mode}"
        teams: Sequence[TeamState | None] = status.teams or [None]
        for team in teams:
            if team is None:
                rows.append([status.name, BLANK, BLANK, BLANK, BLANK, mode] + [BLANK] * len(extra))
            else:
                rows.append([
                    status.name, team.slug, team.state, format_time(team.since), team.by or BLANK, mode,
                    *(format_cell(team.columns.get(name)) for name in extra),
                ])
    headers = ["FLAG", "TEAM", "STATE", "SINCE", "BY", "MODE", *(column_header(name) for name in extra)]
    return format_table(headers, rows)


def status_document(statuses: list[FlagStatus]) -> dict[str, Any]:
    """The JSON form of `rollout status` (see the command's help)."""
    return {
        "flags": [
            {
                "name": status.name,
                "description": status.description,
                "owner": status.owner,
                "lifetime": status.lifetime,
                "registered": status.registered,
                "exists": status.exists,
                "everyone": status.everyone,
                "percent": None if status.percent is None else str(status.percent),
                "mode": status.mode,
                "teams": [team_document(team) for team in status.teams],
            }
            for status in statuses
        ]
    }


def team_document(team: TeamState) -> dict[str, Any]:
    document: dict[str, Any] = {
        "slug": team.slug,
        "name": team.name,
        "state": team.state,
        "since": iso_time(team.since),
        "by": team.by,
    }
    if team.columns:
        document["evidence"] = team.columns
    return document


def history_table(entries: list[HistoryEntry]) -> str:
    rows = [
        [format_time(entry.time), entry.actor, entry.scope, f"{entry.before} → {entry.after}", entry.reason]
        for entry in entries
    ]
    return format_table(["TIME", "ACTOR", "SCOPE", "CHANGE", "REASON"], rows)


def history_document(*, flag_name: str, entries: list[HistoryEntry]) -> dict[str, Any]:
    return {
        "flag": flag_name,
        "registered": flag_name in ROLLOUT_FLAGS,
        "entries": [
            {
                "time": iso_time(entry.time),
                "actor": entry.actor,
                "scope": entry.scope,
                "team_id": entry.team_id,
                "before": entry.before,
                "after": entry.after,
                "reason": entry.reason,
            }
            for entry in entries
        ],
    }
