"""PR CSV export lines, optimized twin of legacy.py: PostgreSQL writes the CSV.

One statement per export (export_statement). Its inner query is legacy's
queryset itself, `filter_pull_requests` (same filters, same ORDER BY) compiled
by Django with `sql_with_params()`, selecting each PR's raw values and its
author's name (a LEFT JOIN). The outer query turns each row into its finished
CSV line, CRLF included, and orders them by the inner query's ORDER BY again
(translated from the queryset, so it cannot drift); PostgreSQL sees the inner
rows are already in that order and does not sort twice. The lines are built
after the sort, so the sort moves the raw values rather than the lines. Python only passes the
lines on: it formats nothing, builds no model instance, makes no author query.
They are read from a server-side cursor, CHUNK_SIZE at a time, so memory stays
flat whatever the size of the export. (Outside a transaction Django declares
the cursor WITH HOLD: PostgreSQL then builds every line before the first
FETCH and keeps them on its side until the cursor is closed.)

The SQL writes exactly what legacy writes (formatting.py's `format_cell`,
`neutralise_formula` and Python's csv.writer):
- None is an empty cell; booleans Yes/No; numbers as Python prints them (the
  two Decimal columns are numeric(10, 2), so their text has two places, and
  NaN is "NaN"); timestamps as the wall time in the team's zone to the second
  (`AT TIME ZONE`, then to_char), year 0 written "0000"; AI Tools, a JSON array
  of strings, joined with ", ";
- a cell starting with =, +, -, @, tab or CR gets a leading quote, numbers
  included (a number's text starts with "-" exactly when it is negative);
- QUOTE_MINIMAL quoting: a cell holding a comma, a double quote, CR or LF is
  quoted with its quotes doubled, any other cell, the empty one too, is not.
Most rows need neither quotes nor escapes in any text cell: one regular
expression over the row's text values (plain_row) sends those to a line of
the values as they are, and the others to the cell-by-cell line (text_cell).
An AI Tools array of strings that jsonb writes without escapes is joined from
its jsonb text. Any other AI Tools value (escaped strings, numbers, objects,
a bare string, ...) is left to Python: the statement also returns the value's
JSON text for that row only, and `with_python_cells` puts format_cell's cell into
the line. Every other row is one string from PostgreSQL, as it is.

The zone is given to PostgreSQL by name. PostgreSQL reads a name that is also
one of its time zone abbreviations (CET, EET, MET, WET, EST, ... as the server's
timezone_abbreviations list them) as that abbreviation's fixed offset, not as the
zone: for such a zone the statement returns the rows' timestamps instead, and
Python writes those two cells (format_timestamp). "UTC" and the other names of
UTC are given as their Etc/ names, which no abbreviation shadows.

Why a server-side cursor and not COPY … TO STDOUT: a sampled stream pair runs
both sides on the same connection in lockstep, one row each in turn, and
legacy asks for each author in between. A COPY holds the connection (psycopg
keeps its lock) until its last row is read, so legacy's next query would wait
forever; a cursor's FETCHes leave the connection free between chunks. The
cursor's DECLARE goes through Django like any query, so it is counted, and as
the shadow side it runs contained (time budget, read-only). Measured at
200,000 PRs on a 2-core machine, COPY of the same statement was no faster
(both 140,000-150,000 lines/s): PostgreSQL building the lines is the cost,
not the transfer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import connections
from django.db.models import BooleanField, F, OrderBy, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from apps.metrics.models import PullRequest
from apps.metrics.services.pr_export.formatting import (
    FORMULA_ESCAPE,
    FORMULA_PREFIXES,
    LIST_SEPARATOR,
    TIMESTAMP_COLUMNS,
    TOOLS_COLUMN,
    csv_line_writer,
    format_cell,
    format_timestamp,
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
    """A PostgreSQL escape-string literal (E'…') for `text`; control characters written as escapes."""
    if "%" in text:
        # The statement goes through psycopg with %s placeholders.
        raise ValueError(f"not written as an SQL literal here: {text!r}")
    escaped = "".join(
        "\\" + character if character in "\\'" else f"\\x{ord(character):02x}" if ord(character) < 32 else character
        for character in text
    )
    return f"E'{escaped}'"


def bracket(characters: str) -> str:
    """A regular expression bracket matching any of these characters (none of them special inside one)."""
    if set(characters) & set("]^\\"):
        raise ValueError(f"not written as a bracket here: {characters!r}")
    # A "-" is literal last.
    return "[" + "".join(sorted(set(characters), key=lambda character: character == "-")) + "]"


DELIMITER = sql_text(DIALECT.delimiter)
QUOTE = sql_text(DIALECT.quotechar)
DOUBLED_QUOTE = sql_text(DIALECT.quotechar * 2)
LINE_END = sql_text(DIALECT.lineterminator)
# The characters that make csv.writer's QUOTE_MINIMAL quote a cell.
QUOTED_CHARACTERS = DIALECT.delimiter + DIALECT.quotechar + DIALECT.lineterminator
# A regular expression matching a cell that needs quotes.
NEEDS_QUOTES = sql_text(bracket(QUOTED_CHARACTERS))
FORMULA_START = "(" + ", ".join(sql_text(prefix) for prefix in FORMULA_PREFIXES) + ")"
ESCAPE = sql_text(FORMULA_ESCAPE)
# Put before each text value of a row to test them all with one regular expression; a value holding it
# only ever sends its row to the cell-by-cell path.
SEPARATOR = "\x01"
# Matches the joined text values of a row when one of them needs quotes or starts like a formula.
ROW_NEEDS_CARE = sql_text(bracket(QUOTED_CHARACTERS) + "|" + SEPARATOR + bracket("".join(FORMULA_PREFIXES)))


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
    """SQL for a boolean cell: format_cell's Yes and No."""
    return f"CASE WHEN {value} THEN {sql_text(format_cell(True))} WHEN NOT {value} THEN {sql_text(format_cell(False))} ELSE '' END"


