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


def neutralise_formula(cell: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would evaluate, so it shows as text."""
    return FORMULA_ESCAPE + cell if cell.startswith(FORMULA_PREFIXES) else cell


def format_cell(value: Any) -> str:
    """None -> "", booleans Yes/No, Decimals with two places, datetimes ISO 8601 in UTC, lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)


def tools_value(ai_tools_detected: Any) -> Any:
    """The AI Tools value a row formats: the stored JSON value, or an empty list for any empty or false one."""
    return ai_tools_detected or []


def format_export_row(*, pr: PullRequest, author_name: str | None) -> list[str]:
    """One CSV row (the EXPORT_HEADER columns) for a PR; author_name None for a PR without author.

    Every cell goes through formula neutralisation, so user-controlled text such
    as a title "=HYPERLINK(...)" is written as "'=HYPERLINK(...)".
    """
    values = [
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
        pr.pr_created_at,
        pr.merged_at,
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
