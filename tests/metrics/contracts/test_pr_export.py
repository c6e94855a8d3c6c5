"""Contract of the metrics.pr_export stream pair, run against both sides.

Every behaviour test runs once with the legacy line source and once with the
optimized twin; each side yields one CSV text line per PR, and both must yield
exactly the rows written here. `export_rows` reads each line back into its
cells after checking that the line is exactly what Python's csv.writer writes
for those cells (quoting, CRLF). Unless a test says otherwise, PRs are the
factory's: merged 2026-11-18 12:00 UTC, created 24 hours earlier, first review
after 4 hours, 30 lines added and 10 deleted; teams are in UTC, and timestamps
are written as wall times in the team's zone to the second. Registration, examples,
demo-data agreement and query counts come from the shared contract base
(tests/support/contracts.py); a stream side is consumed into a list there, so
all its queries are counted. The tests at the end compare both sides' bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.metrics.models import PullRequest
from apps.metrics.services import pr_export
from apps.metrics.services.pr_export import legacy, optimized, stream_pr_export_csv
from apps.metrics.services.pr_export.formatting import csv_line_writer
from apps.metrics.services.pr_list import PRFilters
from shadow import pairs as registry
from shadow.models import ShadowRecord
from shadow.testing import force_side
from tests.factories import PRReviewFactory, PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.support.contracts import PairContract

PAIR = "metrics.pr_export"
UTC = dt.UTC
CREATED = "2026-11-17 12:00:00"
MERGED = "2026-11-18 12:00:00"
MB = 1024 * 1024


def cells_of(line: str) -> list[str]:
    """The cells of one exported line, which must be exactly csv.writer's line for them (one record, CRLF)."""
    records = list(csv.reader(io.StringIO(line, newline="")))
    assert len(records) == 1, repr(line)
    assert csv_line_writer()(records[0]) == line
    return records[0]


def default_row(title: str, author: str, number: int) -> list[str]:
    """The row of a factory-default PR in acme/api."""
    return [
        title, "acme/api", author, "merged", "24.00", "4.00", "30", "10", "1", "2", "No", "", "", CREATED, MERGED,
        f"https://github.com/acme/api/pull/{number}",
    ]


def bulk_prs(team, count: int, *, authors, start_number: int = 1) -> None:
    """`count` factory-built PRs inserted in bulk, authors taken in turn (None for no author)."""
    prs = [
        PullRequestFactory.build(team=team, author=authors[number % len(authors)], github_pr_id=number)
        for number in range(start_number, start_number + count)
    ]
    PullRequest.objects.bulk_create(prs, batch_size=5000)