# Local times of instants from this one on are in year 1 or later whatever the zone (offsets stay under a day).
SAFE_YEARS_FROM = "timestamptz '0001-01-02 00:00:00+00'"


def datetime_cell(value: str, *, zone: str, misread: str) -> str:
    """SQL for format_timestamp: the wall time in `zone` to the second (to_char drops the fraction, as Python does).

    Empty for NULL, and when `misread` (the zone is left to Python). Before year 1 PostgreSQL's year is 1 BC,
    which format_timestamp writes "0000". Digits, "-", ":" and " " need no quoting and no neutralising.
    """
    local = f"({value} AT TIME ZONE {zone})"
    return (
        f"CASE WHEN {value} IS NULL OR {misread} THEN '' "
        f"WHEN {value} >= {SAFE_YEARS_FROM} OR {local} >= timestamp '0001-01-01' "
        f"THEN to_char({local}, 'YYYY-MM-DD HH24:MI:SS') "
        f"ELSE '0000' || to_char({local}, '-MM-DD HH24:MI:SS') END"
    )


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
# Names of UTC that are also PostgreSQL abbreviations, given to it as their Etc/ names (the same zone).
UTC_NAMES = frozenset({"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu"})
# Whether PostgreSQL reads the zone name (the parameter) as one of its abbreviations: one lookup per statement.
MISREAD_SQL = "EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE lower(abbrev) = lower(%s))"


def database_zone_name(zone_name: str) -> str:
    """The name the statement gives PostgreSQL for the team's zone."""
    return f"Etc/{zone_name}" if zone_name in UTC_NAMES else zone_name


# The values written into text cells (the repository into the URL too): what plain_row tests.
TEXT_VALUES = ("title", "repo", "author", "state", "jira")


def plain_row(value: Mapping[str, str]) -> str:
    """SQL: whether none of the row's text values needs quotes or a formula escape (most rows).

    Such a row's text cells are its values as they are, and its URL needs no quotes.
    """
    joined = " || ".join(f"{sql_text(SEPARATOR)} || COALESCE({value[name]}, '')" for name in TEXT_VALUES)
    return f"({joined}) !~ {ROW_NEEDS_CARE}"


def line_sql(value: Mapping[str, str], *, plain: bool) -> str:
    """SQL for a PR's whole CSV line from the inner query's columns; the cells in EXPORT_HEADER's order.

    plain: for a row that plain_row() accepts, whose text cells are written unchanged.
    """
    start, middle = (sql_text(part) for part in GITHUB_PULL_URL)

    def text(name: str) -> str:
        return f"COALESCE({value[name]}, '')" if plain else text_cell(value[name])

    cells = [
        text("title"),
        text("repo"),
        text("author"),
        text("state"),
        number_cell(value["cycle"]),
        number_cell(value["review"]),
        number_cell(value["added"]),
        number_cell(value["deleted"]),
        number_cell(value["rounds"]),
        number_cell(value["comments"]),
        boolean_cell(value["ai"]),
        tools_cell(value["tools"]),
        text("jira"),
        datetime_cell(value["created"], zone=value["zone"], misread=value["misread"]),
        datetime_cell(value["merged"], zone=value["zone"], misread=value["misread"]),
        f"{start} || {value['repo']} || {middle} || {value['number']}::text" if plain else url_cell(value["repo"], value["number"]),
    ]
    return f" || {DELIMITER} || ".join(f"({cell})" for cell in cells) + f" || {LINE_END}"


