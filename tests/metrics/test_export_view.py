"""The CSV export's byte-order mark: first bytes of the response unless ?bom=0, never part of the pair's lines.

The body after the mark is stream_pr_export_csv's text, for every filter the export accepts; a bad bom value
is a 400 like a bad filter, and then nothing is exported.
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.metrics.services.pr_export import stream_pr_export_csv
from apps.metrics.services.pr_list import PRFilterForm
from tests.factories import (
    MembershipFactory,
    PRReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
    UserFactory,
)

BOM = b"\xef\xbb\xbf"
UTC = dt.UTC


@pytest.fixture
def exported(team):
    """Two members and PRs that the filters tell apart: Ada's reviewed, AI-assisted PR with a Jira key, Bob's plain
    one in another repository, and a formula title without author."""
    ada = TeamMemberFactory(team=team, display_name="Tomás Ada")
    bob = TeamMemberFactory(team=team, display_name="Bob")
    reviewed = PullRequestFactory(
        team=team, author=ada, title="Überarbeitung", github_pr_id=1, is_ai_assisted=True,
        ai_tools_detected=["copilot"], jira_key="ACME-1", additions=400, deletions=0,
    )
    PRReviewFactory(pull_request=reviewed, reviewer=bob)
    PullRequestFactory(team=team, author=bob, title="Plain", github_pr_id=2, github_repo="acme/web",
                       state="open", merged_at=None)
    PullRequestFactory(team=team, author=None, title="=1+1", github_pr_id=3,
                       merged_at=dt.datetime(2026, 11, 16, 12, 0, tzinfo=UTC))
    return {"ada": ada, "bob": bob}


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def expected_text(team, query: dict[str, str]) -> bytes:
    """What the export's body holds after any mark: the header and the pair's lines for these filters."""
    form = PRFilterForm(query, team=team)
    assert form.is_valid(), form.errors
    return "".join(stream_pr_export_csv(team=team, filters=form.to_filters())).encode("utf-8")


def test_the_export_starts_with_one_byte_order_mark(member_client, team, exported):
    """By default the first bytes are the UTF-8 mark, once, in the first piece; then the header and the lines,
    unchanged (accents, the formula escape, CRLF)."""
    response = member_client.get("/app/acme/prs/export.csv")
    pieces = list(response.streaming_content)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert pieces[0].startswith(BOM + b"Title,")
    body = b"".join(pieces)
    assert body.count(BOM) == 1
    assert body == BOM + expected_text(team, {})
    assert "Tomás Ada".encode() in body
    assert body.decode("utf-8-sig").count("\r\n") == 1 + 3


def test_bom_0_sends_no_mark_and_bom_1_the_default(member_client, team, exported):
    """?bom=0: the body is the header and the lines, no mark; ?bom=1 is the default."""
    without = member_client.get("/app/acme/prs/export.csv?bom=0")
    with_mark = member_client.get("/app/acme/prs/export.csv?bom=1")

    assert (without.status_code, with_mark.status_code) == (200, 200)
    assert body_of(without) == expected_text(team, {})
    assert body_of(with_mark) == BOM + expected_text(team, {})


@pytest.mark.parametrize("value", ["x", "", "2", "true", "00", " 0"])
def test_any_other_bom_is_a_400_and_nothing_is_exported(member_client, team, exported, django_assert_max_num_queries,
                                                       value):
    """bom is 1 or 0: anything else, empty included, is a 400 text/plain naming it, as a bad filter is, and the
    export's query never runs."""
    with django_assert_max_num_queries(20) as captured:
        response = member_client.get("/app/acme/prs/export.csv", {"bom": value})

    assert response.status_code == 400
    assert response.streaming is False
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    message = "BOM must be 1 or 0, not empty." if value == "" else (
        f"BOM must be 1 (a UTF-8 byte-order mark first, the default) or 0 (none), not \u201c{value}\u201d."
    )
    assert response.content.decode() == f"Invalid filters:\nbom: {message}\n"
    assert not any("metrics_pullrequest" in query["sql"] and "export_" in query["sql"] for query in captured)


def test_a_bad_bom_and_a_bad_filter_are_listed_together(member_client, team, exported):
    """Every error at once: the filters' first, then the bom's."""
    response = member_client.get("/app/acme/prs/export.csv?size=huge&bom=yes")

    assert response.status_code == 400
    assert response.content.decode() == (
        "Invalid filters:\n"
        "size: Size must be one of XS, S, M, L, XL, not \u201chuge\u201d.\n"
        "bom: BOM must be 1 (a UTF-8 byte-order mark first, the default) or 0 (none), not \u201cyes\u201d.\n"
    )


FILTER_QUERIES = [
    {},
    {"repo": "acme/web"},
    {"author": "ada"},
    {"reviewer": "bob"},
    {"ai": "yes"},
    {"ai_tool": "copilot"},
    {"size": "L"},
    {"state": "open"},
    {"has_jira": "no"},
    {"date_from": "2026-11-17", "date_to": "2026-11-17"},
    {"repo": "acme/api", "author": "ada", "reviewer": "bob", "ai": "yes", "ai_tool": "copilot", "size": "L",
     "state": "merged", "has_jira": "yes", "date_from": "2026-11-01", "date_to": "2026-11-30"},
    {"repo": "acme/api", "ai": "no"},
]


@pytest.mark.parametrize("bom", ["1", "0", None])
@pytest.mark.parametrize("query", FILTER_QUERIES, ids=lambda query: "&".join(query) or "none")
def test_the_mark_goes_with_every_filter(member_client, team, exported, query, bom):
    """Each filter alone, all of them at once, and none: with or without the mark, the body after it is the header
    and exactly the lines of those filters."""
    params = {name: str(exported[value].id) if name in ("author", "reviewer") else value for name, value in query.items()}
    if query:
        # Every filter set selects at least one PR, so the comparison below is not of headers alone.
        assert expected_text(team, params).count(b"\r\n") > 1
    if bom is not None:
        params["bom"] = bom

    response = member_client.get("/app/acme/prs/export.csv", params)

    assert response.status_code == 200
    mark = b"" if bom == "0" else BOM
    assert body_of(response) == mark + expected_text(team, {k: v for k, v in params.items() if k != "bom"})


def test_the_header_names_the_teams_zone_after_the_mark(client, exported):
    """A team in Europe/Berlin: after the mark, the header's timestamp columns name the zone and the times are
    Berlin's, to the second."""
    berlin = TeamFactory(name="Berlin", slug="berlin", timezone="Europe/Berlin")
    user = UserFactory(username="bert")
    MembershipFactory(user=user, team=berlin)
    client.force_login(user)
    PullRequestFactory(team=berlin, author=None, title="Winter", github_pr_id=1,
                       pr_created_at=dt.datetime(2026, 11, 28, 13, 5, 9, 999_999, tzinfo=UTC),
                       merged_at=dt.datetime(2026, 11, 28, 23, 30, tzinfo=UTC))

    lines = body_of(client.get("/app/berlin/prs/export.csv")).decode("utf-8").split("\r\n")

    assert lines[0].startswith("\ufeffTitle,")
    assert lines[0].endswith(",Created At (Europe/Berlin),Merged At (Europe/Berlin),GitHub URL")
    assert lines[1].split(",")[13:15] == ["2026-11-28 14:05:09", "2026-11-29 00:30:00"]
