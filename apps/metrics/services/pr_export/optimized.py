"""PR CSV export lines, optimized twin of legacy.py: PostgreSQL writes the CSV.

One statement per export. The PRs come from the same queryset as legacy's
(`filter_pull_requests`: same filters, same ORDER BY, compiled by Django), and
its SELECT list is replaced by the finished CSV line of each PR, built in SQL
from the PR's columns and its author's name (a LEFT JOIN). Python only passes
the lines on: it formats nothing, builds no model instance and makes no
author query. The lines are read from a server-side cursor, CHUNK_SIZE at a
time, so memory stays flat whatever the size of the export.

The SQL writes exactly what legacy writes (formatting.py's `format_cell`,
`neutralise_formula` and Python's csv.writer):
- None is an empty cell; booleans Yes/No; numbers as Python prints them (the
  two Decimal columns are numeric(10, 2), so their text has two places);
  datetimes as `isoformat()` in UTC, microseconds only when not zero;
  AI Tools, a JSON array of strings, joined with ", ";
- a cell starting with =, +, -, @, tab or CR gets a leading quote, numbers
  included (a number's text starts with "-" exactly when it is negative);
- QUOTE_MINIMAL quoting: a cell holding a comma, a double quote, CR or LF is
  quoted with its quotes doubled, any other cell, the empty one too, is not;
  the line ends with CRLF.
An AI Tools value of any other JSON shape (numbers or objects in the list, a
bare string, an object, ...) is left to Python: the statement also returns the
value's JSON text for that row only, and Python puts format_cell's cell into
the line (`with_tools_cell`). Every other row is one string from PostgreSQL.

Why a server-side cursor and not COPY … TO STDOUT: a sampled stream pair runs
both sides on the same connection in lockstep, one row each in turn, and
legacy asks for each author in between. A COPY holds the connection (psycopg
keeps its lock) until the last row is read, so legacy's next query could not
run; a cursor's FETCHes leave the connection free between chunks. The cursor's
DECLARE goes through Django like any query, so it is counted, and as the
shadow side it runs contained (time budget, read-only). Measured at 200,000
PRs, COPY of the same statement was no faster (both about 120,000 lines/s):
PostgreSQL building the lines is the cost, not the transfer.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, TextField
from django.db.models.functions import Cast

from apps.metrics.services.pr_export.formatting import (
    FORMULA_ESCAPE,
    FORMULA_PREFIXES,
    LIST_SEPARATOR,
    TOOLS_COLUMN,
    csv_line_writer,
    format_cell,
    neutralise_formula,
    tools_value,
)
from apps.metrics.services.pr_list import PRFilters, filter_pull_requests
from apps.teams.models import Team

# Lines fetched per round trip: large enough that round trips do not dominate, small enough to bound memory.
CHUNK_SIZE = 5000

# The CSV dialect legacy writes with (csv.writer's default, "excel").
DIALECT = csv.excel
GITHUB_PULL_URL = ("https://github.com/", "/pull/")


def sql_text(text: str) -> str:
    """A PostgreSQL escape-string literal (E'…') for `text`, control characters included."""
    if "%" in text:
        # The statement goes through psycopg with %s placeholders.
        raise ValueError(f"not written as an SQL literal here: {text!r}")
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    return f"E'{escaped}'"


DELIMITER = sql_text(DIALECT.delimiter)
QUOTE = sql_text(DIALECT.quotechar)
DOUBLED_QUOTE = sql_text(DIALECT.quotechar * 2)
LINE_END = sql_text(DIALECT.lineterminator)
# A regular expression matching a cell that csv.writer's QUOTE_MINIMAL quotes.
NEEDS_QUOTES = sql_text("[" + DIALECT.delimiter + DIALECT.quotechar + DIALECT.lineterminator + "]")
FORMULA_START = "(" + ", ".join(sql_text(prefix) for prefix in FORMULA_PREFIXES) + ")"
ESCAPE = sql_text(FORMULA_ESCAPE)
# Not a list of strings (numbers, objects or lists in it), or not a list at all: NULL or true (strict mode).
NOT_ONLY_STRINGS = "'strict $[*] ? (@.type() != \"string\")'"


def text_cell(value: str) -> str:
    """SQL for the CSV field of a text value: NULL empty, a formula neutralised, then quoted if needed.

    The escape prefix holds no character that needs quoting, so the test for
    quoting looks at the value itself, and quotes are doubled in the value.
    """
    escape = f"CASE WHEN left({value}, 1) IN {FORMULA_START} THEN {ESCAPE} ELSE '' END"
    return (
        f"CASE WHEN {value} IS NULL THEN '' "
        f"WHEN {value} ~ {NEEDS_QUOTES} THEN {QUOTE} || {escape} || replace({value}, {QUOTE}, {DOUBLED_QUOTE}) || {QUOTE} "
        f"WHEN left({value}, 1) IN {FORMULA_START} THEN {ESCAPE} || {value} "
        f"ELSE {value} END"
    )


def number_cell(value: str) -> str:
    """SQL for an integer or numeric(…, 2) cell: its text starts with "-" exactly when it is negative."""
    return f"CASE WHEN {value} IS NULL THEN '' WHEN {value} < 0 THEN {ESCAPE} || {value}::text ELSE {value}::text END"


def boolean_cell(value: str) -> str:
    return f"CASE WHEN {value} THEN {sql_text(format_cell(True))} WHEN NOT {value} THEN {sql_text(format_cell(False))} ELSE '' END"


def datetime_cell(value: str) -> str:
    """SQL for isoformat() in UTC: to_char writes six digits of microseconds, isoformat() none when they are zero.

    Digits, "-", ":", "T", "." and "+" need no quoting and no neutralising (a year starts the text).
    """
    iso = f"to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return f"CASE WHEN {value} IS NULL THEN '' ELSE replace({iso}, '.000000', '') || '+00:00' END"


# The text of a JSON array of strings none of which jsonb writes with an escape (a backslash): no quote, no
# control character. jsonb writes such an array as ["a", "b"], so the items joined are its inside with
# '", "' replaced by ", ", and the joined text holds a comma (so needs quotes) exactly when the array does.
PLAIN_STRINGS = sql_text(r'^\["[^"\\]*"(, "[^"\\]*")*\]$')


def tools_cell(tools: str) -> str:
    """SQL for the AI Tools cell from the value's jsonb text; empty for a value left to Python (tools_left_to_python)."""
    joined = f"replace(substr({tools}, 3, length({tools}) - 4), '\", \"', {sql_text(LIST_SEPARATOR)})"
    escape = f"CASE WHEN substr({tools}, 3, 1) IN {FORMULA_START} THEN {ESCAPE} ELSE '' END"
    return (
        f"CASE WHEN {tools} = '[]' THEN '' "
        f"WHEN {tools} ~ {PLAIN_STRINGS} THEN "
        f"CASE WHEN strpos({tools}, {DELIMITER}) > 0 THEN {QUOTE} || {escape} || {joined} || {QUOTE} ELSE {escape} || {joined} END "
        "ELSE '' END"
    )


