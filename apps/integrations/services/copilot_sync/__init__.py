"""Copilot usage sync: fetch a team's daily report from GitHub, validate it, store it.

`sync_copilot_metrics` orchestrates one team and day. It downloads the report
once, so the HTTP traffic stays outside the `integrations.copilot_sync` pair;
the pair (`sync_copilot_usage`, legacy and optimized twins with the same
signature) only receives validated records and writes them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from apps.integrations.errors import IntegrationError
from apps.integrations.github.copilot_report import CopilotReportError, fetch_users_daily_report
from apps.integrations.models import GitHubIntegration
from apps.integrations.services.copilot_sync import legacy, optimized
from apps.integrations.services.copilot_sync.records import CopilotUsageRecord, parse_usage_records
from apps.metrics.models import AIUsageDaily
from apps.teams.models import Team
from shadow import EvidenceNeeds, pair

__all__ = [
    "CopilotSyncSummary",
    "CopilotUsageRecord",
    "parse_usage_records",
    "sync_copilot_metrics",
    "sync_copilot_usage",
    "yesterday_utc",
]

logger = logging.getLogger(__name__)


# --- the integrations.copilot_sync pair ------------------------------------------


def stored_copilot_usage(*, team: Team, records: Sequence[CopilotUsageRecord]) -> list[dict[str, Any]]:
    """The pair's snapshot: the team's AIUsageDaily rows (every source) on the records' days, by member id and date.

    Other sources' rows on those days are included: both sides must leave them alone.
    """
    days = {record.day for record in records}
    return list(
        AIUsageDaily.objects.filter(team=team, date__in=days)
        .order_by("member_id", "date", "source")
        .values(
            "member_id", "date", "source", "suggestions_shown", "suggestions_accepted", "acceptance_rate",
            "active_hours",
        )
    )


def _replay_of_last_stored_day(team: Team) -> list[dict[str, Any]]:
    """One example for `rollout verify`, which cannot fetch a report: the team's latest Copilot day, replayed.

    See _replays_of_stored_days; no Copilot rows, no example (verify then exits 2).
    """
    return _replays_of_stored_days(team, days=1)


def _backfill_days(team: Team) -> list[dict[str, Any]]:
    """`rollout verify --backfill`: the team's last 28 stored Copilot days, each replayed, each counting once."""
    return _replays_of_stored_days(team, days=BACKFILL_DAYS)


def _replays_of_stored_days(team: Team, *, days: int) -> list[dict[str, Any]]:
    """The team's latest `days` Copilot days that have rows, newest first, each rebuilt as one report.

    The records of a day are rebuilt from the team's AIUsageDaily Copilot rows
    of that day (login = the member's github_username, shown and accepted as
    stored), in member id order; members without a login are left out, and of
    members sharing a login only the first is kept, as the parser keeps the
    first record of a login and day. Replaying rewrites those rows with
    active_hours None, like any sync.
    """
    usage = AIUsageDaily.objects.filter(team=team, source=AIUsageDaily.Source.COPILOT)
    recent = list(usage.order_by("-date").values_list("date", flat=True).distinct()[:days])
    if not recent:
        return []
    rows = (
        usage.filter(date__in=recent)
        .exclude(member__github_username="")
        .order_by("-date", "member_id")
        .values_list("date", "member__github_username", "suggestions_shown", "suggestions_accepted")
    )
    reports: dict[dt.date, dict[str, CopilotUsageRecord]] = {}
    for day, login, shown, accepted in rows:
        reports.setdefault(day, {}).setdefault(
            login, CopilotUsageRecord(login=login, day=day, shown=shown, accepted=accepted)
        )
    return [{"records": list(records.values())} for records in reports.values() if records]


# A sync runs once per team and day: readiness asks for 14 distinct days compared in the last 28,
# reached on the schedule or at once by backfill.
BACKFILL_DAYS = 28
COPILOT_EVIDENCE = EvidenceNeeds(min_comparisons=14, min_argument_sets=14, window_days=28)


