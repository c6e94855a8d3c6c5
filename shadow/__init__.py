"""Dual-run verification of legacy/optimized pairs: dispatch, sampling, comparison, evidence.

The public face. Application code imports from here only:

    from shadow import pair, CompareRules, IgnoreRule

    get_team_breakdown = pair("metrics.team_breakdown", legacy=legacy.get_team_breakdown,
                              optimized=optimized.get_team_breakdown)

- pair(name, legacy=…, optimized=…, **options): declare and register a pair; the returned
  object is called like the legacy function (keyword arguments) and is typed like it.
- compare(name, team=…, **kwargs): run both sides now, rolled back, store the evidence,
  return the Comparison.
- force_side(name, "legacy" | "optimized"): a context manager for tests.
- CompareRules, IgnoreRule: how a pair's results are compared.
- register_type(cls): let a dataclass travel as call arguments (deferred runs, records).
- register_team_data(TeamData(shapes=…, generate=…)): the edge-case shapes of a team's data
  and a builder of synthetic teams, for `rollout verify` (its coverage line, --generated).
- sample_plan(name, team_slugs=…): give a pair a dry-run rollout plan for the autopilot to
  explain (the demo's), unless it has a plan already.
- The errors: ShadowError and its subclasses.

How the package is layered, and how to add a pair: docs/architecture.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shadow.codec import register_type
from shadow.diff import CompareRules, IgnoreRule
from shadow.errors import NotReadyError, ShadowError, ShadowMismatchError, ShadowTimeout, UnknownPairError
from shadow.pairs import CachedEntry, EvidenceNeeds, Pair, PairCache, TeamData, pair, register_team_data
from shadow.testing import force_side

if TYPE_CHECKING:
    from shadow.outcome import Comparison

__all__ = [
    "CachedEntry",
    "CompareRules",
    "EvidenceNeeds",
    "IgnoreRule",
    "NotReadyError",
    "Pair",
    "PairCache",
    "ShadowError",
    "ShadowMismatchError",
    "ShadowTimeout",
    "TeamData",
    "UnknownPairError",
    "compare",
    "force_side",
    "pair",
    "register_team_data",
    "register_type",
    "sample_plan",
]


def compare(name: str, *, team: Any, **kwargs: Any) -> Comparison:
    """Run both sides of pair `name` now, with writes isolated, store the evidence and return the Comparison."""
    # Imported on call: judging needs the shadow models, which Django loads after this package.
    from shadow.judging import compare_now

    return compare_now(name, team=team, **kwargs)


def sample_plan(pair_name: str, *, team_slugs: list[str] | None = None) -> bool:
    """Give the pair a rollout plan in dry run, with the model's defaults, unless it has one; whether one was created.

    A plan in dry run is only explained, never acted on. An existing plan is kept as it is, whatever its
    status: an operator may have started it since. team_slugs: the promotion order; None: every team.
    """
    # Imported on call: Django loads the shadow models after this package.
    from shadow.models import RolloutPlan
    from shadow.pairs import get

    get(pair_name)  # an unknown pair raises UnknownPairError rather than leaving a plan nothing can act on
    _, created = RolloutPlan.objects.get_or_create(
        pair_name=pair_name, defaults={"status": RolloutPlan.Status.DRY_RUN, "teams": list(team_slugs or [])}
    )
    return created
