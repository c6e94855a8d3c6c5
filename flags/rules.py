"""The rule that decides a rollout flag for one team, and how a flag's flag-wide mode is described.

Plain functions of a flag's stored state: the store, the models, the audit
log and `rollout status` all decide with the same rule.
"""

from __future__ import annotations

from decimal import Decimal

from flags.percent import team_in_percentage


def decide(
    *, flag_name: str, everyone: bool | None, percent: Decimal | None, team_id: int | None, listed: bool, blocked: bool
) -> bool:
    """Whether a rollout flag is on for one team. Precedence, strongest first:

    everyone = False (kill switch) → off; no team → everyone's value;
    team blocked (per-team rollback) → off; everyone = True → on;
    team listed → on; team inside the team percentage → on; else off.
    """
    if everyone is False:
        return False
    if team_id is None:
        return bool(everyone)
    if blocked:
        return False
    if everyone:
        return True
    return listed or team_in_percentage(flag_name, team_id, percent)


def describe_flag_mode(everyone: bool | None, percent: Decimal | None) -> str:
    """The flag-wide part of its state, for the audit log and `rollout status`."""
    if everyone is False:
        return "off for everyone (killed)"
    if everyone is True:
        return "on for everyone"
    if percent:
        return f"listed teams + {percent}% of teams"
    return "listed teams only"
