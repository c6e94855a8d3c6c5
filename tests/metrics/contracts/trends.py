"""What the three weekly-trend contract suites share: the range, its weeks, and instants in it.

The range used most is Wednesday 2026-11-04 to Sunday 2026-11-22, both
inclusive: it touches the weeks of Monday 2 November (from Wednesday on
only), 9 November and 16 November.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC
START = dt.date(2026, 11, 4)
END = dt.date(2026, 11, 22)
WEEK_1 = dt.date(2026, 11, 2)
WEEK_2 = dt.date(2026, 11, 9)
WEEK_3 = dt.date(2026, 11, 16)
TICK = dt.timedelta(microseconds=1)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 11) -> dt.datetime:
    """A UTC instant in 2026 (November unless told)."""
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def wednesday_noons(weeks: int) -> tuple[dict, list[dt.datetime]]:
    """A range of `weeks` whole weeks ending on Sunday 22 November, and noon (UTC) on each of its Wednesdays."""
    start = END - dt.timedelta(days=7 * weeks - 1)
    noons = [
        dt.datetime.combine(start + dt.timedelta(days=7 * week + 2), dt.time(12), tzinfo=UTC) for week in range(weeks)
    ]
    return {"start_date": start, "end_date": END}, noons
