"""The dashboard, PR list and CSV export pages, rendered over hand-built data.

"Today" is fixed at 2026-11-20 (a Friday) by `today`, so the default 30-day
range is 2026-10-22..2026-11-20 and the previous period 2026-09-22..2026-10-21.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from apps.metrics.services.pr_export import stream_pr_export_csv
from apps.metrics.services.pr_list import PRFilters
from apps.metrics.views.dashboard import format_delta, parse_days
from apps.metrics.views.pr_list import in_pieces
from shadow.testing import force_side
from tests.factories import (
    AIUsageDailyFactory,
    PRReviewFactory,
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamMemberFactory,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

EXPORT_HEADER = [
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
    "Created At (UTC)",
    "Merged At (UTC)",
    "GitHub URL",
]


def at(day: int, hour: int = 12, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=UTC)


class _ElementText(HTMLParser):
    """Collects the text inside the first element with a given id (nested same-name tags counted)."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.tag: str | None = None
        self.depth = 0
        self.done = False
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if self.tag is None and dict(attrs).get("id") == self.element_id:
            self.tag, self.depth = tag, 1
        elif tag == self.tag:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.tag is not None and not self.done and tag == self.tag:
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data):
        if self.tag is not None and not self.done:
            self.parts.append(data)


def text_of(response, element_id: str) -> str:
    """The visible text of the element with this id, whitespace collapsed ("" when there is none)."""
    parser = _ElementText(element_id)
    parser.feed(response.content.decode())
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


def csv_rows(response) -> list[list[str]]:
    """The export's rows, after its byte-order mark (tests/metrics/test_export_view.py checks the mark)."""
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.fixture
def today(monkeypatch):
    """Pin today's date to 2026-11-20 12:00 UTC, still honouring the time zone the view asks for."""

    def fake_localdate(value=None, timezone=None):
        return (value or NOW).astimezone(timezone or UTC).date()

    monkeypatch.setattr("django.utils.timezone.localdate", fake_localdate)
    return NOW.date()


@pytest.fixture
def delivery(team, other_team):
    """Three PRs merged in the default range, one in the previous period, plus surveys, reviews and Copilot usage.

    - #1 Ada, merged Nov 18, cycle 24 h, review 4 h, 30+10 lines (S), survey: AI, rated 3 by Grace
    - #2 Ada, merged Nov 17, cycle 12 h, review 2 h, 300+100 lines (L), survey: not AI
    - #3 Grace, merged Nov 10, cycle 24 h, review 4 h, 5+3 lines (XS), survey: AI, rated 2 by Ada
    - #4 Ada, merged Oct 10 (previous period), cycle 24 h
    Reviews in range: Grace 4, Ada 1 (mean 2.5: Grace high, Ada low).
    Copilot: Ada 100 shown / 30 accepted on Nov 18, Grace 50 / 20 on Nov 19.
    Another team has a merged PR, a review and Copilot usage in the same days.
    """
    ada = TeamMemberFactory(team=team, display_name="Ada Lovelace", github_username="ada")
    grace = TeamMemberFactory(team=team, display_name="Grace Hopper", github_username="")
    pr1 = PullRequestFactory(
        team=team, author=ada, github_pr_id=1, title="Add login throttling", merged_at=at(18), is_ai_assisted=True
    )
    pr2 = PullRequestFactory(
        team=team,
        author=ada,
        github_pr_id=2,
        title="Rewrite billing exports",
        merged_at=at(17),
        pr_created_at=at(17, 0),
        first_review_at=at(17, 2),
        additions=300,
        deletions=100,
    )
    pr3 = PullRequestFactory(
        team=team,
        author=grace,
        github_pr_id=3,
        title="Fix typo in footer",
        merged_at=at(10, 9),
        additions=5,
        deletions=3,
    )
    PullRequestFactory(team=team, author=ada, github_pr_id=4, title="Old cleanup", merged_at=at(10, 12, month=10))

    survey1 = PRSurveyFactory(pull_request=pr1, author_ai_assisted=True)
    PRSurveyReviewFactory(survey=survey1, reviewer=grace, quality_rating=3)
    PRSurveyFactory(pull_request=pr2, author_ai_assisted=False)
    survey3 = PRSurveyFactory(pull_request=pr3, author_ai_assisted=True)
    PRSurveyReviewFactory(survey=survey3, reviewer=ada, quality_rating=2)

    for state in ["changes_requested", "commented", "approved"]:
        PRReviewFactory(pull_request=pr1, reviewer=grace, state=state)
    PRReviewFactory(pull_request=pr2, reviewer=grace)
    PRReviewFactory(pull_request=pr3, reviewer=ada)

    AIUsageDailyFactory(
        team=team, member=ada, date=dt.date(2026, 11, 18), suggestions_shown=100, suggestions_accepted=30
    )
    AIUsageDailyFactory(
        team=team, member=grace, date=dt.date(2026, 11, 19), suggestions_shown=50, suggestions_accepted=20
    )

    stranger = TeamMemberFactory(team=other_team, display_name="Globex Stranger")
    globex_pr = PullRequestFactory(team=other_team, author=stranger, title="Globex secret plan", merged_at=at(18))
    PRReviewFactory(pull_request=globex_pr, reviewer=stranger)
    AIUsageDailyFactory(
        team=other_team, member=stranger, date=dt.date(2026, 11, 18), suggestions_shown=987654
    )
    return {"ada": ada, "grace": grace, "prs": [pr1, pr2, pr3]}


