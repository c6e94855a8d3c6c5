"""Legacy side of `integrations.copilot_sync`: one lookup and one upsert per record.

This is the "before" of the performance plan: the query count grows with the
number of records (a member lookup, then update_or_create with its savepoints).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from apps.integrations.services.copilot_sync.records import CopilotUsageRecord
from apps.metrics.models import AIUsageDaily, TeamMember, acceptance_rate
from apps.teams.models import Team

logger = logging.getLogger(__name__)


def sync_copilot_usage(*, team: Team, records: Sequence[CopilotUsageRecord]) -> dict[str, int]:
    """Store each record as the team member's Copilot AIUsageDaily row for that day.

    Matching rule: a record belongs to the team member whose `github_username`
    equals the record's login exactly (case-sensitive, no trimming), inactive
    members included; when several members of the team share the login, the
    one with the lowest id wins. Members of other teams are never considered.

    A matched record creates or replaces the row keyed by (team, member, day,
    "copilot"): suggestions_shown, suggestions_accepted, acceptance_rate
    (accepted ÷ shown × 100, two decimals, None when nothing was shown) and
    active_hours None. Rows are written in (member id, day) order, whatever
    the report's order. An unmatched login is counted and skipped; only the
    count is logged, never the logins. All writes happen in one transaction.

    Returns {"records": n, "stored": n, "unmatched": n}; records = stored + unmatched.
    """
    stored = unmatched = 0
    with transaction.atomic():
        matched = []
        for record in records:
            member = TeamMember.objects.filter(team=team, github_username=record.login).order_by("id").first()
            if member is None:
                unmatched += 1
                continue
            matched.append((member, record))
        # Rows in key order (member id, day), as the optimized side writes them: concurrent syncs of overlapping
        # reports, and a sync beside another's shadow run, then take their row locks in one order and never deadlock.
        for member, record in sorted(matched, key=lambda item: (item[0].pk, item[1].day)):
            AIUsageDaily.objects.update_or_create(
                team=team,
                member=member,
                date=record.day,
                source=AIUsageDaily.Source.COPILOT,
                defaults={
                    "suggestions_shown": record.shown,
                    "suggestions_accepted": record.accepted,
                    "acceptance_rate": acceptance_rate(record.shown, record.accepted),
                    "active_hours": None,
                },
            )
            stored += 1
    if unmatched:
        logger.info("Copilot sync for team %s: %d report logins matched no team member", team.slug, unmatched)
    return {"records": len(records), "stored": stored, "unmatched": unmatched}
