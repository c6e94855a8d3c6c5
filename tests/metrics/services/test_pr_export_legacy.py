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
from apps.metrics.services.pr_export import EXPORT_HEADER, export_header, format_export_row, legacy, stream_pr_export_csv
from apps.metrics.services.pr_export.formatting import csv_line_writer, format_cell, format_timestamp, tools_value
from apps.metrics.services.pr_list import PRFilters
from tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory

UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HEADER_LINE = (
    "Title,Repository,Author,State,Cycle Time (hours),Review Time (hours),Lines Added,Lines Deleted,"
    "Review Rounds,Comments,AI Assisted,AI Tools,Jira Key,Created At ({zone}),Merged At ({zone}),GitHub URL\r\n"
)


def test_header_is_exactly_the_sixteen_columns():
    """The header row is fixed: these 16 names in this order."""
    assert EXPORT_HEADER == [
        "Title", "Repository", "Author", "State", "Cycle Time (hours)", "Review Time (hours)", "Lines Added",
        "Lines Deleted", "Review Rounds", "Comments", "AI Assisted", "AI Tools", "Jira Key", "Created At",
        "Merged At", "GitHub URL",
    ]


def test_the_header_names_the_zone_of_the_timestamps():
    """The two timestamp columns name the team's zone; the other fourteen keep their names."""
    header = export_header(zone_name="Europe/Berlin")

    assert header[13:15] == ["Created At (Europe/Berlin)", "Merged At (Europe/Berlin)"]
    assert header[:13] + header[15:] == EXPORT_HEADER[:13] + EXPORT_HEADER[15:]


def test_row_formatting():
    """Decimals with two places, Yes/No, tools comma-joined, timestamps in the given zone to the second."""
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    pr = PullRequestFactory.build(
        title="Add export", github_repo="acme/web", github_pr_id=42, state=PullRequest.State.MERGED,
        cycle_time_hours=Decimal("12.5"), review_time_hours=Decimal("3.25"), additions=120, deletions=30,
        review_rounds=2, total_comments=7, is_ai_assisted=True, ai_tools_detected=["copilot", "cursor"],
        jira_key="ACME-7", pr_created_at=dt.datetime(2026, 11, 17, 10, 0, tzinfo=berlin),
        merged_at=dt.datetime(2026, 11, 18, 9, 30, 15, 999_999, tzinfo=UTC),
    )
    assert format_export_row(pr=pr, author_name="Alice Adams", zone=berlin) == [
        "Add export", "acme/web", "Alice Adams", "merged", "12.50", "3.25", "120", "30", "2", "7", "Yes",
        "copilot, cursor", "ACME-7", "2026-11-17 10:00:00", "2026-11-18 10:30:15",
        "https://github.com/acme/web/pull/42",
    ]
    assert format_export_row(pr=pr, author_name="Alice Adams", zone=UTC)[13:15] == [
        "2026-11-17 09:00:00", "2026-11-18 09:30:15",
    ]


@pytest.mark.parametrize(
    ("moment", "zone", "cell"),
    [
        # Berlin's 2026 spring change: 01:00 UTC is 03:00 CEST, a second before is 01:59:59 CET.
        (dt.datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC), "Europe/Berlin", "2026-03-29 01:59:59"),
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Europe/Berlin", "2026-03-29 03:00:00"),
        # The autumn change: 02:30 local happens twice, at 00:30 and 01:30 UTC.
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Europe/Berlin", "2026-10-25 02:30:00"),
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Europe/Berlin", "2026-10-25 02:30:00"),
        (dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC), "America/New_York", "2026-11-01 01:00:00"),
        (dt.datetime(2026, 11, 1, 5, 0, tzinfo=UTC), "America/New_York", "2026-11-01 01:00:00"),
        (dt.datetime(2026, 11, 28, 13, 5, 9, 500_000, tzinfo=BERLIN), "UTC", "2026-11-28 12:05:09"),
        (dt.datetime(2026, 11, 28, 13, 5, 9, tzinfo=UTC), "Asia/Kolkata", "2026-11-28 18:35:09"),
        # Before the tz database's history a zone keeps its local mean time, seconds included.
        (dt.datetime(1, 1, 1, tzinfo=UTC), "Europe/Berlin", "0001-01-01 00:53:28"),
        (dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "UTC", "0999-12-31 23:59:59"),
        # Local times in year 0 and 10000, which datetime cannot hold.
        (dt.datetime(1, 1, 1, tzinfo=UTC), "America/New_York", "0000-12-31 19:03:58"),
        (dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "Europe/Berlin", "10000-01-01 00:59:59"),
        (dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "UTC", "9999-12-31 23:59:59"),
        # After the last listed change, the zone's yearly rule: summer time in July 9999.
        (dt.datetime(9999, 7, 1, 12, 0, tzinfo=UTC), "Europe/Berlin", "9999-07-01 14:00:00"),
        (None, "Europe/Berlin", ""),
    ],
)
def test_timestamps_are_wall_times_in_the_zone_to_the_second(moment, zone, cell):
    """format_timestamp: the local wall time, no fraction (cut, not rounded), no offset; None is empty."""
    assert format_timestamp(moment, zone=zoneinfo.ZoneInfo(zone)) == cell