# --- helpers of the dashboard view ------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "unit", "expected"),
    [
        (5, 2, "", "+3"),
        (1, 2, "", "\u22121"),
        (4, 4, "", "0"),
        (Decimal("20.00"), Decimal("21.20"), " h", "\u22121.20 h"),
        (Decimal("66.67"), Decimal("0.00"), " pts", "+66.67 pts"),
        (Decimal("2.50"), Decimal("2.50"), "", "0.00"),
        (Decimal("2.50"), None, "", "\u2014"),
        (None, Decimal("24.00"), " h", "\u2014"),
    ],
)
def test_format_delta(current, previous, unit, expected):
    """The change is signed with "+" or a real minus, keeps two places for Decimals, and is "—" if a side is None."""
    assert format_delta(current, previous, unit=unit) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 30), ("", 30), ("7", 7), ("30", 30), ("90", 90), ("14", None), ("abc", None), ("-7", None), ("7.0", None)],
)
def test_parse_days(raw, expected):
    """Only 7, 30 and 90 are ranges; an absent or blank value means 30."""
    assert parse_days(raw) == expected


# --- dashboard ------------------------------------------------------------------------


def test_dashboard_key_metrics_with_deltas(member_client, today, delivery):
    """Key metric cards show the current period and the change against the previous 30 days."""
    response = member_client.get("/app/acme/")

    assert response.status_code == 200
    assert text_of(response, "kpi-prs_merged") == "PRs merged 3 +2 vs previous 30 days"
    assert text_of(response, "kpi-avg_cycle_time") == "Avg cycle time 20.00 h \u22124.00 h vs previous 30 days"
    assert text_of(response, "kpi-avg_quality_rating") == "Avg quality rating 2.50 / 3 \u2014 vs previous 30 days"
    assert text_of(response, "kpi-ai_assisted_pct") == "AI-assisted PRs 66.67% +66.67 pts vs previous 30 days"


def test_dashboard_team_breakdown(member_client, today, delivery):
    """One row per author with PRs, average cycle time and survey AI %; initials, never a picture that may not exist."""
    response = member_client.get("/app/acme/")

    breakdown = text_of(response, "team-breakdown")
    assert "AL Ada Lovelace 2 18.00 h 50.00%" in breakdown
    assert "GH Grace Hopper 1 24.00 h 100.00%" in breakdown
    assert '<span class="avatar" aria-hidden="true">AL</span>' in response.content.decode()
    assert "<img " not in response.content.decode()


