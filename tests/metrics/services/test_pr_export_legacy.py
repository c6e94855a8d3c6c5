"""PR CSV export: columns, cell formatting, formula neutralisation, CSV lines and the CSV stream.

formatting.py is the definition both sides of the stream pair metrics.pr_export
are held to (legacy writes with it; the optimized side's SQL must write the same
bytes). The line sources themselves are tested on both sides by
tests/metrics/contracts/test_pr_export.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services.pr_export import EXPORT_HEADER, format_export_row, legacy, stream_pr_export_csv
from apps.metrics.services.pr_export.formatting import csv_line_writer, format_cell, tools_value
from apps.metrics.services.pr_list import PRFilters
from tests.factories import PullRequestFactory, TeamMemberFactory

UTC = dt.UTC


def test_header_is_exactly_the_sixteen_columns():
    """The header row is fixed: these 16 names in this order."""
    assert EXPORT_HEADER == [
        "Title", "Repository", "Author", "State", "Cycle Time (hours)", "Review Time (hours)", "Lines Added",
        "Lines Deleted", "Review Rounds", "Comments", "AI Assisted", "AI Tools", "Jira Key", "Created At",
        "Merged At", "GitHub URL",
    ]


def test_row_formatting():
    """Decimals with two places, Yes/No, tools comma-joined, datetimes as ISO 8601 in UTC (whatever zone given)."""
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    pr = PullRequestFactory.build(
        title="Add export", github_repo="acme/web", github_pr_id=42, state=PullRequest.State.MERGED,
        cycle_time_hours=Decimal("12.5"), review_time_hours=Decimal("3.25"), additions=120, deletions=30,
        review_rounds=2, total_comments=7, is_ai_assisted=True, ai_tools_detected=["copilot", "cursor"],
        jira_key="ACME-7", pr_created_at=dt.datetime(2026, 11, 17, 10, 0, tzinfo=berlin),
        merged_at=dt.datetime(2026, 11, 18, 9, 30, 15, tzinfo=UTC),
    )
    assert format_export_row(pr=pr, author_name="Alice Adams") == [
        "Add export", "acme/web", "Alice Adams", "merged", "12.50", "3.25", "120", "30", "2", "7", "Yes",
        "copilot, cursor", "ACME-7", "2026-11-17T09:00:00+00:00", "2026-11-18T09:30:15+00:00",
        "https://github.com/acme/web/pull/42",
    ]


def test_missing_values_are_empty_cells():
    """None (no author, no times, no counts) becomes an empty cell; False is "No"; no tools is empty."""
    pr = PullRequestFactory.build(
        title="WIP", github_repo="acme/api", github_pr_id=5, state=PullRequest.State.OPEN, merged_at=None,
        pr_created_at=dt.datetime(2026, 11, 17, 10, 0, tzinfo=UTC), first_review_at=None, cycle_time_hours=None,
        review_time_hours=None, review_rounds=None, total_comments=None, additions=0, deletions=0,
        is_ai_assisted=False, ai_tools_detected=[], jira_key="",
    )
    assert format_export_row(pr=pr, author_name=None) == [
        "WIP", "acme/api", "", "open", "", "", "0", "0", "", "", "No", "", "", "2026-11-17T10:00:00+00:00", "",
        "https://github.com/acme/api/pull/5",
    ]


@pytest.mark.parametrize(
    ("title", "cell"),
    [
        ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Fix = sign in parser", "Fix = sign in parser"),
    ],
)
def test_formula_prefixes_are_neutralised(title, cell):
    """A cell starting with =, +, -, @, tab or carriage return gets a leading quote; other text is untouched."""
    pr = PullRequestFactory.build(title=title, github_pr_id=1)
    assert format_export_row(pr=pr, author_name="Alice")[0] == cell


def test_every_text_cell_is_neutralised():
    """Author names, tools and Jira keys are user-controlled too and get the same treatment."""
    pr = PullRequestFactory.build(title="ok", github_pr_id=1, ai_tools_detected=["=evil()"], jira_key="@cmd")
    row = format_export_row(pr=pr, author_name="-Mallory")
    assert (row[2], row[11], row[12]) == ("'-Mallory", "'=evil()", "'@cmd")


def test_csv_lines_quote_only_what_needs_quotes():
    """csv.writer's QUOTE_MINIMAL: a cell with a comma, a quote (doubled), CR or LF is quoted; an empty cell, a
    leading quote or tab, other punctuation and non-ASCII are not; the line ends with CRLF."""
    write_line = csv_line_writer()

    assert write_line(["a,b", 'say "hi"', "cr\r", "lf\n", "", "'=x", "\tx", "semi;colon", "é ✨", " "]) == (
        '"a,b","say ""hi""","cr\r","lf\n",,\'=x,\tx,semi;colon,é ✨, \r\n'
    )


def test_ai_tools_cell_of_other_json_values():
    """AI Tools holds JSON: an empty or false value is an empty cell, anything else is format_cell's text."""
    assert [format_cell(tools_value(value)) for value in (None, [], "", 0, False, {}, ["a", 1, None], "x", True, 2.5)] == [
        "", "", "", "", "", "", "a, 1, None", "x", "Yes", "2.5",
    ]


@pytest.mark.django_db
def test_legacy_lines_are_the_csv_lines_of_the_formatted_rows(team):
    """Legacy yields, per PR, csv.writer's line of format_export_row's cells."""
    alice = TeamMemberFactory(team=team, display_name="Doe, Alice")
    pr = PullRequestFactory(team=team, author=alice, title="=1+1", github_pr_id=3)

    lines = list(legacy.iter_pr_export_rows(team=team, filters=PRFilters()))

    assert lines == [csv_line_writer()(format_export_row(pr=pr, author_name="Doe, Alice"))]
    assert lines[0].startswith("'=1+1,acme/api,\"Doe, Alice\",merged,")


@pytest.mark.django_db
def test_stream_yields_header_then_one_csv_line_per_pr(team):
    """The stream is text: the header line first, then one CRLF-terminated CSV line per PR, quoted per RFC 4180."""
    alice = TeamMemberFactory(team=team, display_name="Alice")
    PullRequestFactory(team=team, author=alice, title='Fix "quotes", commas', github_repo="acme/api",
                       github_pr_id=9, merged_at=dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC),
                       cycle_time_hours=Decimal("24.00"), review_time_hours=Decimal("4.00"), jira_key="")

    lines = list(stream_pr_export_csv(team=team, filters=PRFilters()))

    assert lines == [
        "Title,Repository,Author,State,Cycle Time (hours),Review Time (hours),Lines Added,Lines Deleted,"
        "Review Rounds,Comments,AI Assisted,AI Tools,Jira Key,Created At,Merged At,GitHub URL\r\n",
        '"Fix ""quotes"", commas",acme/api,Alice,merged,24.00,4.00,30,10,1,2,No,,,'
        "2026-11-17T12:00:00+00:00,2026-11-18T12:00:00+00:00,https://github.com/acme/api/pull/9\r\n",
    ]
    assert list(csv.reader(io.StringIO("".join(lines))))[1][0] == 'Fix "quotes", commas'


@pytest.mark.django_db
def test_stream_of_no_prs_is_just_the_header(team):
    """With nothing to export the stream still yields the header line."""
    lines = list(stream_pr_export_csv(team=team, filters=PRFilters()))
    assert lines == [",".join(EXPORT_HEADER) + "\r\n"]