def ordering(prs: QuerySet[PullRequest]) -> list[tuple[str, str]]:
    """The queryset's ORDER BY as (field, SQL direction with NULLS) pairs; field names and F() orderings only."""
    terms = []
    for item in prs.query.order_by:
        if isinstance(item, str):
            terms.append((item.removeprefix("-"), "DESC" if item.startswith("-") else "ASC"))
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            nulls = " NULLS LAST" if item.nulls_last else " NULLS FIRST" if item.nulls_first else ""
            terms.append((item.expression.name, ("DESC" if item.descending else "ASC") + nulls))
        else:
            raise ValueError(f"The export cannot order by {item!r}")
    return terms


def export_statement(*, team: Team, filters: PRFilters) -> tuple[str, tuple[Any, ...]]:
    """The export's one statement and its parameters, in the PR list's order: per PR its line, its tools JSON
    or NULL, whether the zone is left to Python, and then (else NULL) the created and merged timestamps."""
    prs = filter_pull_requests(team=team, filters=filters)
    order = ordering(prs)
    zone_name = database_zone_name(team.timezone)
    zone_values = {
        "zone": Value(zone_name, output_field=TextField()),
        "misread": RawSQL(MISREAD_SQL, (zone_name,), output_field=BooleanField()),
    }
    selected = {ALIAS + name: value for name, value in (VALUES | zone_values).items()}
    selected |= {f"{ALIAS}order_{index}": F(field) for index, (field, _direction) in enumerate(order)}
    inner, params = prs.values(**selected).query.sql_with_params()
    value = {name: f"pr.{ALIAS}{name}" for name in VALUES | zone_values}
    line = f"CASE WHEN {plain_row(value)} THEN {line_sql(value, plain=True)} ELSE {line_sql(value, plain=False)} END"
    times = ", ".join(f"CASE WHEN {value['misread']} THEN {value[name]} END" for name in ("created", "merged"))
    order_by = ", ".join(f"pr.{ALIAS}order_{index} {direction}" for index, (_field, direction) in enumerate(order))
    columns = f"{line} AS line, {tools_left_to_python(value['tools'])} AS tools, {value['misread']} AS misread, {times}"
    return f"SELECT {columns} FROM ({inner}) AS pr ORDER BY {order_by}", params


def with_python_cells(line: str, *, tools_json: str | None, times: tuple[Any, Any] | None, zone: dt.tzinfo) -> str:
    """The line with the cells its SQL left empty written by formatting.py: AI Tools for a value the SQL does
    not format (tools_json), the timestamps for a zone PostgreSQL does not read by name (times).

    The line is read back into cells and written again, so the other cells keep exactly their text.
    """
    cells = next(csv.reader(io.StringIO(line, newline=""), DIALECT))
    if tools_json is not None:
        cells[TOOLS_COLUMN] = neutralise_formula(format_cell(tools_value(json.loads(tools_json))))
    if times is not None:
        for column, moment in zip(TIMESTAMP_COLUMNS, times, strict=True):
            cells[column] = format_timestamp(moment, zone=zone)
    return csv_line_writer()(cells)


def iter_pr_export_rows(*, team: Team, filters: PRFilters) -> Iterator[str]:
    """Yield the CSV line of each PR of filter_pull_requests (all of them, same order), without the header.

    The same bytes as legacy's lines. One query whatever the number of PRs.
    """
    sql, params = export_statement(team=team, filters=filters)
    zone = team.tzinfo
    database = connections[PullRequest.objects.db]
    # As QuerySet.iterator() decides: a server-side cursor unless the settings turn them off (e.g. behind pgbouncer).
    server_side = database.features.can_use_chunked_reads and not database.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with database.chunked_cursor() if server_side else database.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_SIZE):
            for line, tools_json, misread, created, merged in rows:
                if tools_json is None and not misread:
                    yield line
                else:
                    times = (created, merged) if misread else None
                    yield with_python_cells(line, tools_json=tools_json, times=times, zone=zone)