def test_dashboard_weekly_trends(member_client, today, delivery):
    """Cycle time, review time and AI adoption per week of the range, including empty weeks."""
    response = member_client.get("/app/acme/")

    cycle = text_of(response, "cycle-time-trend")
    review = text_of(response, "review-time-trend")
    adoption = text_of(response, "ai-adoption-trend")
    # The range's first and last weeks are partial, and say so.
    assert (
        "Oct 19 (partial, 4 of 7 days) \u2014 0 Oct 26 \u2014 0 Nov 2 \u2014 0 Nov 9 24.00 h 1 "
        "Nov 16 (partial, 5 of 7 days) 18.00 h 2"
    ) in cycle
    assert "Nov 9 4.00 h 1 Nov 16 (partial, 5 of 7 days) 3.00 h 2" in review
    assert "Nov 2 0.00% 0 Nov 9 100.00% 1 Nov 16 (partial, 5 of 7 days) 50.00% 2" in adoption


def test_dashboard_size_distribution_and_recent_prs(member_client, today, delivery):
    """PR sizes per bucket, and the latest merged PRs newest first with a link to GitHub."""
    response = member_client.get("/app/acme/")

    assert text_of(response, "pr-size-distribution").endswith("XS 1 S 1 M 0 L 1 XL 0")
    recent = text_of(response, "recent-prs")
    assert "Add login throttling acme/api#1 Ada Lovelace Nov 18, 12:00 24.00 h AI" in recent
    assert "Rewrite billing exports acme/api#2 Ada Lovelace Nov 17, 12:00 12.00 h \u2014" in recent
    assert "Fix typo in footer acme/api#3 Grace Hopper Nov 10, 09:00 24.00 h \u2014" in recent
    assert recent.index("Add login throttling") < recent.index("Rewrite billing") < recent.index("Fix typo")
    assert 'href="https://github.com/acme/api/pull/1"' in response.content.decode()


def test_dashboard_copilot_and_reviewer_workload(member_client, today, delivery):
    """Copilot totals and per-member usage, and reviews per reviewer with their load."""
    response = member_client.get("/app/acme/")

    assert text_of(response, "copilot") == (
        "Copilot Suggestions shown 150 Suggestions accepted 50 Acceptance rate 33.33% Active members 2"
    )
    assert "Ada Lovelace 100 30 30.00% Grace Hopper 50 20 40.00%" in text_of(response, "copilot-by-member")
    assert "Grace Hopper 4 high Ada Lovelace 1 low" in text_of(response, "reviewer-workload")


def test_dashboard_never_shows_another_teams_data(member_client, today, delivery):
    """Data of another team in the same days appears nowhere on the dashboard."""
    html = member_client.get("/app/acme/").content.decode()

    assert "Globex" not in html
    assert "987654" not in html


@pytest.mark.parametrize(
    ("days", "range_text", "prs_card"),
    [
        ("7", "Nov 14, 2026 \u2013 Nov 20, 2026", "PRs merged 2 +1 vs previous 7 days"),
        ("30", "Oct 22, 2026 \u2013 Nov 20, 2026", "PRs merged 3 +2 vs previous 30 days"),
        # The 90 days before hold no merged PR: nothing to compare with.
        ("90", "Aug 23, 2026 \u2013 Nov 20, 2026", "PRs merged 4 no comparable data in the previous 90 days"),
    ],
)
def test_dashboard_accepts_7_30_and_90_days(member_client, today, delivery, days, range_text, prs_card):
    """Each allowed range ends today and is compared with the same number of days before it."""
    response = member_client.get(f"/app/acme/?days={days}")

    assert response.status_code == 200
    assert range_text in response.content.decode()
    assert text_of(response, "kpi-prs_merged") == prs_card


