"""Who changed which flag, when, for which team, and why.

Changes are attributed through a context (`attributed_to`); the signal
handlers in flags.signals read it, so every path that changes a flag (admin,
command, services, plain `flag.teams.add(...)` in code) is recorded the same
way. Inside one attributed block, several list changes for the same flag and
team (enable = list it and unblock it) become one entry: first state before,
last state after.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

UNATTRIBUTED = "system:unattributed"


@dataclass
class Attribution:
    actor: str
    reason: str = ""
    # (flag pk, team pk) -> (flag name, team slug, effective state before the block)
    pending: dict[tuple[int, int], tuple[str, str, bool]] = field(default_factory=dict)
    # flag pk -> (everyone, percent) as stored before the block first saved the flag row
    previous_modes: dict[int, tuple[bool | None, object]] = field(default_factory=dict)


_current: ContextVar[Attribution | None] = ContextVar("flags_attribution", default=None)


def current() -> Attribution | None:
    return _current.get()


@contextmanager
def attributed_to(actor: str, reason: str = "") -> Iterator[Attribution]:
    """Attribute every flag change in the block to `actor` with `reason`."""
    from flags.signals import write_pending_team_entries

    attribution = Attribution(actor=actor, reason=reason)
    token = _current.set(attribution)
    try:
        yield attribution
        write_pending_team_entries(attribution)
    finally:
        _current.reset(token)


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def user_actor(user) -> str:
    return f"user:{user.get_username()}"


def system_actor(reason: str) -> str:
    return f"system:{reason}"


def on_off(value: bool) -> str:
    return "on" if value else "off"
