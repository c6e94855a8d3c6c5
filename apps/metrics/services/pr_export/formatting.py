"""The CSV export's columns and row formatting, shared by every implementation of the export.

Keeping one formatter means legacy and optimized rows can only differ in what
they read from the database, never in how a value is written.
"""

from __future__ import annotations

import datetime as dt
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


def neutralise_formula(cell: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would evaluate, so it shows as text."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


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
        return ", ".join(str(item) for item in value)
    return str(value)


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
        pr.ai_tools_detected or [],
        pr.jira_key,
        pr.pr_created_at,
        pr.merged_at,
        pr.github_url,
    ]
    return [neutralise_formula(format_cell(value)) for value in values]