def test_dashboard_range_ends_today_in_the_team_time_zone(member_client, today, team):
    """At 12:00 UTC on Nov 20 it is already Nov 21 in Auckland, so the range ends Nov 21."""
    team.timezone = "Pacific/Auckland"
    team.save()

    response = member_client.get("/app/acme/?days=7")

    assert "Nov 15, 2026 \u2013 Nov 21, 2026" in response.content.decode()


def test_dashboard_range_switcher_and_pr_list_link(member_client, today, team):
    """The page links to the other ranges and to the PR list, and marks the current range."""
    html = member_client.get("/app/acme/?days=7").content.decode()

    assert '<span aria-current="true">7 days</span>' in html
    assert 'href="?days=30"' in html
    assert 'href="?days=90"' in html
    assert 'href="/app/acme/prs/"' in html


@pytest.mark.parametrize("days", ["abc", "14", "0", "-30"])
def test_dashboard_rejects_other_ranges_with_400(member_client, today, team, days):
    """Any days value other than 7, 30 or 90 is a 400 naming the allowed values; no cards are rendered."""
    response = member_client.get(f"/app/acme/?days={days}")

    assert response.status_code == 400
    assert f"Unknown range \u201c{days}\u201d: days must be one of 7, 30 or 90." in response.content.decode()
    assert text_of(response, "team-breakdown") == ""


def test_dashboard_escapes_the_rejected_value(member_client, today, team):
    """The rejected value is echoed HTML-escaped."""
    response = member_client.get("/app/acme/", {"days": "<script>"})

    assert response.status_code == 400
    assert "<script>" not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()


def test_dashboard_of_an_empty_team_shows_empty_states(member_client, today, team):
    """Without any data every card says so instead of showing blank tables."""
    response = member_client.get("/app/acme/")

    assert response.status_code == 200
    assert text_of(response, "kpi-prs_merged") == "PRs merged 0 no comparable data in the previous 30 days"
    assert text_of(response, "kpi-avg_cycle_time") == "Avg cycle time \u2014 no comparable data in the previous 30 days"
    # No share of nothing, and the empty state sits inside the key metrics' section.
    assert text_of(response, "kpi-ai_assisted_pct") == "AI-assisted PRs \u2014 no comparable data in the previous 30 days"
    assert text_of(response, "key-metrics").endswith("No merged PRs in this range.")
    assert text_of(response, "team-breakdown") == "Team breakdown No merged PRs in this range."
    assert text_of(response, "cycle-time-trend") == "Cycle time by week No merged PRs in this range."
    assert text_of(response, "review-time-trend") == "Time to first review by week No reviewed PRs in this range."
    assert text_of(response, "ai-adoption-trend").endswith("No survey answers in this range.")
    assert text_of(response, "pr-size-distribution").endswith("No merged PRs in this range.")
    assert text_of(response, "recent-prs") == "Recently merged No merged PRs in this range."
    assert text_of(response, "copilot") == "Copilot No Copilot usage in this range."
    assert text_of(response, "copilot-by-member") == "Copilot by member No Copilot usage in this range."
    assert text_of(response, "reviewer-workload") == "Reviewer workload No reviews in this range."


# --- PR list --------------------------------------------------------------------------


