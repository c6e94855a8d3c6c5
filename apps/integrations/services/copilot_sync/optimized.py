"""Optimized side of `integrations.copilot_sync`: one member lookup and one bulk upsert per report.

A constant number of statements at any report size: in tests 4 (the
transaction's savepoint and release, the lookup of every login at once, the
INSERT … ON CONFLICT DO UPDATE), 3 when no record matches a member.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.db import transaction

from apps.integrations.services.copilot_sync.records import CopilotUsageRecord
from apps.metrics.models import AIUsageDaily, TeamMember, acceptance_rate
from apps.teams.models import Team

logger = logging.getLogger(__name__)

UPDATED_FIELDS = ["suggestions_shown", "suggestions_accepted", "acceptance_rate", "active_hours", "updated_at"]


def sync_copilot_usage(*, team: Team, records: Sequence[CopilotUsageRecord]) -> dict[str, int]:
    """Store each record as the team member's Copilot AIUsageDaily row for that day.

    Same contract as the legacy function. Matching rule: a record belongs to
    the team member whose `github_username` equals the record's login exactly
    (case-sensitive, no trimming), inactive members included; when several
    members of the team share the login, the one with the lowest id wins.
    Members of other teams are never considered.

    A matched record creates or replaces the row keyed by (team, member, day,
    "copilot"): suggestions_shown, suggestions_accepted, acceptance_rate
    (accepted ÷ shown × 100, two decimals, None when nothing was shown) and
    active_hours None. When two records land on the same row (same login and
    day; the parser never lets that through), the later one is stored and both
    count as stored, as legacy's successive upserts do. An unmatched login is
    counted and skipped; only the count is logged, never the logins. All
    writes happen in one transaction.

    Returns {"records": n, "stored": n, "unmatched": n}; records = stored + unmatched.
    """
    stored = unmatched = 0
    with transaction.atomic():
        member_ids = _member_ids_by_login(team=team, logins={record.login for record in records})
        rows: dict[tuple[int, dt.date], AIUsageDaily] = {}
        for record in records:
            member_id = member_ids.get(record.login)
            if member_id is None:
                unmatched += 1
                continue
            # One statement cannot upsert the same row twice; the later record replaces the earlier here instead.
            rows[(member_id, record.day)] = AIUsageDaily(
                team=team,
                member_id=member_id,
                date=record.day,
                source=AIUsageDaily.Source.COPILOT,
                suggestions_shown=record.shown,
                suggestions_accepted=record.accepted,
                acceptance_rate=acceptance_rate(record.shown, record.accepted),
                active_hours=None,
            )
            stored += 1
        AIUsageDaily.objects.bulk_create(
            # Key order (member id, day), as legacy writes them: concurrent syncs take the row locks in one order.
            [rows[key] for key in sorted(rows)],
            update_conflicts=True,
            unique_fields=["team", "member", "date", "source"],
            update_fields=UPDATED_FIELDS,
        )
    if unmatched:
        logger.info("Copilot sync for team %s: %d report logins matched no team member", team.slug, unmatched)
    return {"records": len(records), "stored": stored, "unmatched": unmatched}


def _member_ids_by_login(*, team: Team, logins: set[str]) -> dict[str, int]:
    """{login: id of the team's lowest-id member with exactly that github_username}, in one query."""
    member_ids: dict[str, int] = {}
    if not logins:
        return member_ids
    pairs = (
        TeamMember.objects.filter(team=team, github_username__in=logins)
        .order_by("id")
        .values_list("github_username", "id")
    )
    for login, member_id in pairs:
        member_ids.setdefault(login, member_id)
    return member_ids
