"""The rule that decides a rollout flag for one team, and how a flag's flag-wide mode is described.

Plain functions of a flag's stored state: the store, the models, the audit
log and `rollout status` all decide with the same rule.
"""

from __future__ import annotations

from decimal import Decimal

from flags.percent import team_in_percentage

# Why a rollout flag is on or off for one team: decide's branches, named for operators.
KILLED = "killed"
BLOCKED = "blocked"
EVERYONE_ON = "on for everyone"
LISTED = "listed"
IN_PERCENTAGE = "in percentage"
NOT_LISTED = "off"
ON_CAUSES = frozenset({EVERYONE_ON, LISTED, IN_PERCENTAGE})


def cause(
    *, flag_name: str, everyone: bool | None, percent: Decimal | None, team_id: int | None, listed: bool, blocked: bool
) -> str:
    """Which rule decides a rollout flag for one team. Precedence, strongest first:

    everyone = False (kill switch) → killed; no team → everyone's value;
    team blocked (per-team rollback) → blocked; everyone = True → on for everyone;
    team listed → listed; team inside the team percentage → in percentage; else off.
    """
    if everyone is False:
        return KILLED
    if team_id is None:
        return EVERYONE_ON if everyone else NOT_LISTED
    if blocked:
        return BLOCKED
    if everyone:
        return EVERYONE_ON
    if listed:
        return LISTED
    return IN_PERCENTAGE if team_in_percentage(flag_name, team_id, percent) else NOT_LISTED


def decide(
    *, flag_name: str, everyone: bool | None, percent: Decimal | None, team_id: int | None, listed: bool, blocked: bool
) -> bool:
    """Whether a rollout flag is on for one team: its cause (above) is one that switches it on."""
    return cause(
        flag_name=flag_name, everyone=everyone, percent=percent, team_id=team_id, listed=listed, blocked=blocked
    ) in ON_CAUSES


def describe_flag_mode(everyone: bool | None, percent: Decimal | None) -> str:
    """The flag-wide part of its state, for the audit log and `rollout status`."""
    if everyone is False:
        return "off for everyone (killed)"
    if everyone is True:
        return "on for everyone"
    if percent:
        return f"listed teams + {percent}% of teams"
    return "listed teams only"
