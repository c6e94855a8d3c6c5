"""The readiness gate on flips, and the guarded rollback.

A team may be flipped to the optimized side of a pair once its evidence in
the last SHADOW_EVIDENCE_DAYS days holds at least SHADOW_MIN_COMPARISONS
comparisons, no mismatch and no error (timeouts count as errors; see
shadow.evidence.Evidence.problems). Once on, mismatches and optimized errors
while optimized serves are counted per day in their own tally (FailureTally,
not the evidence, so an evidence write that fails cannot stop a rollback); at
SHADOW_ROLLBACK_THRESHOLD the team is flipped back automatically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sentry_sdk
from django.db import connection
from django.utils import timezone

import flags
from apps.teams.models import Team
from flags import extensions
from flags.services import disable_for_teams
from shadow import conf, pairs
from shadow.evidence import bounded_write, evidence_for

logger = logging.getLogger(__name__)

AUTO_ROLLBACK_ACTOR = "system:auto-rollback"


def readiness_problems(flag_name: str, teams: Sequence[Team]) -> list[str]:
    """The flags app's enable guard: why these teams may not be flipped yet (empty list: go)."""
    if flag_name not in pairs.names():
        return []
    evidence = evidence_for(flag_name, [team.pk for team in teams])
    slugs = {team.pk: team.slug for team in teams}
    return [
        f"{slugs[team_id]}: {', '.join(item.problems)}" for team_id, item in evidence.items() if not item.ready
    ]


@dataclass(frozen=True)
class Failures:
    """Today's mismatches and optimized errors while optimized served, for one pair and team."""

    mismatches: int
    errors: int


COUNT_FAILURE = """
INSERT INTO shadow_failuretally AS t (pair_name, team_id, day, mismatches, errors)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (pair_name, team_id, day) DO UPDATE SET
    mismatches = t.mismatches + EXCLUDED.mismatches, errors = t.errors + EXCLUDED.errors
RETURNING mismatches, errors
"""


def count_failure(pair_name: str, team_id: int, *, mismatch: bool) -> Failures:
    """Add one mismatch (or one optimized error) to today's tally: its own row, written apart from the evidence."""
    with bounded_write(), connection.cursor() as cursor:
        cursor.execute(COUNT_FAILURE, [pair_name, team_id, timezone.now().date(), int(mismatch), int(not mismatch)])
        mismatches, errors = cursor.fetchone()
    return Failures(mismatches=mismatches, errors=errors)


def roll_back_if_needed(pair_name: str, team_id: int, counters: Failures) -> bool:
    """Flip the team back to legacy when today's failures while optimized served reach the threshold."""
    failures = counters.mismatches + counters.errors
    threshold = conf.get("SHADOW_ROLLBACK_THRESHOLD")
    if failures < threshold:
        return False
    team = Team.objects.filter(pk=team_id).first()
    if team is None or not flags.is_enabled(pair_name, team=team):
        return False
    reason = (
        f"{counters.mismatches} mismatches and {counters.errors} optimized errors "
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
    extensions.register_enable_guard(readiness_problems)
