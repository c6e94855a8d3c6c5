"""Team percentage: a stable, salted bucket per (flag, team).

The bucket is a number 0…999 from SHA-256 of salt, flag name and team id, so
it is the same in every process (unlike hash()), a team that is in at 20 % is
still in at 30 %, and two flags at the same percentage pick different teams.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from flags import conf


def team_bucket(flag_name: str, team_id: int) -> int:
    digest = hashlib.sha256(f"{conf.percent_salt()}:{flag_name}:{team_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1000


def team_in_percentage(flag_name: str, team_id: int, percent: Decimal | None) -> bool:
    """True when the team's bucket falls below percent (0.0–99.9, one decimal)."""
    if not percent:
        return False
    return team_bucket(flag_name, team_id) < int(Decimal(percent) * 10)