# Doubts kept identical on both sides (see legacy.sync_copilot_usage):
# - active_hours is reset to None on every synced row, also when it held a value.
# - A login shared by several members of the team goes to the lowest id only; the others get nothing.
# Records travel to stored evidence only as "<list>": CopilotUsageRecord is not
# registered with shadow.register_type on purpose, so logins never reach a ShadowRecord.
sync_copilot_usage = pair(
    "integrations.copilot_sync",
    legacy=legacy.sync_copilot_usage,
    optimized=optimized.sync_copilot_usage,
    description=(
        "Copilot report writer: one login lookup and one bulk upsert per report "
        "instead of a lookup and an update_or_create per record."
    ),
    writes=True,
    snapshot=stored_copilot_usage,
    examples=_replay_of_last_stored_day,
    evidence=COPILOT_EVIDENCE,
    backfill=_backfill_days,
)


# last_sync_error is shown in the admin list; a report with thousands of bad lines must not flood it.
ERROR_MAX_LENGTH = 1000


@dataclass(frozen=True)
class CopilotSyncSummary:
    """What one sync stored. records = stored + unmatched + malformed."""

    day: dt.date
    records: int
    stored: int
    unmatched: int
    malformed: int
    problems: tuple[str, ...]

    @property
    def status(self) -> str:
        if self.malformed or self.unmatched:
            return GitHubIntegration.SyncStatus.PARTIAL.value
        return GitHubIntegration.SyncStatus.OK.value


def yesterday_utc() -> dt.date:
    """The latest day GitHub has a complete report for."""
    return timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=1)


def sync_copilot_metrics(*, team: Team, day: dt.date) -> CopilotSyncSummary:
    """Fetch the team's Copilot users-1-day report for `day` and store its records.

    Malformed records are skipped, each logged at WARNING with its number and
    the field at fault; they never stop the valid records from being stored.
    Afterwards the integration records the run: last_sync_at now,
    last_sync_status "ok", or "partial" when any record was malformed or
    matched no member, and last_sync_error summarising the skipped records
    (empty when "ok", capped at ERROR_MAX_LENGTH characters).

    Raises IntegrationError when the team has no GitHub integration, or when
    its org or token is blank (the integration is then marked "failed").
    When the report cannot be fetched, the integration is marked "failed" with
    the error message, nothing is written, and the CopilotReportError is
    re-raised so the caller (a task) can retry.
    """
    integration = GitHubIntegration.objects.filter(team=team).first()
    if integration is None:
        raise IntegrationError(f"Team {team.slug!r} has no GitHub integration")
    if not integration.org_slug or not integration.access_token:
        missing = "organisation" if not integration.org_slug else "access token"
        message = f"The GitHub integration of team {team.slug!r} has no {missing} set"
        _record_run(integration, status=GitHubIntegration.SyncStatus.FAILED, error=message)
        raise IntegrationError(message)

    try:
        raw_records = fetch_users_daily_report(org=integration.org_slug, token=integration.access_token, day=day)
    except CopilotReportError as exc:
        _record_run(integration, status=GitHubIntegration.SyncStatus.FAILED, error=str(exc))
        raise

    records, problems = parse_usage_records(raw_records, report_day=day)
    for problem in problems:
        logger.warning(
            "Copilot report for team %s (org %s) on %s: skipped %s", team.slug, integration.org_slug, day, problem
        )
    result = sync_copilot_usage(team=team, records=records)
    summary = CopilotSyncSummary(
        day=day,
        records=len(raw_records),
        stored=result["stored"],
        unmatched=result["unmatched"],
        malformed=len(problems),
        problems=tuple(problems),
    )
    _record_run(integration, status=summary.status, error=_error_summary(summary))
    logger.info(
        "Copilot sync for team %s on %s: %d records, %d stored, %d unmatched, %d malformed",
        team.slug,
        day,
        summary.records,
        summary.stored,
        summary.unmatched,
        summary.malformed,
    )
    return summary


def _error_summary(summary: CopilotSyncSummary) -> str:
    parts = []
    if summary.malformed:
        parts.append(f"{summary.malformed} malformed records skipped: " + "; ".join(summary.problems))
    if summary.unmatched:
        parts.append(f"{summary.unmatched} report logins matched no team member")
    return _capped(". ".join(parts))


def _capped(text: str) -> str:
    return text if len(text) <= ERROR_MAX_LENGTH else text[: ERROR_MAX_LENGTH - 1] + "…"


def _record_run(integration: GitHubIntegration, *, status: str, error: str) -> None:
    integration.last_sync_at = timezone.now()
    integration.last_sync_status = status
    integration.last_sync_error = _capped(error)
    integration.save(update_fields=["last_sync_at", "last_sync_status", "last_sync_error", "updated_at"])