def test_a_timestamp_is_never_formatted_without_a_zone():
    """format_cell refuses a datetime: a timestamp cell needs the team's zone."""
    with pytest.raises(TypeError, match="format_timestamp"):
        format_cell(dt.datetime(2026, 11, 28, tzinfo=UTC))


def test_missing_values_are_empty_cells():
    """None (no author, no times, no counts) becomes an empty cell; False is "No"; no tools is empty."""
    pr = PullRequestFactory.build(
        title="WIP", github_repo="acme/api", github_pr_id=5, state=PullRequest.State.OPEN, merged_at=None,
        pr_created_at=dt.datetime(2026, 11, 17, 10, 0, tzinfo=UTC), first_review_at=None, cycle_time_hours=None,
        review_time_hours=None, review_rounds=None, total_comments=None, additions=0, deletions=0,
        is_ai_assisted=False, ai_tools_detected=[], jira_key="",
    )
    assert format_export_row(pr=pr, author_name=None, zone=UTC) == [
        "WIP", "acme/api", "", "open", "", "", "0", "0", "", "", "No", "", "", "2026-11-17 10:00:00", "",
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
    assert format_export_row(pr=pr, author_name="Alice", zone=UTC)[0] == cell


def test_every_text_cell_is_neutralised():
    """Author names, tools and Jira keys are user-controlled too and get the same treatment."""
    pr = PullRequestFactory.build(title="ok", github_pr_id=1, ai_tools_detected=["=evil()"], jira_key="@cmd")
    row = format_export_row(pr=pr, author_name="-Mallory", zone=UTC)
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

    assert lines == [csv_line_writer()(format_export_row(pr=pr, author_name="Doe, Alice", zone=UTC))]
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
        HEADER_LINE.format(zone="UTC"),
        '"Fix ""quotes"", commas",acme/api,Alice,merged,24.00,4.00,30,10,1,2,No,,,'
        "2026-11-17 12:00:00,2026-11-18 12:00:00,https://github.com/acme/api/pull/9\r\n",
    ]
    assert list(csv.reader(io.StringIO("".join(lines))))[1][0] == 'Fix "quotes", commas'


@pytest.mark.django_db
def test_stream_of_no_prs_is_just_the_header(team):
    """With nothing to export the stream still yields the header line."""
    lines = list(stream_pr_export_csv(team=team, filters=PRFilters()))
    assert lines == [HEADER_LINE.format(zone="UTC")]


@pytest.mark.django_db
def test_stream_of_a_team_in_berlin_names_its_zone_and_writes_its_times():
    """A team in Europe/Berlin: the header names the zone, the times are Berlin's (CET in November)."""
    team = TeamFactory(timezone="Europe/Berlin")
    PullRequestFactory(team=team, author=None, title="Winter", github_pr_id=1,
                       pr_created_at=dt.datetime(2026, 11, 28, 13, 5, 9, 250_000, tzinfo=UTC),
                       merged_at=dt.datetime(2026, 11, 28, 23, 30, tzinfo=UTC))

    lines = list(stream_pr_export_csv(team=team, filters=PRFilters()))

    assert lines[0] == HEADER_LINE.format(zone="Europe/Berlin")
    assert lines[1].split(",")[13:15] == ["2026-11-28 14:05:09", "2026-11-29 00:30:00"]
