"""Operator actions on rollout flags. Admin and the `rollout` command both come through here.

Each action is atomic, validates the flag name against the registry, creates
the flag row on first use, and is audited with the given actor and reason.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from flags import extensions
from flags.audit import attributed_to
from flags.errors import FlagError, GateRefusedError
from flags.models import Flag
from flags.registry import ROLLOUT_FLAGS


def get_or_create_flag(name: str) -> Flag:
    """The row of a registered rollout flag (created off: no team, no percentage)."""
    ROLLOUT_FLAGS.get(name)
    # superusers=False: rollout flags give nobody special treatment.
    flag, _ = Flag.objects.get_or_create(name=name, defaults={"everyone": None, "superusers": False})
    return flag


def enable_for_teams(*, name: str, teams, actor: str, reason: str = "", force: bool = False) -> Flag:
    """List the teams (and lift any per-team block on them), if every enable guard agrees.

    A refusal raises GateRefusedError and changes nothing. force=True goes
    past the guards; it needs a reason, and the audit entry names what was overridden.
    """
    ROLLOUT_FLAGS.get(name)
    teams = list(teams)
    refusals = extensions.enable_refusals(name, teams)
    if refusals and not force:
        raise GateRefusedError(name, refusals)
    if refusals:
        if not reason.strip():
            raise FlagError("Forcing past the readiness gate needs a reason")
        reason = f"FORCED past readiness gate ({'; '.join(refusals)}): {reason}"
    return _move_teams(name=name, teams=teams, on=True, actor=actor, reason=reason)


def disable_for_teams(*, name: str, teams, actor: str, reason: str = "") -> Flag:
    """The per-team rollback: always allowed, immediate, and it wins over the percentage and "everyone on"."""
    return _move_teams(name=name, teams=teams, on=False, actor=actor, reason=reason)


def _move_teams(*, name: str, teams, on: bool, actor: str, reason: str) -> Flag:
    with transaction.atomic(), attributed_to(actor, reason):
        flag = get_or_create_flag(name)
        into, out_of = (flag.teams, flag.blocked_teams) if on else (flag.blocked_teams, flag.teams)
        out_of.remove(*teams)
        into.add(*teams)
        # Team-list changes leave the row alone; bump "modified" so lists sorted by it stay truthful.
        flag.save(update_fields=["modified"])
    return flag


def parse_percent(value) -> Decimal:
    try:
        percent = Decimal(str(value)).quantize(Decimal("0.1"))
    except InvalidOperation:
        raise FlagError(f"Percentage must be a number from 0 to 99.9, got {value!r}") from None
    if not percent.is_finite():
        raise FlagError(f"Percentage must be a number from 0 to 99.9, got {value!r}")
    if not Decimal("0") <= percent <= Decimal("99.9"):
        raise FlagError(f"Percentage must be from 0 to 99.9 (use everyone on for 100), got {value}")
    return percent


def set_percent(*, name: str, percent, actor: str, reason: str = "") -> Flag:
    """Turn the flag on for a stable, salted share of teams (listed and blocked teams keep their state)."""
    value = parse_percent(percent)
    return _update_mode(name=name, actor=actor, reason=reason, percent=value or None)


def set_everyone(*, name: str, everyone: bool | None, actor: str, reason: str = "") -> Flag:
    """everyone=False is the kill switch, True turns the flag on for all teams, None restores per-team rules."""
    return _update_mode(name=name, actor=actor, reason=reason, everyone=everyone)


def _update_mode(*, name: str, actor: str, reason: str, **fields) -> Flag:
    with transaction.atomic(), attributed_to(actor, reason):
        flag = get_or_create_flag(name)
        for field_name, value in fields.items():
            setattr(flag, field_name, value)
        flag.save()
    return flag