def tools_left_to_python(tools: str) -> str:
    """SQL for the AI Tools value's jsonb text when Python formats its cell, else NULL."""
    return f"CASE WHEN {tools} = '[]' OR {tools} ~ {PLAIN_STRINGS} THEN NULL ELSE {tools} END"


def url_cell(repo: str, number: str) -> str:
    """SQL for the GitHub URL cell (PullRequest.github_url): it starts with "https", only the repository can need quotes."""
    start, middle = (sql_text(part) for part in GITHUB_PULL_URL)

    def url(repo_text: str) -> str:
        return f"{start} || {repo_text} || {middle} || {number}::text"

    quoted = f"{QUOTE} || {url(f'replace({repo}, {QUOTE}, {DOUBLED_QUOTE})')} || {QUOTE}"
    return f"CASE WHEN {repo} ~ {NEEDS_QUOTES} THEN {quoted} ELSE {url(repo)} END"


# What the inner query (filter_pull_requests, compiled by Django) selects for each PR, by name.
VALUES: dict[str, Any] = {
    "title": F("title"),
    "repo": F("github_repo"),
    "author": F("author__display_name"),
    "state": F("state"),
    "cycle": F("cycle_time_hours"),
    "review": F("review_time_hours"),
    "added": F("additions"),
    "deleted": F("deletions"),
    "rounds": F("review_rounds"),
    "comments": F("total_comments"),
    "ai": F("is_ai_assisted"),
    # Django reads a JSONField as this text and json.loads it: the fallback gets the very same text.
    "tools": Cast("ai_tools_detected", TextField()),
    "jira": F("jira_key"),
    "created": F("pr_created_at"),
    "merged": F("merged_at"),
    "number": F("github_pr_id"),
}
ALIAS = "export_"


