"""Helpers every metrics service shares: team-local date ranges and rounding.

Date ranges are whole days in the team's time zone, both ends inclusive:
[start_date 00:00 local, end_date + 1 day 00:00 local).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from apps.teams.models import Team

TWO_PLACES = Decimal("0.01")
ZERO_PCT = Decimal("0.00")


def local_midnight(team: Team, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=team.tzinfo)


def day_range(team: Team, start_date: dt.date, end_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes [start, end) covering start_date..end_date inclusive, in the team's zone."""
    return local_midnight(team, start_date), local_midnight(team, end_date + dt.timedelta(days=1))


def week_range(team: Team, week_start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[Monday 00:00, next Monday 00:00) in the team's zone."""
    return local_midnight(team, week_start), local_midnight(team, week_start + dt.timedelta(days=7))


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weeks_between(start_date: dt.date, end_date: dt.date) -> list[dt.date]:
    """Mondays of every week touching start_date..end_date, oldest first."""
    weeks = []
    monday = monday_of(start_date)
    while monday <= end_date:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    return weeks


def previous_period(start_date: dt.date, end_date: dt.date) -> tuple[dt.date, dt.date]:
    """The range of the same length that ends the day before start_date."""
    length = (end_date - start_date).days + 1
    return start_date - dt.timedelta(days=length), start_date - dt.timedelta(days=1)


def round2(value) -> Decimal | None:
    """Two decimals, half up; None stays None."""
    if value is None:
        return None
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal:
    """part ÷ whole × 100 with two decimals; 0.00 when whole is 0."""
    if not whole:
        return ZERO_PCT
    return round2(Decimal(part) * 100 / Decimal(whole))
