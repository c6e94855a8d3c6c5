"""Operator actions on rollout flags. Admin and the `rollout` command both come through here.

Each action is atomic, validates the flag name against the registry, creates
the flag row if migrate has not yet, and is audited with the given actor and reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Exists, OuterRef

from apps.teams.models import Team
from flags import conf, extensions
from flags.audit import attributed_to
from flags.errors import FlagError, GateRefusedError, UnknownTeamError
from flags.models import Flag
from flags.registry import ROLLOUT_FLAGS
from flags.rules import decide

FORCED_PREFIX = "FORCED past readiness gate"


def reach_note() -> str:
    """When a committed change reaches every process: there is no fast path to miss (flags/store.py)."""
    bound = conf.max_stale_seconds()
    return (
        f"This process serves the change now; every other process within {bound:g} s "
        "(FLAGS_MAX_STALE_SECONDS), whatever the cache server does."
    )
# An unknown-team message lists at most this many valid slugs.
TEAMS_LISTED = 20


def resolve_teams(slugs: list[str]) -> list[Team]:
    """The teams in the order given (repeats dropped); UnknownTeamError naming every unknown slug."""
    wanted = list(dict.fromkeys(slugs))
    found = {team.slug: team for team in Team.objects.filter(slug__in=wanted)}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise UnknownTeamError(unknown_teams_message(missing))
    return [found[slug] for slug in wanted]


def unknown_teams_message(missing: list[str]) -> str:
    slugs = list(Team.objects.order_by("slug").values_list("slug", flat=True))
    listed = ", ".join(slugs[:TEAMS_LISTED]) or "none"
    more = f" …and {len(slugs) - TEAMS_LISTED} more" if len(slugs) > TEAMS_LISTED else ""
    # The closest slugs first: with many teams the intended one may be past the listed ones.
    guesses = sorted({guess for slug in missing for guess in difflib.get_close_matches(slug, slugs, n=3)})
    hint = f"; did you mean {', '.join(guesses)}?" if guesses else ""
    label = "Unknown team" if len(missing) == 1 else "Unknown teams"
    return f"{label} {', '.join(repr(slug) for slug in missing)}{hint}; teams: {listed}{more}"


def get_or_create_flag(name: str, *, using: str = DEFAULT_DB_ALIAS) -> Flag:
    """The row of a registered rollout flag (created off: no team, no percentage).

    Every registered flag gets its row on migrate (flags.signals); this also
    covers a flag registered after the last migrate.
    """
    ROLLOUT_FLAGS.get(name)
    # superusers=False: rollout flags give nobody special treatment.
    flag: Flag  # waffle's manager is untyped
    flag, _ = Flag.objects.db_manager(using).get_or_create(name=name, defaults={"everyone": None, "superusers": False})
    return flag


def enable_for_teams(*, name: str, teams: Iterable[Team], actor: str, reason: str = "", force: bool = False) -> Flag:
    """List the teams (and lift any per-team block on them), if every enable guard agrees.

    A refusal raises GateRefusedError and changes nothing. force=True goes
    past the guards; it needs a reason, and the audit entry names what was overridden.
    """
    ROLLOUT_FLAGS.get(name)
    team_list = list(teams)
    # Every requested team is asked about, even one already on (by percentage or everyone):
    # listing pins it on, also after the percentage is lowered or "everyone" restored.
    reason = gated_reason(name=name, refusals=extensions.enable_refusals(name, team_list), force=force, reason=reason)
    return _move_teams(name=name, teams=team_list, on=True, actor=actor, reason=reason)


def disable_for_teams(*, name: str, teams: Collection[Team], actor: str, reason: str = "") -> Flag:
    """The per-team rollback: always allowed, immediate, and it wins over the percentage and "everyone on"."""
    return _move_teams(name=name, teams=teams, on=False, actor=actor, reason=reason)


def _move_teams(*, name: str, teams: Collection[Team], on: bool, actor: str, reason: str) -> Flag:
    with transaction.atomic(), attributed_to(actor, reason):
        flag = get_or_create_flag(name)
        into, out_of = (flag.teams, flag.blocked_teams) if on else (flag.blocked_teams, flag.teams)
        out_of.remove(*teams)
        into.add(*teams)
        # Team-list changes leave the row alone; bump "modified" so lists sorted by it stay truthful.
        flag.save(update_fields=["modified"])
    return flag


def parse_percent(value: Decimal | float | str) -> Decimal:
    try:
        percent = Decimal(str(value)).quantize(Decimal("0.1"))
    except InvalidOperation:
        raise FlagError(f"Percentage must be a number from 0 to 99.9, got {value!r}") from None
    if not percent.is_finite():
        raise FlagError(f"Percentage must be a number from 0 to 99.9, got {value!r}")
    if not Decimal("0") <= percent <= Decimal("99.9"):
        raise FlagError(f"Percentage must be from 0 to 99.9 (use everyone on for 100), got {value}")
    return percent


def set_percent(*, name: str, percent: Decimal | float | str, actor: str, reason: str = "", force: bool = False) -> Flag:
    """Turn the flag on for a stable, salted share of teams (listed and blocked teams keep their state).

    Teams the new percentage switches on must pass the enable guards, as in
    enable_for_teams (GateRefusedError, or force=True with a reason);
    lowering the percentage switches teams off and is never refused.
    """
    value = parse_percent(percent)
    return _update_mode(name=name, actor=actor, reason=reason, force=force, percent=value or None)


def set_everyone(*, name: str, everyone: bool | None, actor: str, reason: str = "", force: bool = False) -> Flag:
    """everyone=False is the kill switch, True turns the flag on for all teams, None restores per-team rules.

    True, and None after a kill (listed and percentage teams come back), must
    pass the enable guards for the teams they switch on, as in
    enable_for_teams (GateRefusedError, or force=True with a reason). The
    kill switch, and None after "everyone on", only switch teams off and are never refused.
    """
    return _update_mode(name=name, actor=actor, reason=reason, force=force, everyone=everyone)


def _update_mode(*, name: str, actor: str, reason: str, force: bool, **fields: Any) -> Flag:
    ROLLOUT_FLAGS.get(name)
    with transaction.atomic():
        # Locked until commit, so the state the guards judged is the state this change replaces.
        flag = Flag.objects.select_for_update().filter(name=name).first()
        proposed = {"everyone": flag.everyone if flag else None, "percent": flag.percent if flag else None, **fields}
        check = enable_gate_check(name=name, flag=flag, everyone=proposed["everyone"], percent=proposed["percent"])
        reason = gated_reason(name=name, refusals=check.refusals, force=force, reason=reason)
        with attributed_to(actor, reason):
            flag = flag or get_or_create_flag(name)
            for field_name, value in fields.items():
                setattr(flag, field_name, value)
            flag.save()
    return flag


# --- the enable guards on every change ---------------------------------------------------


@dataclass(frozen=True)
class GateCheck:
    """What the enable guards say about a proposed change of a flag.

    teams: slugs of the teams the change would switch on (effective state
    off → on) or newly list, by slug; refusals: the guards' problems with
    them (empty: the change may go ahead). No team switched on: no guard is asked.
    """

    teams: list[str]
    refusals: list[str]


def enable_gate_check(
    *,
    name: str,
    flag: Flag | None,
    everyone: bool | None,
    percent: Decimal | None,
    listed_ids: Collection[int] | None = None,
    blocked_ids: Collection[int] | None = None,
) -> GateCheck:
    """Ask the enable guards about the teams a proposed state of the flag would switch on.

    `flag` is the flag's row as stored now (None or unsaved: it has no row
    yet, so it is off for every team). The proposed state is `everyone`,
    `percent` (None or 0: no percentage) and the listed and blocked team ids
    (None: the stored lists, unchanged). A team is asked about when
    flags.models.decide says off before and on after, or when it is newly
    listed (listing pins it on, e.g. for when a kill is restored): so
    turning teams off (kill, disable, a lower percentage) is never refused.

    Queries: one for every team with its place on the stored lists, plus
    what the guards make (the shadow gate: one, only when a team is asked
    about); none for the kill switch with the lists unchanged, which switches nothing on.
    """
    if everyone is False and listed_ids is None:
        return GateCheck(teams=[], refusals=[])
    # The flag's row as stored now, if it has one.
    stored = flag if flag is not None and flag.pk is not None else None
    teams = Team.objects.order_by("slug").only("pk", "slug")
    if stored is not None:
        # The stored lists come with the teams, uncached: this decides a write.
        teams = teams.annotate(
            on_list=Exists(Flag.teams.through.objects.filter(flag_id=stored.pk, team_id=OuterRef("pk"))),
            on_block_list=Exists(Flag.blocked_teams.through.objects.filter(flag_id=stored.pk, team_id=OuterRef("pk"))),
        )
    listed_after = None if listed_ids is None else set(listed_ids)
    blocked_after = None if blocked_ids is None else set(blocked_ids)
    asked = []
    for team in teams:
        # on_list / on_block_list: the annotations above, which the team's model type does not know.
        listed = stored is not None and team.on_list  # type: ignore[attr-defined]
        blocked = stored is not None and team.on_block_list  # type: ignore[attr-defined]
        was_on = stored is not None and decide(
            flag_name=name, everyone=stored.everyone, percent=stored.percent,
            team_id=team.pk, listed=listed, blocked=blocked,
        )
        will_be_listed = listed if listed_after is None else team.pk in listed_after
        will_be_on = decide(
            flag_name=name, everyone=everyone, percent=percent or None, team_id=team.pk,
            listed=will_be_listed,
            blocked=blocked if blocked_after is None else team.pk in blocked_after,
        )
        if (will_be_on and not was_on) or (will_be_listed and not listed):
            asked.append(team)
    refusals = extensions.enable_refusals(name, asked) if asked else []
    return GateCheck(teams=[team.slug for team in asked], refusals=refusals)


def gated_reason(*, name: str, refusals: list[str], force: bool, reason: str) -> str:
    """The audit reason for a change the enable guards judged: unchanged when none refused.

    A refusal raises GateRefusedError, unless force=True: then the reason
    (which must not be blank) is prefixed with what was overridden.
    """
    if not refusals:
        return reason
    if not force:
        raise GateRefusedError(name, refusals)
    if not reason.strip():
        raise FlagError("Forcing past the readiness gate needs a reason")
    return f"{FORCED_PREFIX} ({'; '.join(refusals)}): {reason}"
