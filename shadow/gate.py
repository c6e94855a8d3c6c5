"""Evidence per pair and team, the readiness gate on flips, and the guarded rollback.

A team may be flipped to the optimized side of a pair once its evidence in
the last SHADOW_EVIDENCE_DAYS days holds at least SHADOW_MIN_COMPARISONS
comparisons, no mismatch and no error (timeouts count as errors). Once on,
mismatches and optimized errors while optimized serves are counted per day;
at SHADOW_ROLLBACK_THRESHOLD the team is flipped back automatically.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import sentry_sdk
from django.utils import timezone

from shadow import conf
from shadow.models import MS_BUCKETS, QUERY_BUCKETS, DailyEvidence

logger = logging.getLogger(__name__)

AUTO_ROLLBACK_ACTOR = "system:auto-rollback"


def percentile(histogram: list[int], buckets, fraction: float):
    """The upper bound of the bucket holding the given fraction of samples (None without samples)."""
    total = sum(histogram)
    if not total:
        return None
    threshold = fraction * total
    running = 0
    for index, count in enumerate(histogram):
        running += count
        if running >= threshold:
            return buckets[index] if index < len(buckets) else float("inf")
    return float("inf")


def add_histograms(first: list[int], second: list[int]) -> list[int]:
    return [a + b for a, b in zip(first, second)]


@dataclass
class Evidence:
    pair: str
    team_id: int
    days: int
    runs: int = 0
    matches: int = 0
    mismatches: int = 0
    ignored_differences: int = 0
    errors: int = 0
    timeouts: int = 0
    legacy_ms: list[int] = field(default_factory=lambda: [0] * (len(MS_BUCKETS) + 1))
    optimized_ms: list[int] = field(default_factory=lambda: [0] * (len(MS_BUCKETS) + 1))
    legacy_queries: list[int] = field(default_factory=lambda: [0] * (len(QUERY_BUCKETS) + 1))
    optimized_queries: list[int] = field(default_factory=lambda: [0] * (len(QUERY_BUCKETS) + 1))

    @property
    def comparisons(self) -> int:
        return self.matches + self.mismatches

    def p50_ms(self, side: str):
        return percentile(getattr(self, f"{side}_ms"), MS_BUCKETS, 0.5)

    def p95_ms(self, side: str):
        return percentile(getattr(self, f"{side}_ms"), MS_BUCKETS, 0.95)

    def p50_queries(self, side: str):
        return percentile(getattr(self, f"{side}_queries"), QUERY_BUCKETS, 0.5)

    def p95_queries(self, side: str):
        return percentile(getattr(self, f"{side}_queries"), QUERY_BUCKETS, 0.95)

    @property
    def problems(self) -> list[str]:
        needed = conf.get("SHADOW_MIN_COMPARISONS")
        found = []
        if self.comparisons < needed:
            found.append(f"{self.comparisons} of {needed} comparisons in the last {self.days} days")
        if self.mismatches:
            found.append(f"{self.mismatches} mismatches")
        if self.errors or self.timeouts:
            found.append(f"{self.errors} errors and {self.timeouts} timeouts")
        return found

    @property
    def ready(self) -> bool:
        return not self.problems


def evidence_for(pair_name: str, team_ids, *, today: dt.date | None = None) -> dict[int, Evidence]:
    """Evidence per team over the window, from one query."""
    days = conf.get("SHADOW_EVIDENCE_DAYS")
    today = today or timezone.now().date()
    evidence = {team_id: Evidence(pair=pair_name, team_id=team_id, days=days) for team_id in team_ids}
    rows = DailyEvidence.objects.filter(
        pair_name=pair_name, team_id__in=list(evidence), day__gt=today - dt.timedelta(days=days), day__lte=today
    )
    for row in rows:
        item = evidence[row.team_id]
        for name in ("runs", "matches", "mismatches", "ignored_differences", "errors", "timeouts"):
            setattr(item, name, getattr(item, name) + getattr(row, name))
        item.legacy_ms = add_histograms(item.legacy_ms, row.legacy_ms_histogram)
        item.optimized_ms = add_histograms(item.optimized_ms, row.optimized_ms_histogram)
        item.legacy_queries = add_histograms(item.legacy_queries, row.legacy_queries_histogram)
        item.optimized_queries = add_histograms(item.optimized_queries, row.optimized_queries_histogram)
    return evidence


def readiness_problems(flag_name: str, teams) -> list[str]:
    """The flags app's enable guard: why these teams may not be flipped yet (empty list: go)."""
    from shadow import registry

    if flag_name not in registry.names():
        return []
    evidence = evidence_for(flag_name, [team.pk for team in teams])
    slugs = {team.pk: team.slug for team in teams}
    return [
        f"{slugs[team_id]}: {', '.join(item.problems)}" for team_id, item in evidence.items() if not item.ready
    ]


def roll_back_if_needed(pair_name: str, team_id: int, counters) -> bool:
    """Flip the team back to legacy when today's failures while optimized served reach the threshold."""
    import flags
    from flags.services import disable_for_teams

    from apps.teams.models import Team

    failures = counters.optimized_served_mismatches + counters.optimized_errors
    threshold = conf.get("SHADOW_ROLLBACK_THRESHOLD")
    if failures < threshold:
        return False
    team = Team.objects.filter(pk=team_id).first()
    if team is None or not flags.is_enabled(pair_name, team=team):
        return False
    reason = (
        f"{counters.optimized_served_mismatches} mismatches and {counters.optimized_errors} optimized errors "
        f"today while optimized served (threshold {threshold})"
    )
    disable_for_teams(name=pair_name, teams=[team], actor=AUTO_ROLLBACK_ACTOR, reason=reason)
    logger.warning("Auto-rollback of %s for team %s: %s", pair_name, team.slug, reason)
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("shadow.pair", pair_name)
        scope.set_tag("team", team.slug)
        scope.fingerprint = ["shadow-auto-rollback", pair_name]
        scope.set_context("shadow", {"reason": reason})
        sentry_sdk.capture_message(f"Auto-rollback of {pair_name} for team {team.slug}", level="error")
    return True


def connect() -> None:
    """Hook the readiness gate into flag changes (flags does not import shadow)."""
    from flags import extensions

    extensions.register_enable_guard(readiness_problems)