def test_pr_list_shows_the_teams_prs_only(member_client, today, delivery):
    """Every PR of the team is listed with its columns; another team's PRs never are."""
    response = member_client.get("/app/acme/prs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["page"]["total"] == 4
    assert "4 matching pull requests" in html
    assert "Globex secret plan" not in html
    assert (
        "Add login throttling #1 acme/api Ada Lovelace merged S 24.00 h AI \u2014 2026-11-17 12:00 2026-11-18 12:00"
        in text_of(response, "pr-table")
    )
    assert 'href="https://github.com/acme/api/pull/1"' in html


def test_pr_list_applies_filters(member_client, today, delivery):
    """Filters narrow the rows: here AI-assisted PRs of one author."""
    response = member_client.get("/app/acme/prs/", {"ai": "yes", "author": delivery["ada"].id})

    titles = [row["title"] for row in response.context["page"]["rows"]]
    assert response.status_code == 200
    assert titles == ["Add login throttling"]
    assert "1 matching pull request<" in response.content.decode()


def test_pr_list_filter_by_state_and_size(member_client, today, team):
    """State and size filters combine."""
    member = TeamMemberFactory(team=team)
    PullRequestFactory(
        team=team, author=member, title="Open small", state="open", merged_at=None, additions=5, deletions=0
    )
    PullRequestFactory(team=team, author=member, title="Open large", state="open", merged_at=None, additions=400)
    PullRequestFactory(team=team, author=member, title="Merged small", additions=5, deletions=0)

    response = member_client.get("/app/acme/prs/?state=open&size=XS")

    assert [row["title"] for row in response.context["page"]["rows"]] == ["Open small"]


def test_pr_list_paginates_50_rows_and_keeps_filters_in_links(member_client, today, team):
    """51 matching PRs make two pages; page links and the export link carry the filters."""
    member = TeamMemberFactory(team=team)
    PullRequestFactory.create_batch(51, team=team, author=member)
    PullRequestFactory(team=team, author=member, state="open", merged_at=None, title="Still open")

    first = member_client.get("/app/acme/prs/?state=merged")
    second = member_client.get("/app/acme/prs/?state=merged&page=2")

    first_html, second_html = first.content.decode(), second.content.decode()
    assert len(first.context["page"]["rows"]) == 50
    assert len(second.context["page"]["rows"]) == 1
    assert "Page 1 of 2" in first_html
    assert 'href="?state=merged&amp;page=2"' in first_html
    assert "Page 2 of 2" in second_html
    assert 'href="?state=merged&amp;page=1"' in second_html
    assert 'href="/app/acme/prs/export.csv?state=merged"' in first_html
    assert "Still open" not in first_html + second_html


def test_pr_list_renders_the_filter_form(member_client, today, delivery):
    """The filter form offers the team's repositories and members only."""
    response = member_client.get("/app/acme/prs/")

    html = response.content.decode()
    assert '<form method="get" action="/app/acme/prs/"' in html
    assert '<option value="acme/api">acme/api</option>' in html
    assert f'<option value="{delivery["ada"].id}">Ada Lovelace</option>' in html
    assert "Globex Stranger" not in html
    assert text_of(response, "pr-table") != ""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("state=bogus", "State must be one of open, merged, closed, not \u201cbogus\u201d."),
        ("date_from=2026-11-20&date_to=2026-11-01", "The start date (2026-11-20) is after the end date (2026-11-01)."),
        ("date_from=2026-02-30", "Enter the start date as YYYY-MM-DD (a real calendar date)."),
    ],
)
def test_pr_list_invalid_filter_is_400_with_the_error_and_no_rows(member_client, today, delivery, query, message):
    """An invalid filter re-renders the form with its error, status 400, and lists no PRs."""
    response = member_client.get(f"/app/acme/prs/?{query}")

    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert "Add login throttling" not in html
    assert "Export CSV" not in html
    assert text_of(response, "pr-table") == ""


def test_pr_list_rejects_an_author_from_another_team(member_client, today, delivery, other_team):
    """Filtering by another team's member id is a 400, never a way to see that team's PRs."""
    stranger = TeamMemberFactory(team=other_team)

    response = member_client.get("/app/acme/prs/", {"author": stranger.id})

    assert response.status_code == 400
    assert "Unknown author: choose a member of this team." in response.content.decode()
    assert "Globex secret plan" not in response.content.decode()


def test_pr_list_with_no_matches_says_so(member_client, today, team):
    """An empty result is a normal page with an empty state."""
    response = member_client.get("/app/acme/prs/")

    assert response.status_code == 200
    assert "No pull requests match these filters." in response.content.decode()


