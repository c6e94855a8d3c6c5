"""Validation of raw users-1-day report records, shared by both sides of `integrations.copilot_sync`.

Parsing happens once, before either implementation runs, so legacy and
optimized receive the same validated records and only differ in how they
write them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.integrations.github.copilot_report import InvalidLine
from apps.metrics.models import acceptance_rate

# AIUsageDaily's counters are PostgreSQL integer columns.
MAX_COUNT = 2**31 - 1
# AIUsageDaily.acceptance_rate is Decimal(5, 2): a record accepting ten times what was generated cannot be stored.
MAX_ACCEPTANCE_RATE = Decimal("999.99")

SHOWN_FIELD = "code_generation_activity_count"
ACCEPTED_FIELD = "code_acceptance_activity_count"


@dataclass(frozen=True)
class CopilotUsageRecord:
    """One user's Copilot activity on one day, as stored in AIUsageDaily.

    `accepted` may exceed `shown`: GitHub counts activities, and one generated
    suggestion can be accepted in several steps.
    """

    login: str
    day: dt.date
    shown: int
    accepted: int


def parse_usage_records(
    raw_records: Iterable[Any], *, report_day: dt.date | None = None
) -> tuple[list[CopilotUsageRecord], list[str]]:
    """Split raw report records into valid `CopilotUsageRecord`s and problem messages.

    Records are numbered from 1 in report order. A record is rejected, with one
    message naming its number and the first field at fault, when:
    - it was not valid JSON (an `InvalidLine` from the client) or is not a JSON object;
    - `user_login` is missing (or null), not a string, or blank;
    - `day` is missing (or null) or not an ISO date (YYYY-MM-DD);
    - a count is missing (or null), not an integer (booleans, floats and numeric strings
      included), negative, or above 2^31-1;
    - its acceptance rate is above 999.99 % (accepted more than ~10× shown),
      which the stored percentage cannot hold; accepted > shown is otherwise fine;
    - its `day` is not `report_day` (when given): a users-1-day report speaks
      for its own day only, and must never overwrite another day's stored row;
    - it repeats the `user_login` and `day` of an earlier valid record (the
      first one wins, so a report never writes one row twice).

    Messages carry only the record number, field names and value types, never
    a login or other value from the record. Logins are kept exactly as sent
    (case and surrounding spaces included): matching to members is exact.
    """
    valid: list[CopilotUsageRecord] = []
    problems: list[str] = []
    first_seen: dict[tuple[str, dt.date], int] = {}
    for number, raw in enumerate(raw_records, start=1):
        record, problem = _parse_one(raw)
        if problem is not None:
            problems.append(f"record {number}: {problem}")
            continue
        if report_day is not None and record.day != report_day:
            problems.append(f"record {number}: day is not the report's day ({report_day.isoformat()}), skipped")
            continue
        key = (record.login, record.day)
        if key in first_seen:
            problems.append(f"record {number}: same user_login and day as record {first_seen[key]}, skipped")
            continue
        first_seen[key] = number
        valid.append(record)
    return valid, problems


def _parse_one(raw: Any) -> tuple[CopilotUsageRecord | None, str | None]:
    if isinstance(raw, InvalidLine):
        return None, f"line {raw.line_number} of file {raw.file_number} is not valid JSON"
    if not isinstance(raw, dict):
        return None, f"expected a JSON object, got {_json_type(raw)}"

    login = raw.get("user_login")
    if login is None:
        return None, "user_login is missing"
    if not isinstance(login, str):
        return None, f"user_login must be a string, got {_json_type(login)}"
    if not login.strip():
        return None, "user_login is blank"

    day = _parse_day(raw.get("day"))
    if isinstance(day, str):
        return None, day

    counts = {}
    for field in (SHOWN_FIELD, ACCEPTED_FIELD):
        value = raw.get(field)
        if value is None:
            return None, f"{field} is missing"
        problem = _count_problem(value)
        if problem is not None:
            return None, f"{field} must be a non-negative integer, got {problem}"
        counts[field] = value
    rate = acceptance_rate(counts[SHOWN_FIELD], counts[ACCEPTED_FIELD])
    if rate is not None and rate > MAX_ACCEPTANCE_RATE:
        return None, (
            f"acceptance rate above {MAX_ACCEPTANCE_RATE} % ({ACCEPTED_FIELD} vs {SHOWN_FIELD}), too high to store"
        )
    return CopilotUsageRecord(login=login, day=day, shown=counts[SHOWN_FIELD], accepted=counts[ACCEPTED_FIELD]), None


def _parse_day(value: Any) -> dt.date | str:
    """The date, or a problem message."""
    if value is None:
        return "day is missing"
    if not isinstance(value, str):
        return f"day must be a date string (YYYY-MM-DD), got {_json_type(value)}"
    try:
        # fromisoformat also takes "20251001" and week dates; the report always uses the dashed form.
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        return "day must be a date string (YYYY-MM-DD), got a string in another format"


def _count_problem(value: Any) -> str | None:
    # bool is an int subclass; true/false is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        return _json_type(value)
    if value < 0:
        return "a negative integer"
    if value > MAX_COUNT:
        return f"an integer above {MAX_COUNT}"
    return None


def _json_type(value: Any) -> str:
    """The JSON type name of a decoded value, for messages that must not echo the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
