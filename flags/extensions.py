"""Extension points for apps that build on flags (flags itself imports none of them).

- Enable guards: called before teams are switched on; each returns the
  reasons to refuse (an empty list lets the change through). The shadow app
  registers its readiness gate here.
"""

from __future__ import annotations

from collections.abc import Callable

EnableGuard = Callable[[str, list], list[str]]

_enable_guards: list[EnableGuard] = []


def register_enable_guard(guard: EnableGuard) -> EnableGuard:
    if guard not in _enable_guards:
        _enable_guards.append(guard)
    return guard


def enable_refusals(flag_name: str, teams: list) -> list[str]:
    return [problem for guard in _enable_guards for problem in guard(flag_name, teams)]
