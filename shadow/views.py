"""The staff console at /ops/shadow/: every pair × team with its evidence and flag state, and the latest records.

Access: anonymous users are sent to the login page; logged-in users who are
not staff, or lack the `shadow.view_evidence` permission, get 403 (an
operator page at a fixed, well-known address: nothing to hide by answering
404). GET only; it changes nothing, so it has no forms. The records'
differences and errors are shown in full only with `shadow.view_personal`;
without it, as Sentry gets them (personal values and exception messages
redacted). Superusers hold every permission.

Queries are independent of the number of teams: the teams, one evidence
query per pair, the flag rows and latest audit entries, the rates, and the
latest records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
from shadow.models import VIEW_EVIDENCE, VIEW_PERSONAL, SamplingRate, ShadowRecord
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
class ConsoleRecord:
    """A record as this operator may see it (redacted without view_personal)."""

    created_at: datetime
    pair_name: str
    team_slug: str
    outcome: str
    served: str
    optimized_revision: str
    differences: list[str]
    error: str

    @classmethod
    def of(cls, record: ShadowRecord, *, personal: bool) -> ConsoleRecord:
        return cls(
            created_at=record.created_at, pair_name=record.pair_name, team_slug=record.team.slug,
            outcome=record.outcome, served=record.served, optimized_revision=record.optimized_revision,
            differences=record.differences(personal=personal), error=record.error_shown(personal=personal),
        )


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
    if not (request.user.is_staff and request.user.has_perm(VIEW_EVIDENCE)):
        raise PermissionDenied("The shadow console is for staff with the view_evidence permission")
    personal = request.user.has_perm(VIEW_PERSONAL)
    teams = list(Team.objects.order_by("slug"))
    records = ShadowRecord.objects.select_related("team").order_by("-created_at", "-id")[:RECORDS_SHOWN]
    context = {
        "pairs": console_pairs(teams),
        "records": [ConsoleRecord.of(record, personal=personal) for record in records],
        "personal": personal,
        "records_shown": RECORDS_SHOWN,
        "min_comparisons": conf.get("SHADOW_MIN_COMPARISONS"),
        "evidence_days": conf.get("SHADOW_EVIDENCE_DAYS"),
    }
    return render(request, "shadow/console.html", context)
