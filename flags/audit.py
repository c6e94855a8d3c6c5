"""Who changed which flag, when, for which team, and why.

Changes are attributed through a context (`attributed_to`); the signal
handlers in flags.signals read it and write entries through this module, so every path that changes a flag (admin,
command, services, plain `flag.teams.add(...)` in code) is recorded the same
way. Inside one attributed block, several list changes for the same flag and
team (enable = list it and unblock it) become one entry: first state before,
last state after.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from apps.teams.models import Team
from flags.models import Flag, FlagAudit
from flags.rules import decide

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

UNATTRIBUTED = "system:unattributed"


@dataclass
class Attribution:
    actor: str
    reason: str = ""
    # (flag pk, team pk) -> (flag name, team slug, effective state before the block)
    pending: dict[tuple[int, int], tuple[str, str, bool]] = field(default_factory=dict)
    # flag pk -> (everyone, percent) as stored before the block first saved the flag row
    previous_modes: dict[int, tuple[bool | None, Decimal | None]] = field(default_factory=dict)


_current: ContextVar[Attribution | None] = ContextVar("flags_attribution", default=None)


def current() -> Attribution | None:
    return _current.get()


@contextmanager
def attributed_to(actor: str, reason: str = "") -> Iterator[Attribution]:
    """Attribute every flag change in the block to `actor` with `reason`."""
    attribution = Attribution(actor=actor, reason=reason)
    token = _current.set(attribution)
    try:
        yield attribution
        write_pending_team_entries(attribution)
    finally:
        _current.reset(token)


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def user_actor(user: AbstractBaseUser | AnonymousUser) -> str:
    return f"user:{user.get_username()}"


def system_actor(reason: str) -> str:
    return f"system:{reason}"


def on_off(value: bool) -> str:
    return "on" if value else "off"


# --- entries ---------------------------------------------------------------------


def effective_states(
    flag: Flag, team_ids: Iterable[int], mode: tuple[bool | None, Decimal | None] | None = None
) -> dict[int, bool]:
    """The flag's state for each team as stored right now (uncached: used around writes), one query.

    `mode` overrides (everyone, percent), for the state before a block that also saved the row.
    """
    everyone, percent = mode if mode is not None else (flag.everyone, flag.percent)
    listed, blocked = flag.team_id_sets_from_db()
    return {
        team_id: decide(
            flag_name=flag.name, everyone=everyone, percent=percent, team_id=team_id,
            listed=team_id in listed, blocked=team_id in blocked,
        )
        for team_id in team_ids
    }


def by_flag(pairs: Iterable[tuple[Flag, int]]) -> dict[int, tuple[Flag, list[int]]]:
    grouped: dict[int, tuple[Flag, list[int]]] = {}
    for flag, team_id in pairs:
        grouped.setdefault(flag.pk, (flag, []))[1].append(team_id)
    return grouped


def team_slugs(team_ids: Iterable[int]) -> dict[int, str]:
    return dict(Team.objects.filter(pk__in=list(team_ids)).values_list("pk", "slug"))


def write_entry(*, flag_name: str, team_id: int | None, team_slug: str, before: str, after: str) -> FlagAudit:
    attribution = current()
    return FlagAudit.objects.create(
        flag_name=flag_name,
        team_id=team_id,
        team_slug=team_slug,
        actor=attribution.actor if attribution else UNATTRIBUTED,
        reason=attribution.reason if attribution else "",
        before=before,
        after=after,
    )


def write_pending_team_entries(attribution: Attribution) -> None:
    """At the end of an attributed block: one entry per (flag, team) it touched."""
    flags = {flag.pk: flag for flag in Flag.objects.filter(pk__in={flag_pk for flag_pk, _ in attribution.pending})}
    after: dict[tuple[int, int], bool] = {}
    for flag_pk, flag in flags.items():
        team_ids = [team_id for pending_flag, team_id in attribution.pending if pending_flag == flag_pk]
        after.update({(flag_pk, team_id): state for team_id, state in effective_states(flag, team_ids).items()})
    for key, (flag_name, slug, before) in attribution.pending.items():
        state = on_off(after[key]) if key in after else "deleted"
        write_entry(flag_name=flag_name, team_id=key[1], team_slug=slug, before=on_off(before), after=state)
    attribution.pending.clear()