# --- CSV export -----------------------------------------------------------------------


def test_export_streams_csv_with_header_and_filename(member_client, today, delivery):
    """The export is a streamed CSV attachment named after the team and today, starting with 16 columns."""
    response = member_client.get("/app/acme/prs/export.csv")

    rows = csv_rows(response)
    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="acme-pull-requests-2026-11-20.csv"'
    assert rows[0] == EXPORT_HEADER
    assert len(rows) == 5
    assert rows[1] == [
        "Add login throttling",
        "acme/api",
        "Ada Lovelace",
        "merged",
        "24.00",
        "4.00",
        "30",
        "10",
        "1",
        "2",
        "Yes",
        "",
        "",
        "2026-11-17 12:00:00",
        "2026-11-18 12:00:00",
        "https://github.com/acme/api/pull/1",
    ]
    assert "Globex secret plan" not in [row[0] for row in rows]


def test_export_applies_the_filters(member_client, today, delivery):
    """Only PRs matching the query-string filters are exported."""
    response = member_client.get("/app/acme/prs/export.csv", {"author": delivery["grace"].id})

    rows = csv_rows(response)
    assert [row[0] for row in rows[1:]] == ["Fix typo in footer"]


def test_export_neutralises_formulas(member_client, today, team):
    """A title a spreadsheet would evaluate starts with a single quote."""
    PullRequestFactory(team=team, title="=cmd()")

    rows = csv_rows(member_client.get("/app/acme/prs/export.csv"))

    assert rows[1][0] == "'=cmd()"


@pytest.mark.parametrize("served", ["legacy", "optimized"])
def test_export_body_is_the_header_and_the_pairs_lines(member_client, today, team, delivery, settings, served):
    """The response body is a byte-order mark and exactly stream_pr_export_csv's text (header, CRLF lines,
    csv.writer quoting), whichever side serves; it is sent in pieces of many lines, not one write per PR."""
    settings.SHADOW_DEFAULT_RATE = 0
    PullRequestFactory(team=team, title='=1+1, "quoted"\nline', github_pr_id=50, github_repo="acme/a,b")
    PullRequestFactory.create_batch(500, team=team, author=delivery["grace"], title="A title, with a comma")

    with force_side("metrics.pr_export", served):
        response = member_client.get("/app/acme/prs/export.csv")
        pieces = list(response.streaming_content)
        expected = "".join(stream_pr_export_csv(team=team, filters=PRFilters()))

    assert b"".join(pieces) == b"\xef\xbb\xbf" + expected.encode("utf-8")
    assert expected.count("\r\n") == 1 + 4 + 501
    assert 1 < len(pieces) < 10


def test_export_pieces_keep_the_text_and_close_the_lines():
    """in_pieces joins lines into pieces of at least the given size, same text in the same order; closing it early
    closes the lines (the export's cursor)."""
    closed = []

    def lines():
        try:
            yield from (f"line {number}\r\n" for number in range(100))
        finally:
            closed.append(True)

    pieces = list(in_pieces(lines(), size=50))
    assert "".join(pieces) == "".join(f"line {number}\r\n" for number in range(100))
    assert all(len(piece) >= 50 for piece in pieces[:-1])
    assert closed == [True]

    early = in_pieces(lines(), size=50)
    next(early)
    early.close()
    assert closed == [True, True]


def test_export_invalid_filter_is_400_plain_text(member_client, today, delivery):
    """Invalid filters give 400 text/plain listing the errors instead of a file."""
    response = member_client.get("/app/acme/prs/export.csv?size=huge&ai=maybe")

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "Invalid filters:\n"
        "ai: AI assisted must be \u201cyes\u201d, \u201cno\u201d or empty, not \u201cmaybe\u201d.\n"
        "size: Size must be one of XS, S, M, L, XL, not \u201chuge\u201d.\n"
    )
