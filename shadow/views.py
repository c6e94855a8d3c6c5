"""The staff console at /ops/shadow/: every pair × team with its evidence and flag state, and the latest records.

Access: anonymous users are sent to the login page; logged-in users who are
not staff get 403 (an operator page at a fixed, well-known address: nothing
to hide by answering 404). GET only; it changes nothing, so it has no forms.
The records show unredacted differences, hence staff only.

Queries are independent of the number of teams: the teams, one evidence
query per pair, the flag rows and latest audit entries, the rates, and the
latest records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.teams.models import Team
from flags.status import flag_statuses
from shadow import conf, pairs
from shadow.evidence import evidence_for, evidence_row
from shadow.models import SamplingRate, ShadowRecord
from shadow.sampling import format_rate

RECORDS_SHOWN = 50


@dataclass(frozen=True)
class ConsoleRow:
    team_slug: str
    team_name: str
    flag_on: bool
    rate: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class ConsolePair:
    name: str
    description: str
    flag_mode: str
    revisions: dict[str, str]
    rows: list[ConsoleRow]


def console_pairs(teams: list[Team]) -> list[ConsolePair]:
    """Every registered pair with one row per team (teams in the given order)."""
    registered = pairs.all()
    if not registered:
        return []
    names = [pair.name for pair in registered]
    statuses = {status.name: status for status in flag_statuses(teams=teams, flag_names=names)}
    rates: dict[str, dict[int | None, Any]] = {}
    for pair_name, team_id, rate in SamplingRate.objects.filter(pair_name__in=names).values_list(
        "pair_name", "team_id", "rate"
    ):
        rates.setdefault(pair_name, {})[team_id] = rate
    default_rate = conf.get("SHADOW_DEFAULT_RATE")
    result = []
    for pair in registered:
        evidence = evidence_for(pair.name, [team.pk for team in teams])
        pair_rates = rates.get(pair.name, {})
        fallback = pair_rates.get(None, default_rate)
        status = statuses[pair.name]
        result.append(ConsolePair(
            name=pair.name,
            description=pair.description or (status.description or ""),
            flag_mode=status.mode,
            revisions=pair.revisions(),
            rows=[
                ConsoleRow(
                    team_slug=team.slug,
                    team_name=team.name,
                    flag_on=cell.on,
                    rate=format_rate(pair_rates.get(team.pk, fallback)),
                    evidence=evidence_row(evidence[team.pk]),
                )
                for team, cell in zip(teams, status.teams)
            ],
        ))
    return result


@require_GET
@login_required
def console(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The shadow console is for staff only")
    teams = list(Team.objects.order_by("slug"))
    records = list(ShadowRecord.objects.select_related("team").order_by("-created_at", "-id")[:RECORDS_SHOWN])
    context = {
        "pairs": console_pairs(teams),
        "records": records,
        "records_shown": RECORDS_SHOWN,
        "min_comparisons": conf.get("SHADOW_MIN_COMPARISONS"),
        "evidence_days": conf.get("SHADOW_EVIDENCE_DAYS"),
    }
    return render(request, "shadow/console.html", context)