def line_sql(value: Mapping[str, str]) -> str:
    """SQL for a PR's whole CSV line from the inner query's columns; the cells in EXPORT_HEADER's order."""
    cells = [
        text_cell(value["title"]),
        text_cell(value["repo"]),
        text_cell(value["author"]),
        text_cell(value["state"]),
        number_cell(value["cycle"]),
        number_cell(value["review"]),
        number_cell(value["added"]),
        number_cell(value["deleted"]),
        number_cell(value["rounds"]),
        number_cell(value["comments"]),
        boolean_cell(value["ai"]),
        tools_cell(value["tools"]),
        text_cell(value["jira"]),
        datetime_cell(value["created"]),
        datetime_cell(value["merged"]),
        url_cell(value["repo"], value["number"]),
    ]
    return f" || {DELIMITER} || ".join(f"({cell})" for cell in cells) + f" || {LINE_END}"


def export_statement(*, team: Team, filters: PRFilters) -> tuple[str, tuple[Any, ...]]:
    """The export's one statement and its parameters: (line, tools JSON or NULL) per PR, in the PR list's order.

    The inner query is filter_pull_requests itself (its filters, its ORDER BY), selecting the raw
    values; the outer one formats them. A subquery with ORDER BY is never flattened into the outer
    query, and a plain projection over it keeps its order; the lines are built after the sort, so
    the sort moves the raw values rather than the lines.
    """
    prs = filter_pull_requests(team=team, filters=filters).values(**{ALIAS + name: value for name, value in VALUES.items()})
    inner, params = prs.query.sql_with_params()
    value = {name: f"pr.{ALIAS}{name}" for name in VALUES}
    return f"SELECT {line_sql(value)} AS line, {tools_left_to_python(value['tools'])} AS tools FROM ({inner}) AS pr", params


def with_tools_cell(line: str, tools_json: str) -> str:
    """The line with its (empty) AI Tools cell replaced by format_cell's, for a value the SQL does not format.

    The line is read back into cells and written again, so the other cells keep exactly their text.
    """
    cells = next(csv.reader(io.StringIO(line, newline=""), DIALECT))
    cells[TOOLS_COLUMN] = neutralise_formula(format_cell(tools_value(json.loads(tools_json))))
    return csv_line_writer()(cells)


def iter_pr_export_rows(*, team: Team, filters: PRFilters) -> Iterator[str]:
    """Yield the CSV line of each PR of filter_pull_requests (all of them, same order), without the header.

    The same bytes as legacy's lines. One query whatever the number of PRs.
    """
    sql, params = export_statement(team=team, filters=filters)
    database = connections[DEFAULT_DB_ALIAS]
    # As QuerySet.iterator() decides: a server-side cursor unless the settings turn them off (e.g. behind pgbouncer).
    server_side = database.features.can_use_chunked_reads and not database.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with database.chunked_cursor() if server_side else database.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_SIZE):
            for line, tools_json in rows:
                yield line if tools_json is None else with_tools_cell(line, tools_json)