def prs_with_and_without_author(team, count: int) -> None:
    """`count` PRs by two authors in turn, then half as many PRs without author."""
    bulk_prs(team, count, authors=[TeamMemberFactory(team=team), TeamMemberFactory(team=team)])
    bulk_prs(team, count // 2, authors=[None], start_number=count + 1)


class TestPrExportContract(PairContract):
    pair_name = PAIR
    entry_point = pr_export.iter_pr_export_rows
    sides = (legacy.iter_pr_export_rows, optimized.iter_pr_export_rows)
    signature = "(*, team: 'Team', filters: 'PRFilters') -> 'Iterator[str]'"

    # On seeded demo data (null authors, inactive members, two time zones) both streams agree row for row.
    demo_cases = {
        "everything": {"filters": PRFilters()},
        "merged-ai-assisted": {"filters": PRFilters(state="merged", is_ai_assisted=True)},
        "small-without-jira-key": {"filters": PRFilters(has_jira=False, size="S")},
        "two-weeks": {"filters": PRFilters(date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 14))},
    }

    # Optimized: one query (lines written by PostgreSQL, authors joined, read in chunks from a server-side
    # cursor), for 10 PRs as for 1,000. Legacy (the "before"): 1 query for the PRs, then 1 author lookup per PR with an author; PRs
    # without author add rows but no query.
    call_kwargs = {"filters": PRFilters()}
    queries = {"legacy": {10: 11, 1000: 1001}, "optimized": {10: 1, 1000: 1}}

    def build(self, team, size):
        prs_with_and_without_author(team, size)

    def check_measured_results(self, team, size, results):
        """Every PR is exported, with or without author."""
        assert [len(rows) for rows in results] == [size + size // 2]

    def check_demo_comparisons(self, comparisons):
        """The values are the whole streams, equal row for row; nothing was recorded as a mismatch."""
        assert [comparison.legacy.value == comparison.optimized.value for comparison in comparisons] == [True, True]
        assert ShadowRecord.objects.count() == 0

    @pytest.fixture
    def export_rows(self, side):
        """The `side` fixture's lines, each read back into its cells."""

        def rows(**kwargs) -> list[list[str]]:
            return [cells_of(line) for line in self.call(side, **kwargs)]

        return rows

    # --- registration ----------------------------------------------------------------------

    def test_registered_as_a_stream_pair(self):
        """Both sides yield lines: the pair is declared stream=True, so sampled calls compare rows as they pass."""
        assert registry.get(PAIR).stream is True

    @pytest.mark.django_db
    def test_examples_are_the_unfiltered_export(self, team):
        """`rollout verify` compares the whole export, without filters."""
        assert registry.get(PAIR).examples(team) == [{"filters": PRFilters()}]

    # --- behaviour, both sides ---------------------------------------------------------------

    @pytest.mark.django_db
    def test_empty_team_exports_no_rows(self, team, other_team, export_rows):
        """A team without PRs exports nothing, whatever other teams have."""
        PullRequestFactory(team=other_team)
        assert export_rows(team=team, filters=PRFilters()) == []

    @pytest.mark.django_db
    def test_full_rows_newest_merge_first(self, team, export_rows):
        """Every column of every PR; merged PRs newest first, then unmerged ones by newest creation."""
        ada = TeamMemberFactory(team=team, display_name="Ada Lovelace")
        PullRequestFactory(team=team, author=ada, title="Older merge", github_pr_id=1)
        PullRequestFactory(
            team=team, author=ada, title="Open one", github_pr_id=2, github_repo="acme/web", state=PullRequest.State.OPEN,
            merged_at=None, pr_created_at=dt.datetime(2026, 11, 19, 9, 0, tzinfo=UTC), first_review_at=None,
            review_rounds=None, total_comments=None, additions=0, deletions=0,
        )
        PullRequestFactory(
            team=team, author=ada, title="Newer merge", github_pr_id=3,
            merged_at=dt.datetime(2026, 11, 19, 8, 30, tzinfo=UTC), cycle_time_hours=Decimal("12.5"),
            review_time_hours=Decimal("0.25"), review_rounds=3, total_comments=11,
            is_ai_assisted=True, ai_tools_detected=["copilot", "cursor"], jira_key="ACME-12",
        )

        assert export_rows(team=team, filters=PRFilters()) == [
            [
                "Newer merge", "acme/api", "Ada Lovelace", "merged", "12.50", "0.25", "30", "10", "3", "11", "Yes",
                "copilot, cursor", "ACME-12", "2026-11-18 08:30:00", "2026-11-19 08:30:00",
                "https://github.com/acme/api/pull/3",
            ],
            default_row("Older merge", "Ada Lovelace", 1),
            [
                "Open one", "acme/web", "Ada Lovelace", "open", "", "", "0", "0", "", "", "No", "", "",
                "2026-11-19 09:00:00", "", "https://github.com/acme/web/pull/2",
            ],
        ]

    @pytest.fixture
    def filter_data(self, team):
        """Six PRs, each singled out by one filter; the reviewer reviewed "Reviewed" twice."""
        ada = TeamMemberFactory(team=team, display_name="Ada")
        bob = TeamMemberFactory(team=team, display_name="Bob")
        PullRequestFactory(team=team, author=ada, title="Plain", github_pr_id=1)
        PullRequestFactory(team=team, author=bob, title="By Bob", github_pr_id=2)
        PullRequestFactory(team=team, author=ada, title="Web", github_pr_id=3, github_repo="acme/web")
        PullRequestFactory(
            team=team, author=ada, title="AI", github_pr_id=4, is_ai_assisted=True, ai_tools_detected=["cursor"]
        )
        PullRequestFactory(team=team, author=ada, title="Jira", github_pr_id=5, jira_key="ACME-5")
        reviewed = PullRequestFactory(
            team=team, author=ada, title="Reviewed", github_pr_id=6, additions=400, deletions=0,
            state=PullRequest.State.CLOSED,
        )
        PRReviewFactory(pull_request=reviewed, reviewer=bob)
        PRReviewFactory(pull_request=reviewed, reviewer=bob)
        return {"ada": ada, "bob": bob}

    @pytest.mark.parametrize(
        ("filters", "titles"),
        [
            (lambda members: PRFilters(repo="acme/web"), ["Web"]),
            (lambda members: PRFilters(author_id=members["bob"].id), ["By Bob"]),
            (lambda members: PRFilters(reviewer_id=members["bob"].id), ["Reviewed"]),
            (lambda members: PRFilters(is_ai_assisted=True), ["AI"]),
            (lambda members: PRFilters(ai_tool="cursor"), ["AI"]),
            (lambda members: PRFilters(size="L"), ["Reviewed"]),
            (lambda members: PRFilters(state="closed"), ["Reviewed"]),
            (lambda members: PRFilters(has_jira=True), ["Jira"]),
            (
                lambda members: PRFilters(has_jira=False, is_ai_assisted=False, repo="acme/api"),
                ["Reviewed", "By Bob", "Plain"],
            ),
        ],
        ids=["repo", "author", "reviewer-once", "ai", "ai-tool", "size", "state", "jira", "combined"],
    )
    @pytest.mark.django_db
    def test_filters_select_the_same_rows(self, team, filter_data, export_rows, filters, titles):
        """Each filter of the PR list selects the same PRs on both sides, each PR once, in list order."""
        rows = export_rows(team=team, filters=filters(filter_data))

        assert [row[0] for row in rows] == titles

    @pytest.mark.django_db
    def test_pr_without_author_has_an_empty_author_cell(self, team, export_rows):
        """A null author (deleted member) exports an empty Author cell; the rest of the row is unchanged."""
        PullRequestFactory(team=team, author=None, title="Orphan", github_pr_id=4)
        assert export_rows(team=team, filters=PRFilters()) == [default_row("Orphan", "", 4)]

    @pytest.mark.django_db
    def test_formula_cells_are_neutralised(self, team, export_rows):
        """Title, author, tools and Jira key starting with =, +, -, @, tab or CR get a leading quote on both sides."""
        mallory = TeamMemberFactory(team=team, display_name="-Mallory")
        PullRequestFactory(
            team=team, author=mallory, title='=HYPERLINK("http://evil","x")', github_pr_id=1,
            ai_tools_detected=["+tool"], jira_key="@cmd",
        )
        PullRequestFactory(
            team=team, author=None, title="\t=1+1", github_pr_id=2, merged_at=dt.datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
        )
        PullRequestFactory(
            team=team, author=None, title="\r=2+2", github_pr_id=3, merged_at=dt.datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
        )

        rows = export_rows(team=team, filters=PRFilters())

        assert [(row[0], row[2], row[11], row[12]) for row in rows] == [
            ("'=HYPERLINK(\"http://evil\",\"x\")", "'-Mallory", "'+tool", "'@cmd"),
            ("'\t=1+1", "", "", ""),
            ("'\r=2+2", "", "", ""),
        ]

    @pytest.mark.django_db
    def test_unicode_names_and_titles_come_through_unchanged(self, team, export_rows):
        """Accents, CJK and emoji in names and titles are exported as they are."""
        zoe = TeamMemberFactory(team=team, display_name="Zoë Ørsted 山田")
        PullRequestFactory(team=team, author=zoe, title="Überarbeitung ✨ der Exporte", github_pr_id=8)
        assert export_rows(team=team, filters=PRFilters()) == [
            default_row("Überarbeitung ✨ der Exporte", "Zoë Ørsted 山田", 8)
        ]

    @pytest.mark.django_db
    def test_inactive_author_is_still_named(self, team, export_rows):
        """A member who left (inactive) still authored the PR: the name is exported."""
        gone = TeamMemberFactory(team=team, display_name="Former Member", is_active=False)
        PullRequestFactory(team=team, author=gone, title="Legacy work", github_pr_id=3)
        assert export_rows(team=team, filters=PRFilters()) == [default_row("Legacy work", "Former Member", 3)]

    @pytest.mark.django_db
    def test_created_date_bounds_follow_the_team_timezone(self, export_rows):
        """date_from/date_to are whole days in the team's zone, both inclusive: local 00:00 and 23:59:59 are in,
        and written as those local times.

        Los Angeles is UTC-8 in November, so the bounds are 08:00 UTC on the 16th and 07:59:59 UTC on the 19th.
        """
        team = TeamFactory(timezone="America/Los_Angeles")
        author = TeamMemberFactory(team=team, display_name="Lee")
        local = zoneinfo.ZoneInfo("America/Los_Angeles")
        for number, (title, created) in enumerate(
            [
                ("before", dt.datetime(2026, 11, 15, 23, 59, 59, tzinfo=local)),
                ("first instant", dt.datetime(2026, 11, 16, 0, 0, tzinfo=local)),
                ("last instant", dt.datetime(2026, 11, 18, 23, 59, 59, tzinfo=local)),
                ("after", dt.datetime(2026, 11, 19, 0, 0, tzinfo=local)),
            ],
            start=1,
        ):
            PullRequestFactory(
                team=team, author=author, title=title, github_pr_id=number, state=PullRequest.State.OPEN,
                merged_at=None, pr_created_at=created,
            )

        rows = export_rows(team=team, filters=PRFilters(date_from=dt.date(2026, 11, 16), date_to=dt.date(2026, 11, 18)))

        assert [(row[0], row[13]) for row in rows] == [
            ("last instant", "2026-11-18 23:59:59"),
            ("first instant", "2026-11-16 00:00:00"),
        ]

    @pytest.mark.django_db
    def test_duplicate_logins_across_teams_stay_apart(self, team, other_team, export_rows):
        """The same person (login, GitHub id, name) in two teams: each team exports only its own PRs.

        Filtering by the other team's member id exports nothing rather than the other team's rows.
        """
        mine = TeamMemberFactory(team=team, display_name="Dana", github_username="dana", github_id="42")
        theirs = TeamMemberFactory(team=other_team, display_name="Dana", github_username="dana", github_id="42")
        PullRequestFactory(team=team, author=mine, title="Mine", github_pr_id=1)
        PullRequestFactory(team=other_team, author=theirs, title="Theirs", github_pr_id=1)

        assert export_rows(team=team, filters=PRFilters()) == [default_row("Mine", "Dana", 1)]
        assert export_rows(team=team, filters=PRFilters(author_id=theirs.id)) == []

    @pytest.mark.django_db
    def test_times_of_a_team_with_summer_time_are_its_wall_times(self, export_rows):
        """A team in Europe/Berlin: each timestamp is Berlin's wall time to the second, on either side of both 2026
        changes (01:00 UTC on March 29 and October 25): the last second of winter time, the first of summer
        time, and 02:30 on October 25, which happens twice (00:30 and 01:30 UTC)."""
        team = TeamFactory(timezone="Europe/Berlin")
        moments = [
            (dt.datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC), dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
            (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
            (dt.datetime(2026, 11, 28, 13, 5, 9, 400_000, tzinfo=UTC), None),
        ]
        for number, (created, merged) in enumerate(moments, start=1):
            PullRequestFactory(
                team=team, author=None, title=f"PR {number}", github_pr_id=number, pr_created_at=created,
                merged_at=merged, state=PullRequest.State.MERGED if merged else PullRequest.State.OPEN,
            )

        rows = export_rows(team=team, filters=PRFilters())

        assert [(row[0], row[13], row[14]) for row in rows] == [
            ("PR 2", "2026-10-25 02:30:00", "2026-10-25 02:30:00"),
            ("PR 1", "2026-03-29 01:59:59", "2026-03-29 03:00:00"),
            ("PR 3", "2026-11-28 14:05:09", ""),
        ]

    @pytest.mark.django_db
    def test_a_zone_postgresql_reads_as_an_abbreviation_is_still_the_zone(self, export_rows):
        """"CET" is an IANA zone with summer time and also one of PostgreSQL's abbreviations (a fixed +01:00, which
        PostgreSQL would pick): the times are the zone's, summer time included, on both sides."""
        team = TeamFactory(timezone="CET")
        PullRequestFactory(
            team=team, author=None, title="Summer", github_pr_id=1, pr_created_at=dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
            merged_at=dt.datetime(2026, 7, 1, 22, 15, 1, tzinfo=UTC), ai_tools_detected=[1, "x"],
        )
        PullRequestFactory(
            team=team, author=None, title="Winter", github_pr_id=2, pr_created_at=dt.datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
            merged_at=dt.datetime(2026, 1, 1, 22, 15, 1, tzinfo=UTC),
        )

        rows = export_rows(team=team, filters=PRFilters())

        assert [(row[0], row[11], row[13], row[14]) for row in rows] == [
            ("Summer", "1, x", "2026-07-01 12:00:00", "2026-07-02 00:15:01"),
            ("Winter", "", "2026-01-01 11:00:00", "2026-01-01 23:15:01"),
        ]

    @pytest.mark.parametrize("served", ["legacy", "optimized"])
    @pytest.mark.django_db
    def test_the_csv_stream_is_the_same_whichever_side_serves(self, team, settings, served):
        """stream_pr_export_csv yields the header line (naming the team's zone), then the pair's CSV lines, with
        either side serving."""
        settings.SHADOW_DEFAULT_RATE = 0
        ada = TeamMemberFactory(team=team, display_name="Ada")
        PullRequestFactory(team=team, author=ada, title='Fix "quotes", commas', github_pr_id=9)
        PullRequestFactory(team=team, author=None, title="=1+1", github_pr_id=10,
                           merged_at=dt.datetime(2026, 11, 17, 12, 0, tzinfo=UTC))

        with force_side(PAIR, served):
            lines = list(stream_pr_export_csv(team=team, filters=PRFilters()))

        assert lines == [
            "Title,Repository,Author,State,Cycle Time (hours),Review Time (hours),Lines Added,Lines Deleted,"
            "Review Rounds,Comments,AI Assisted,AI Tools,Jira Key,Created At (UTC),Merged At (UTC),GitHub URL\r\n",
            f'"Fix ""quotes"", commas",acme/api,Ada,merged,24.00,4.00,30,10,1,2,No,,,{CREATED},{MERGED},'
            "https://github.com/acme/api/pull/9\r\n",
            "'=1+1,acme/api,,merged,24.00,4.00,30,10,1,2,No,,,2026-11-16 12:00:00,2026-11-17 12:00:00,"
            "https://github.com/acme/api/pull/10\r\n",
        ]

    @pytest.mark.parametrize("served", ["legacy", "optimized"])
    @pytest.mark.django_db
    def test_the_header_names_a_zone_other_than_utc(self, settings, served):
        """A team in America/New_York: the header's timestamp columns name it, the lines are in its time, and the
        header adds no query (the team row is already loaded): once the sampling rates are read, the export of a
        PR without author is the side's one query (besides the savepoint the served side runs in)."""
        settings.SHADOW_DEFAULT_RATE = 0
        team = TeamFactory(timezone="America/New_York")
        PullRequestFactory(team=team, author=None, title="East", github_pr_id=1)

        with force_side(PAIR, served):
            list(stream_pr_export_csv(team=team, filters=PRFilters()))
            with CaptureQueriesContext(connection) as captured:
                lines = list(stream_pr_export_csv(team=team, filters=PRFilters()))

        assert len([query for query in captured if "SAVEPOINT" not in query["sql"]]) == 1

        assert lines == [
            "Title,Repository,Author,State,Cycle Time (hours),Review Time (hours),Lines Added,Lines Deleted,"
            "Review Rounds,Comments,AI Assisted,AI Tools,Jira Key,Created At (America/New_York),"
            "Merged At (America/New_York),GitHub URL\r\n",
            "East,acme/api,,merged,24.00,4.00,30,10,1,2,No,,,2026-11-17 07:00:00,2026-11-18 07:00:00,"
            "https://github.com/acme/api/pull/1\r\n",
        ]

    # --- streaming at scale --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_a_100000_row_export_streams_without_holding_the_rows(self, team):
        """100,000 PRs go through the optimized side with a peak under 30 MB: one chunk at a time, never all rows.

        (Legacy's queryset keeps every PR in memory, by design of the reference. The sampled stream pair's
        own lockstep over 100,000 rows is measured in tests/shadow/test_streams.py.)
        """
        authors = [TeamMemberFactory(team=team, display_name=f"Author {n}") for n in range(5)] + [None]
        bulk_prs(team, 100_000, authors=authors)

        tracemalloc.start()
        try:
            exported = sum(1 for _ in optimized.iter_pr_export_rows(team=team, filters=PRFilters()))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert exported == 100_000
        assert peak < 30 * MB

    # --- demo data ------------------------------------------------------------------------------

    def test_demo_data_gives_rows_to_compare(self, demo_teams):
        """Guard for the demo comparisons: every demo team exports hundreds of rows (300 generated and 10 edge
        cases), some without author."""
        rows = [
            [cells_of(line) for line in optimized.iter_pr_export_rows(team=team, filters=PRFilters())]
            for team in demo_teams
        ]

        assert [len(team_rows) for team_rows in rows] == [310, 310]
        assert [any(row[2] == "" for row in team_rows) for team_rows in rows] == [True, True]

    def test_both_sides_write_the_same_bytes_on_demo_data(self, demo_teams):
        """On the seeded demo teams (formula titles, null authors, two time zones), for every demo case, the
        optimized lines are legacy's, byte for byte."""
        exported = 0
        for team in demo_teams:
            for case in self.demo_cases.values():
                exported += len(same_lines_on_both_sides(team, case["filters"]))
        assert exported > 620


# --- the same bytes on both sides -------------------------------------------------------------------

TRICKY_TEXTS = [
    "", " ", "plain", "=1+1", "+cmd", "-2", "@x", "\t=tab", "\r=cr", "'quoted already", '"', 'Say "hi"', "a,b",
    "=a,b", '-"q"', "line\nbreak", "crlf\r\nend", "\n", "trailing\r", "Überarbeitung ✨ 山田", "tab\tinside",
    "\u2028separator", "back\\slash", "semi;colon", " =space first",
]


def set_column(pr, column: str, sql_value: str, *params) -> None:
    """Store a value the ORM would not write as such (JSON of any shape, a numeric NaN) straight into a column."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE metrics_pullrequest SET {column} = {sql_value} WHERE id = %s", [*params, pr.pk])


def same_lines_on_both_sides(team, filters=None) -> list[str]:
    """Both sides' lines for the team, asserted equal (the bytes of the export after its header); legacy's returned."""
    filters = filters or PRFilters()
    legacy_lines = list(legacy.iter_pr_export_rows(team=team, filters=filters))
    optimized_lines = list(optimized.iter_pr_export_rows(team=team, filters=filters))
    assert optimized_lines == legacy_lines
    assert "".join(optimized_lines).encode("utf-8") == "".join(legacy_lines).encode("utf-8")
    return legacy_lines


@pytest.fixture
def tricky_team(team):
    """A team holding every value the export's SQL formats: texts that need quotes or a formula escape in every
    text column (title, author, repository, state, Jira key, tools), negative, zero, null and large decimals and
    counts, timestamps with and without microseconds at the ends of the datetime range, AI tools lists."""
    number = iter(range(1, 10_000))
    authors = [None] + [TeamMemberFactory(team=team, display_name=text) for text in TRICKY_TEXTS]
    base = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    for index, text in enumerate(TRICKY_TEXTS):
        PullRequestFactory(
            team=team, author=authors[index % len(authors)], github_pr_id=next(number), title=text,
            github_repo=f"acme/{text}", state=text[:10], jira_key=text[:50],
            ai_tools_detected=[text] if index % 2 else [text, "copilot", text],
            merged_at=base - dt.timedelta(hours=index),
        )
    decimals = [Decimal("-3.50"), Decimal("-0.01"), Decimal("0.00"), Decimal("0.10"), Decimal("99999999.99"),
                Decimal("-99999999.99"), None]
    counts = [-7, 0, 2_147_483_647, -2_147_483_648, None]
    moments = [
        dt.datetime(2026, 11, 17, 12, 0, 0, 0, tzinfo=UTC), dt.datetime(2026, 11, 17, 12, 0, 0, 1, tzinfo=UTC),
        dt.datetime(2026, 11, 17, 12, 0, 0, 500_000, tzinfo=UTC), dt.datetime(2026, 11, 17, 12, 0, 59, 999_999, tzinfo=UTC),
        dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 1, 30, 0, 123_000, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
    ]
    for index, moment in enumerate(moments):
        PullRequestFactory(
            team=team, author=authors[1 + index % 3], github_pr_id=next(number), title=f"moment {index}",
            pr_created_at=moment, first_review_at=moment, merged_at=moment if index % 2 else None,
            state=PullRequest.State.MERGED if index % 2 else PullRequest.State.OPEN,
            cycle_time_hours=decimals[index % len(decimals)], review_time_hours=decimals[(index + 3) % len(decimals)],
            additions=counts[index % 4], deletions=counts[(index + 1) % 4],
            review_rounds=counts[index % len(counts)], total_comments=counts[(index + 2) % len(counts)],
            is_ai_assisted=bool(index % 2), ai_tools_detected=[], jira_key="",
        )
    nan = PullRequestFactory(team=team, author=None, github_pr_id=next(number), title="not a number")
    set_column(nan, "cycle_time_hours", "'NaN'")
    return team


@pytest.mark.django_db
def test_both_sides_write_the_same_bytes_for_every_tricky_value(tricky_team):
    """Quotes, commas, line breaks, formula starts (also on negative numbers), nulls, microseconds or none, the
    ends of the datetime range, NaN: the optimized lines are legacy's, byte for byte, and csv.writer's."""
    lines = same_lines_on_both_sides(tricky_team)

    assert len(lines) == len(TRICKY_TEXTS) + 8 + 1
    rows = {cells[0]: cells for cells in map(cells_of, lines)}
    assert [rows[f"moment {index}"][13] for index in range(8)] == [
        "2026-11-17 12:00:00", "2026-11-17 12:00:00", "2026-11-17 12:00:00", "2026-11-17 12:00:59",
        "0001-01-01 00:00:00", "0999-12-31 23:59:59", "9999-12-31 23:59:59", "2026-03-29 00:30:00",
    ]
    assert [rows[f"moment {index}"][4] for index in range(3)] == ["'-3.50", "'-0.01", "0.00"]
    assert rows["not a number"][4] == "NaN"


# Zones with summer time (both hemispheres, a 30-minute one), the largest offsets either way, local mean times
# with seconds before their history, a fixed offset, and names PostgreSQL also reads as abbreviations.
ZONES = [
    "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Kiritimati",
    "Pacific/Pago_Pago", "America/St_Johns", "Etc/GMT-14", "CET", "EST", "UTC", "GMT",
]
# The local times of the tricky team's eight moments (tricky_team) in Berlin: the year-1 and year-9999 instants in
# local mean time and in year 10000, the spring change's 00:30 UTC still in winter time.
BERLIN_MOMENTS = [
    "2026-11-17 13:00:00", "2026-11-17 13:00:00", "2026-11-17 13:00:00", "2026-11-17 13:00:59",
    "0001-01-01 00:53:28", "1000-01-01 00:53:27", "10000-01-01 00:59:59", "2026-03-29 01:30:00",
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.django_db
def test_both_sides_write_the_same_bytes_in_every_kind_of_zone(tricky_team, zone):
    """The tricky team in zones of every kind: the same bytes on both sides, timestamps at the ends of the
    datetime range (local years 0 and 10000 included) and at Berlin's summer time change among them."""
    tricky_team.timezone = zone
    tricky_team.save()

    lines = same_lines_on_both_sides(tricky_team)

    rows = {cells[0]: cells for cells in map(cells_of, lines)}
    if zone == "Europe/Berlin":
        assert [rows[f"moment {index}"][13] for index in range(8)] == BERLIN_MOMENTS


@pytest.mark.django_db
def test_tricky_lines_spelled_out(team):
    """Two lines written out whole: what "the same bytes" means, on both sides."""
    mallory = TeamMemberFactory(team=team, display_name="-Mallory, Jr.")
    PullRequestFactory(
        team=team, author=mallory, github_pr_id=5, title="=a,b", github_repo='acme/a"b', cycle_time_hours=Decimal("-3.50"),
        review_time_hours=None, additions=0, deletions=-7, review_rounds=None, total_comments=3, is_ai_assisted=True,
        ai_tools_detected=["+tool", "x"], jira_key="@J", pr_created_at=dt.datetime(2026, 11, 17, 12, 0, 0, 1, tzinfo=UTC),
    )
    PullRequestFactory(
        team=team, author=None, github_pr_id=6, title="line\nbreak", state=PullRequest.State.OPEN, merged_at=None,
        cycle_time_hours=None, review_time_hours=Decimal("0.00"), review_rounds=0, total_comments=None,
        pr_created_at=dt.datetime(2026, 11, 17, 12, 0, 0, 500_000, tzinfo=UTC),
    )

    assert same_lines_on_both_sides(team) == [
        '"\'=a,b","acme/a""b","\'-Mallory, Jr.",merged,\'-3.50,,0,\'-7,,3,Yes,"\'+tool, x",\'@J,'
        '2026-11-17 12:00:00,2026-11-18 12:00:00,"https://github.com/acme/a""b/pull/5"\r\n',
        '"line\nbreak",acme/api,,open,,0.00,30,10,0,,No,,,2026-11-17 12:00:00,,'
        "https://github.com/acme/api/pull/6\r\n",
    ]


# Stored AI Tools values of every JSON shape, as (JSON text, the cell legacy writes for it).
TOOLS_JSON = [
    ("[]", ""),
    ('["copilot"]', "copilot"),
    ('["copilot", "cursor"]', "copilot, cursor"),
    ('[""]', ""),
    ('["", ""]', ", "),
    ('["+tool", "x"]', "'+tool, x"),
    ('["a\\"b"]', 'a"b'),
    ('["back\\\\slash"]', "back\\slash"),
    ('["tab\\there", "new\\nline"]', "tab\there, new\nline"),
    ('["\\tlead"]', "'\tlead"),
    ('["é", "山田", "✨"]', "é, 山田, ✨"),
    ('["\\u00e9"]', "é"),
    ("[1, 2.5, true, null]", "1, 2.5, True, None"),
    ('[-1, "x"]', "'-1, x"),
    ("[1.50, 1e2, 1E-7, 10000000000000000.0]", "1.5, 100, 1e-07, 1e+16"),
    ('[{"b": 1, "a": "x"}, ["n"]]', "{'a': 'x', 'b': 1}, ['n']"),
    ('"copilot"', "copilot"),
    ('"=cmd"', "'=cmd"),
    ('""', ""),
    ("0", ""),
    ("-3", "'-3"),
    ("1.25", "1.25"),
    ("true", "Yes"),
    ("false", ""),
    ("null", ""),
    ("{}", ""),
    ('{"tool": "copilot"}', "{'tool': 'copilot'}"),
]


@pytest.mark.parametrize(("json_text", "cell"), TOOLS_JSON, ids=[json_text for json_text, _ in TOOLS_JSON])
@pytest.mark.django_db
def test_ai_tools_of_any_json_shape_are_written_as_legacy_writes_them(team, json_text, cell):
    """A JSON array of strings is joined in SQL; any other shape is formatted in Python for that row only.
    Either way the line is legacy's, and the cell is format_cell's."""
    before = PullRequestFactory(team=team, github_pr_id=1, title="before", merged_at=dt.datetime(2026, 11, 19, tzinfo=UTC))
    pr = PullRequestFactory(team=team, github_pr_id=2, title="tools, here", jira_key="=J")
    PullRequestFactory(team=team, github_pr_id=3, title="after", merged_at=dt.datetime(2026, 11, 17, tzinfo=UTC))
    set_column(pr, "ai_tools_detected", "%s::jsonb", json_text)
    set_column(before, "ai_tools_detected", "%s::jsonb", json_text)

    lines = same_lines_on_both_sides(team)

    assert [cells_of(line)[0] for line in lines] == ["before", "tools, here", "after"]
    assert [cells_of(line)[11] for line in lines[:2]] == [cell, cell]
    assert cells_of(lines[1])[12] == "'=J"


@pytest.mark.django_db
def test_the_statement_orders_lines_by_the_pr_lists_order_by(team):
    """The outer query orders by filter_pull_requests' own ORDER BY, translated term by term (not copied by hand);
    an ordering it cannot translate is refused rather than dropped."""
    from django.db.models import F
    from django.db.models.functions import Lower

    from apps.metrics.services.pr_list import filter_pull_requests

    prs = filter_pull_requests(team=team, filters=PRFilters())
    sql, _params = optimized.export_statement(team=team, filters=PRFilters())

    assert optimized.ordering(prs) == [("merged_at", "DESC NULLS LAST"), ("pr_created_at", "DESC"), ("id", "DESC")]
    assert sql.endswith(
        ") AS pr ORDER BY pr.export_order_0 DESC NULLS LAST, pr.export_order_1 DESC, pr.export_order_2 DESC"
    )
    assert optimized.ordering(prs.order_by("title", F("state").asc(nulls_first=True))) == [
        ("title", "ASC"), ("state", "ASC NULLS FIRST"),
    ]
    with pytest.raises(ValueError, match="cannot order by"):
        optimized.ordering(prs.order_by(Lower("title")))


@pytest.mark.parametrize("served", ["legacy", "optimized"])
@pytest.mark.django_db(transaction=True)
def test_a_sampled_export_streamed_in_autocommit_is_judged_the_same_bytes(tricky_team, settings, monkeypatch, served):
    """A sampled export as a request streams it: autocommit, both sides in lockstep on one connection, legacy
    asking for authors between the optimized cursor's chunks (a few lines each here). Every line is served, the
    digests match, nothing is recorded as a mismatch."""
    from shadow.models import DailyEvidence

    settings.SHADOW_DEFAULT_RATE = 1
    settings.SHADOW_RAISE_ON_MISMATCH = True
    settings.SHADOW_TIME_BUDGET_MS = 120_000
    monkeypatch.setattr(optimized, "CHUNK_SIZE", 3)
    expected = list(legacy.iter_pr_export_rows(team=tricky_team, filters=PRFilters()))

    with force_side(PAIR, served):
        lines = list(stream_pr_export_csv(team=tricky_team, filters=PRFilters()))

    assert lines[1:] == expected
    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=tricky_team)
    assert (evidence.matches, evidence.mismatches, evidence.errors, evidence.timeouts) == (1, 0, 0, 0)
    assert ShadowRecord.objects.count() == 0


@pytest.mark.django_db
def test_without_server_side_cursors_the_lines_are_the_same(tricky_team, monkeypatch):
    """With DISABLE_SERVER_SIDE_CURSORS (e.g. behind a transaction-pooling pgbouncer) the optimized side reads
    the same statement through a plain cursor, as QuerySet.iterator() would, and writes the same lines."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    monkeypatch.setattr(optimized, "CHUNK_SIZE", 4)

    same_lines_on_both_sides(tricky_team)


def test_the_decimal_columns_hold_two_places():
    """The SQL writes a Decimal as numeric's text, which has the column's scale: two places, as format_cell's "{:.2f}"
    writes it. A change of scale must change the SQL too."""
    fields = [PullRequest._meta.get_field(name) for name in ("cycle_time_hours", "review_time_hours")]
    assert [(field.get_internal_type(), field.decimal_places) for field in fields] == [("DecimalField", 2)] * 2
