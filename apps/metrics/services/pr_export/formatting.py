"""The CSV export's columns, cell formatting and CSV lines: the definition every implementation must match.

Legacy writes its lines with these functions. The optimized twin writes the
same bytes in SQL (optimized.py) and uses them only for a value shape its SQL
leaves to Python; the pair's comparisons and tests hold it to these functions.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from apps.metrics.models import PullRequest

EXPORT_HEADER: list[str] = [
    "Title",
    "Repository",
    "Author",
    "State",
    "Cycle Time (hours)",
    "Review Time (hours)",
    "Lines Added",
    "Lines Deleted",
    "Review Rounds",
    "Comments",
    "AI Assisted",
    "AI Tools",
    "Jira Key",
    "Created At",
    "Merged At",
    "GitHub URL",
]

# Spreadsheets treat a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What such a cell is prefixed with, so it shows as text.
FORMULA_ESCAPE = "'"
# What joins the items of a list cell (AI Tools).
LIST_SEPARATOR = ", "
# The position of the AI Tools cell in a row.
TOOLS_COLUMN = EXPORT_HEADER.index("AI Tools")
# The timestamp columns: written in the team's zone, which their header names.
TIMESTAMP_COLUMNS = (EXPORT_HEADER.index("Created At"), EXPORT_HEADER.index("Merged At"))
# 400 Gregorian years: the calendar, its weekdays and a zone's rules (its first offset before the tz database's
# history, its yearly rule after it) repeat after that many days.
GREGORIAN_CYCLE = dt.timedelta(days=146_097)


def export_header(*, zone_name: str) -> list[str]:
    """The header row: EXPORT_HEADER with the timestamp columns naming the zone their times are in."""
    return [f"{name} ({zone_name})" if index in TIMESTAMP_COLUMNS else name for index, name in enumerate(EXPORT_HEADER)]


def neutralise_formula(cell: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would evaluate, so it shows as text."""
    return FORMULA_ESCAPE + cell if cell.startswith(FORMULA_PREFIXES) else cell


def format_timestamp(value: dt.datetime | None, *, zone: dt.tzinfo) -> str:
    """None -> ""; else the wall time in `zone` to the second, "YYYY-MM-DD HH:MM:SS" (no microseconds, no offset).

    An instant in the first or last year can be in year 0 or 10000 locally, which datetime cannot hold: it is
    converted 400 years away (same calendar and zone rules) and its year put back, "0000" or "10000".
    """
    if value is None:
        return ""
    utc = value.astimezone(dt.UTC)
    cycles = 1 if utc.year == dt.MAXYEAR else -1 if utc.year == dt.MINYEAR else 0
    local = (utc - cycles * GREGORIAN_CYCLE).astimezone(zone)
    return (
        f"{local.year + 400 * cycles:04d}-{local.month:02d}-{local.day:02d} "
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    )


def format_cell(value: Any) -> str:
    """None -> "", booleans Yes/No, Decimals with two places, lists comma-joined; timestamps are format_timestamp's."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        raise TypeError("A timestamp cell is written in the team's zone: format_timestamp")
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)


def tools_value(ai_tools_detected: Any) -> Any:
    """The AI Tools value a row formats: the stored JSON value, or an empty list for any empty or false one."""
    return ai_tools_detected or []


def format_export_row(*, pr: PullRequest, author_name: str | None, zone: dt.tzinfo) -> list[str]:
    """One CSV row (the EXPORT_HEADER columns) for a PR; author_name None for a PR without author; times in `zone`.

    Every cell goes through formula neutralisation, so user-controlled text such
    as a title "=HYPERLINK(...)" is written as "'=HYPERLINK(...)".
    """
    values: list[Any] = [
        pr.title,
        pr.github_repo,
        author_name,
        pr.state,
        pr.cycle_time_hours,
        pr.review_time_hours,
        pr.additions,
        pr.deletions,
        pr.review_rounds,
        pr.total_comments,
        pr.is_ai_assisted,
        tools_value(pr.ai_tools_detected),
        pr.jira_key,
        format_timestamp(pr.pr_created_at, zone=zone),
        format_timestamp(pr.merged_at, zone=zone),
        pr.github_url,
    ]
    return [neutralise_formula(format_cell(value)) for value in values]


class _Echo:
    """A file-like object whose write returns the text, so csv.writer hands back the line it wrote."""

    def write(self, value: str) -> str:
        return value


def csv_line_writer() -> Callable[[Sequence[str]], str]:
    """A function from a row of cells to its CSV line: Python's csv.writer with its defaults.

    Comma-separated; a cell holding a comma, a double quote, CR or LF is quoted
    with its quotes doubled, any other cell (the empty one too) is written as it
    is; the line ends with CRLF. One writer per export, not shared between threads.
    """
    writer = csv.writer(_Echo())
    return writer.writerow
