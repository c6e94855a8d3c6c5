"""Start-up checks: each pair's two signatures match, each pair has a rollout flag, settings are valid."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import Error, register

from flags.registry import ROLLOUT_FLAGS
from shadow import conf, pairs
from shadow.pairs import Pair


def signature_problems(pair: Pair[Any, Any]) -> list[str]:
    legacy, optimized = inspect.signature(pair.legacy), inspect.signature(pair.optimized)
    problems = []
    if str(legacy) != str(optimized):
        problems.append(f"legacy{legacy} != optimized{optimized}")
    for parameter in legacy.parameters.values():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            problems.append(f"parameter {parameter.name!r} is not keyword-only")
    if "team" not in legacy.parameters:
        problems.append("no keyword-only 'team' parameter")
    for side, function in (("legacy", pair.legacy), ("optimized", pair.optimized)):
        # A generator would be compared as an object and run outside the savepoint and the budget;
        # stream pairs are the exception: their rows are compared as they pass (shadow/streaming.py).
        if inspect.isgeneratorfunction(function) and not pair.stream:
            problems.append(f"the {side} side is a generator; pair sides return plain data")
    return problems


@register()
def check_pairs(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for pair in pairs.all():
        errors.extend(
            Error(f"Pair {pair.name!r}: {problem}", id="shadow.E001") for problem in signature_problems(pair)
        )
        if pair.name not in ROLLOUT_FLAGS:
            errors.append(
                Error(
                    f"Pair {pair.name!r} has no rollout flag",
                    hint="Declare a flag of the same name in flags/registry.py",
                    id="shadow.E002",
                )
            )
    return errors


def _number_between(name: str, low: float, high: float) -> list[Error]:
    value = conf.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return [Error(f"{name} must be a number from {low} to {high}, got {value!r}", id="shadow.E003")]
    return []


@register()
def check_shadow_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Error]:
    errors = _number_between("SHADOW_DEFAULT_RATE", 0, 1)
    errors += _number_between("SHADOW_TIME_BUDGET_MS", 1, 600_000)
    errors += _number_between("SHADOW_VERIFY_BUDGET_MS", 1, 3_600_000)
    errors += _number_between("SHADOW_MIN_COMPARISONS", 0, 10**9)
    errors += _number_between("SHADOW_EVIDENCE_DAYS", 1, 366)
    errors += _number_between("SHADOW_ROLLBACK_THRESHOLD", 1, 10**9)
    errors += _number_between("SHADOW_MAX_DIFF_LINES", 1, 10_000)
    errors += _number_between("SHADOW_EVIDENCE_TIMEOUT_MS", 1, 60_000)
    errors += _number_between("SHADOW_LOCK_TIMEOUT_MS", 1, 60_000)
    errors += _number_between("SHADOW_THREADS", 0, 64)
    errors += _number_between("SHADOW_DROPPED_LOG_SECONDS", 0, 86_400)
    if not isinstance(conf.get("SHADOW_RAISE_ON_MISMATCH"), bool):
        errors.append(Error("SHADOW_RAISE_ON_MISMATCH must be True or False", id="shadow.E004"))
    queue = conf.get("SHADOW_DEFERRED_QUEUE")
    if queue is not None and (not isinstance(queue, str) or not queue.strip()):
        errors.append(Error("SHADOW_DEFERRED_QUEUE must be a queue name or None", id="shadow.E005"))
    return errors
