"""Which calls are compared: a rate per pair, overridable per team, changeable at run time.

Lookup order: the team's rate for the pair, the pair's rate for all teams,
SHADOW_DEFAULT_RATE. Rates are cached per pair in each process's memory (the
"flags" cache, never Redis) for at most FLAGS_MAX_STALE_SECONDS, like the
flags themselves: the process that changes a rate sees it at once, every
other process within that bound, whatever the cache server does. Every
change is written to the flags' audit log.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.cache import BaseCache, caches
from django.db import transaction

from flags import conf as flags_conf
from flags.audit import UNATTRIBUTED, attributed_to, write_entry
from shadow import conf
from shadow.models import SamplingRate
from tformance import generations

if TYPE_CHECKING:
    from apps.teams.models import Team

ALL_TEAMS = "all"


def rates_cache() -> BaseCache:
    # Local memory in every process: staleness is bounded by the entry's timeout, not by a shared server.
    return caches["flags"]


def cache_key(pair_name: str) -> str:
    return f"shadow:rates:{pair_name}"


def rates_for(pair_name: str) -> dict[int | str, float]:
    """{team id or "all": rate} for the pair, from the cache when warm."""
    name = f"rates:{pair_name}"
    usable = generations.cache_usable(name)
    key = generations.stamped(cache_key(pair_name), name)
    rates: dict[int | str, float] | None = rates_cache().get(key) if usable else None
    if rates is None:
        rates = {
            (team_id if team_id is not None else ALL_TEAMS): float(rate)
            for team_id, rate in SamplingRate.objects.filter(pair_name=pair_name).values_list("team_id", "rate")
        }
        if usable:
            rates_cache().set(key, rates, timeout=flags_conf.max_stale_seconds())
    return rates


def rate_for(pair_name: str, team: Team | None) -> float:
    rates = rates_for(pair_name)
    team_id = getattr(team, "pk", None)
    if team_id in rates:
        return rates[team_id]
    return rates.get(ALL_TEAMS, float(conf.get("SHADOW_DEFAULT_RATE")))


def should_sample(pair_name: str, team: Team | None) -> bool:
    rate = rate_for(pair_name, team)
    return rate >= 1 or (rate > 0 and random.random() < rate)


def forget_rates(pair_name: str) -> None:
    generations.changed(f"rates:{pair_name}")


def format_rate(rate: Any) -> str:
    """A rate as operators type it: 0.01, 1, 0.5 (no exponent, no trailing zeros)."""
    return format(Decimal(str(rate)).normalize(), "f")


def describe_rate(rate: Any) -> str:
    """A stored rate as the audit log shows it; None: no rate of its own."""
    return "sampling default" if rate is None else f"sampling {format_rate(rate)}"


def record_rate_change(
    *, pair_name: str, team: Team | None, actor: str, reason: str, before: Any, after: Any
) -> None:
    """Write a rate change to the flags' audit log, beside the flag changes of the same pair."""
    with attributed_to(actor or UNATTRIBUTED, reason):
        write_entry(
            flag_name=pair_name, team_id=team.pk if team else None, team_slug=team.slug if team else "",
            before=describe_rate(before), after=describe_rate(after),
        )


def set_rate(
    *, pair_name: str, rate: Decimal | float | str, team: Team | None = None, actor: str = "", reason: str = ""
) -> SamplingRate:
    """Set the pair's rate for one team, or for all teams when team is None; audited with actor and reason."""
    value = Decimal(str(rate))
    if not Decimal("0") <= value <= Decimal("1"):
        raise ValueError(f"Sampling rate must be between 0 and 1, got {rate}")
    with transaction.atomic():
        before = (
            SamplingRate.objects.select_for_update().filter(pair_name=pair_name, team=team)
            .values_list("rate", flat=True).first()
        )
        row, _ = SamplingRate.objects.update_or_create(
            pair_name=pair_name, team=team, defaults={"rate": value, "updated_by": actor}
        )
        record_rate_change(pair_name=pair_name, team=team, actor=actor, reason=reason, before=before, after=value)
    return row
