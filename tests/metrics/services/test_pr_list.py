"""PR list filtering and paging, shared by the list page and the CSV export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services.pr_list import PAGE_SIZE, PRFilterForm, PRFilters, filter_pull_requests, get_pr_page
from tests.factories import PRReviewFactory, PullRequestFactory, TeamFactory, TeamMemberFactory

UTC = dt.UTC


def at(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def titles(team, **filter_values) -> list[str]:
    """Titles of filter_pull_requests for the given PRFilters values, in result order."""
    return [pr.title for pr in filter_pull_requests(team=team, filters=PRFilters(**filter_values))]


def bound_form(team, data: dict) -> PRFilterForm:
    form = PRFilterForm(data, team=team)
    form.is_valid()
    return form


@pytest.mark.django_db
def test_no_filters_returns_every_team_pr_and_no_other_team_pr(team, other_team):
    """Empty filters: all of the team's PRs, none of another team's (even with the same repo name)."""
    PullRequestFactory(team=team, title="ours", github_repo="acme/api")
    PullRequestFactory(team=other_team, title="theirs", github_repo="acme/api")
    assert titles(team) == ["ours"]


@pytest.mark.django_db
def test_repo_filter_and_choices_are_the_teams_repos(team, other_team):
    """Repo choices are the team's distinct repos (sorted); filtering keeps that repo only."""
    PullRequestFactory(team=team, title="api", github_repo="acme/api")
    PullRequestFactory(team=team, title="web", github_repo="acme/web")
    PullRequestFactory(team=team, title="web 2", github_repo="acme/web", merged_at=at(17))
    PullRequestFactory(team=other_team, github_repo="globex/secret")

    form = bound_form(team, {"repo": "acme/web"})

    assert form.fields["repo"].choices == [("", "All repositories"), ("acme/api", "acme/api"), ("acme/web", "acme/web")]
    assert form.to_filters() == PRFilters(repo="acme/web")
    assert titles(team, repo="acme/web") == ["web", "web 2"]


@pytest.mark.django_db
def test_repo_of_another_team_is_rejected(team, other_team):
    """A repo the team has no PRs in is not a valid choice."""
    PullRequestFactory(team=team, github_repo="acme/api")
    PullRequestFactory(team=other_team, github_repo="globex/secret")
    assert bound_form(team, {"repo": "globex/secret"}).errors == {
        "repo": ["Unknown repository “globex/secret” for this team."]
    }


@pytest.mark.django_db
def test_author_filter(team):
    """author keeps PRs authored by that member; the form turns the member into its id."""
    alice = TeamMemberFactory(team=team)
    bob = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=alice, title="by alice")
    PullRequestFactory(team=team, author=bob, title="by bob")
    PullRequestFactory(team=team, author=None, title="no author")

    assert bound_form(team, {"author": str(alice.id)}).to_filters() == PRFilters(author_id=alice.id)
    assert titles(team, author_id=alice.id) == ["by alice"]


@pytest.mark.django_db
def test_reviewer_filter_lists_each_reviewed_pr_once(team):
    """reviewer keeps PRs with at least one review by that member, once even if reviewed twice."""
    bob = TeamMemberFactory(team=team)
    carol = TeamMemberFactory(team=team)
    twice = PullRequestFactory(team=team, title="reviewed twice by bob", merged_at=at(20))
    once = PullRequestFactory(team=team, title="reviewed by bob", merged_at=at(19))
    other = PullRequestFactory(team=team, title="reviewed by carol", merged_at=at(18))
    PRReviewFactory(pull_request=twice, reviewer=bob)
    PRReviewFactory(pull_request=twice, reviewer=bob)
    PRReviewFactory(pull_request=once, reviewer=bob)
    PRReviewFactory(pull_request=other, reviewer=carol)

    assert bound_form(team, {"reviewer": str(bob.id)}).to_filters() == PRFilters(reviewer_id=bob.id)
    assert titles(team, reviewer_id=bob.id) == ["reviewed twice by bob", "reviewed by bob"]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["author", "reviewer"])
def test_member_of_another_team_is_rejected(team, other_team, field):
    """A member id from another team is a validation error, not a way to see that team's PRs."""
    TeamMemberFactory(team=team)
    foreign = TeamMemberFactory(team=other_team)
    form = bound_form(team, {field: str(foreign.id)})
    assert form.errors == {field: [f"Unknown {field}: choose a member of this team."]}


@pytest.mark.django_db
def test_ai_filter(team):
    """ai=yes keeps is_ai_assisted PRs, ai=no the others."""
    PullRequestFactory(team=team, title="ai", is_ai_assisted=True)
    PullRequestFactory(team=team, title="human", is_ai_assisted=False)

    assert bound_form(team, {"ai": "yes"}).to_filters() == PRFilters(is_ai_assisted=True)
    assert bound_form(team, {"ai": "no"}).to_filters() == PRFilters(is_ai_assisted=False)
    assert titles(team, is_ai_assisted=True) == ["ai"]
    assert titles(team, is_ai_assisted=False) == ["human"]


@pytest.mark.django_db
def test_ai_tool_filter_matches_whole_list_entries(team):
    """ai_tool keeps PRs whose detected-tools list contains exactly that entry (no substring match)."""
    PullRequestFactory(team=team, title="both", ai_tools_detected=["copilot", "cursor"], merged_at=at(20))
    PullRequestFactory(team=team, title="cursor", ai_tools_detected=["cursor"], merged_at=at(19))
    PullRequestFactory(team=team, title="none", ai_tools_detected=[], merged_at=at(18))

    assert bound_form(team, {"ai_tool": " copilot "}).to_filters() == PRFilters(ai_tool="copilot")
    assert titles(team, ai_tool="copilot") == ["both"]
    assert titles(team, ai_tool="cursor") == ["both", "cursor"]
    assert titles(team, ai_tool="cop") == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("XS", ["0", "10"]),
        ("S", ["11", "50"]),
        ("M", ["51", "200"]),
        ("L", ["201", "500"]),
        ("XL", ["501"]),
    ],
)
def test_size_filter_uses_bucket_bounds(team, size, expected):
    """Size by additions + deletions: XS ≤10, S 11–50, M 51–200, L 201–500, XL >500 (bounds inclusive)."""
    for day, lines in enumerate([0, 10, 11, 50, 51, 200, 201, 500, 501]):
        # Split between additions and deletions to check the sum is used; older day = later in the list.
        PullRequestFactory(team=team, title=str(lines), additions=lines // 2, deletions=lines - lines // 2,
                           merged_at=at(20 - day))
    assert bound_form(team, {"size": size}).to_filters() == PRFilters(size=size)
    assert titles(team, size=size) == expected


@pytest.mark.django_db
def test_state_filter(team):
    """state keeps PRs in that state."""
    PullRequestFactory(team=team, title="merged")
    PullRequestFactory(team=team, title="open", state=PullRequest.State.OPEN, merged_at=None, pr_created_at=at(10))
    PullRequestFactory(team=team, title="closed", state=PullRequest.State.CLOSED, merged_at=None, pr_created_at=at(9))

    assert bound_form(team, {"state": "open"}).to_filters() == PRFilters(state="open")
    assert titles(team, state="open") == ["open"]
    assert titles(team, state="closed") == ["closed"]
    assert titles(team, state="merged") == ["merged"]


@pytest.mark.django_db
def test_has_jira_filter(team):
    """has_jira=yes keeps PRs with a Jira key, no keeps those without."""
    PullRequestFactory(team=team, title="linked", jira_key="ACME-12")
    PullRequestFactory(team=team, title="unlinked", jira_key="")

    assert bound_form(team, {"has_jira": "yes"}).to_filters() == PRFilters(has_jira=True)
    assert titles(team, has_jira=True) == ["linked"]
    assert titles(team, has_jira=False) == ["unlinked"]


@pytest.mark.django_db
def test_date_range_is_team_local_and_inclusive():
    """date_from/date_to cover whole days in the team's zone (Europe/Berlin, UTC+1), both ends inclusive."""
    team = TeamFactory(timezone="Europe/Berlin")
    created = {
        "before start": at(9, 22, 59),  # 2026-11-09 23:59 Berlin
        "at start": at(9, 23, 0),  # 2026-11-10 00:00 Berlin
        "at end": at(12, 22, 59),  # 2026-11-12 23:59 Berlin
        "after end": at(12, 23, 0),  # 2026-11-13 00:00 Berlin
    }
    for title, when in created.items():
        PullRequestFactory(team=team, title=title, state=PullRequest.State.OPEN, merged_at=None, pr_created_at=when)

    filters = bound_form(team, {"date_from": "2026-11-10", "date_to": "2026-11-12"}).to_filters()

    assert filters == PRFilters(date_from=dt.date(2026, 11, 10), date_to=dt.date(2026, 11, 12))
    assert titles(team, date_from=dt.date(2026, 11, 10), date_to=dt.date(2026, 11, 12)) == ["at end", "at start"]
    assert titles(team, date_from=dt.date(2026, 11, 10)) == ["after end", "at end", "at start"]
    assert titles(team, date_to=dt.date(2026, 11, 12)) == ["at end", "at start", "before start"]


@pytest.mark.django_db
def test_combined_filters_all_apply(team):
    """Several filters together keep only PRs matching every one of them."""
    alice = TeamMemberFactory(team=team)
    bob = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=alice, title="match", github_repo="acme/web", is_ai_assisted=True,
                       jira_key="ACME-1", ai_tools_detected=["copilot"])
    PullRequestFactory(team=team, author=bob, title="wrong author", github_repo="acme/web", is_ai_assisted=True,
                       jira_key="ACME-2", ai_tools_detected=["copilot"])
    PullRequestFactory(team=team, author=alice, title="wrong repo", github_repo="acme/api", is_ai_assisted=True,
                       jira_key="ACME-3", ai_tools_detected=["copilot"])
    PullRequestFactory(team=team, author=alice, title="no jira", github_repo="acme/web", is_ai_assisted=True,
                       jira_key="", ai_tools_detected=["copilot"])
    PullRequestFactory(team=team, author=alice, title="not ai", github_repo="acme/web", is_ai_assisted=False,
                       jira_key="ACME-4", ai_tools_detected=[])

    filters = bound_form(
        team,
        {"repo": "acme/web", "author": str(alice.id), "ai": "yes", "has_jira": "yes", "ai_tool": "copilot",
         "size": "S", "state": "merged", "date_from": "2026-11-01", "date_to": "2026-11-30"},
    ).to_filters()

    assert [pr.title for pr in filter_pull_requests(team=team, filters=filters)] == ["match"]


@pytest.mark.django_db
def test_ordering_merged_desc_then_unmerged_by_created_then_id(team):
    """Newest merge first; unmerged PRs last, newest created first; equal timestamps by id descending."""
    PullRequestFactory(team=team, title="merged 18th", merged_at=at(18))
    PullRequestFactory(team=team, title="merged 20th", merged_at=at(20))
    PullRequestFactory(team=team, title="open created 19th", state=PullRequest.State.OPEN, merged_at=None,
                       pr_created_at=at(19))
    PullRequestFactory(team=team, title="open created 21st, first", state=PullRequest.State.OPEN,
                       merged_at=None, pr_created_at=at(21))
    PullRequestFactory(team=team, title="open created 21st, second", state=PullRequest.State.OPEN,
                       merged_at=None, pr_created_at=at(21))
    PullRequestFactory(team=team, title="merged 20th, older created", merged_at=at(20),
                       pr_created_at=at(1))

    assert titles(team) == [
        "merged 20th",
        "merged 20th, older created",
        "merged 18th",
        "open created 21st, second",
        "open created 21st, first",
        "open created 19th",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"ai": "maybe"}, {"ai": ["AI assisted must be “yes”, “no” or empty, not “maybe”."]}),
        ({"has_jira": "sometimes"}, {"has_jira": ["Has Jira key must be “yes”, “no” or empty, not “sometimes”."]}),
        ({"size": "XXL"}, {"size": ["Size must be one of XS, S, M, L, XL, not “XXL”."]}),
        ({"state": "draft"}, {"state": ["State must be one of open, merged, closed, not “draft”."]}),
        ({"date_from": "2026-13-45"}, {"date_from": ["Enter the start date as YYYY-MM-DD (a real calendar date)."]}),
        ({"date_to": "yesterday"}, {"date_to": ["Enter the end date as YYYY-MM-DD (a real calendar date)."]}),
        (
            {"date_from": "2026-11-20", "date_to": "2026-11-10"},
            {"__all__": ["The start date (2026-11-20) is after the end date (2026-11-10)."]},
        ),
        ({"author": "not-a-number"}, {"author": ["Unknown author: choose a member of this team."]}),
    ],
)
def test_bad_values_are_form_errors_with_clear_messages(team, data, errors):
    """Invalid filter values make the form invalid with a message naming the problem."""
    form = PRFilterForm(data, team=team)
    assert form.is_valid() is False
    assert form.errors == errors


@pytest.mark.django_db
def test_to_filters_requires_a_valid_form(team):
    """to_filters() on an invalid form raises instead of returning half-cleaned filters."""
    form = PRFilterForm({"ai": "maybe"}, team=team)
    with pytest.raises(ValueError, match="valid form"):
        form.to_filters()


@pytest.mark.django_db
def test_empty_query_gives_empty_filters(team):
    """A bound form without parameters (the page's first load) means no filtering."""
    assert bound_form(team, {}).to_filters() == PRFilters()


@pytest.mark.django_db
def test_filters_round_trip_through_query_dict_and_are_hashable(team):
    """as_query_dict() carries the same filters (only those set) to an export link; PRFilters can key a cache."""
    alice = TeamMemberFactory(team=team)
    bob = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, github_repo="acme/web")
    filters = PRFilters(
        repo="acme/web", author_id=alice.id, reviewer_id=bob.id, is_ai_assisted=False, ai_tool="cursor",
        size="M", state="merged", has_jira=True, date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 30),
    )

    query = filters.as_query_dict()

    assert query.dict() == {
        "repo": "acme/web", "author": str(alice.id), "reviewer": str(bob.id), "ai": "no", "ai_tool": "cursor",
        "size": "M", "state": "merged", "has_jira": "yes", "date_from": "2026-11-01", "date_to": "2026-11-30",
    }
    assert bound_form(team, query).to_filters() == filters
    assert PRFilters(is_ai_assisted=True).as_query_dict().urlencode() == "ai=yes"
    assert PRFilters().as_query_dict().urlencode() == ""
    assert {filters: "cached"}[PRFilters(**filters.__dict__)] == "cached"


@pytest.mark.django_db
def test_page_rows_are_plain_dicts(team, django_assert_num_queries):
    """A page holds plain dicts with the listed fields; two queries (count and page, author joined)."""
    alice = TeamMemberFactory(team=team, display_name="Alice Adams")
    pr = PullRequestFactory(
        team=team, author=alice, title="Add export", github_repo="acme/web", github_pr_id=42, additions=120,
        deletions=30, is_ai_assisted=True, ai_tools_detected=["copilot"], jira_key="ACME-7",
        pr_created_at=at(17, 9), merged_at=at(18, 9, 30), cycle_time_hours=Decimal("24.50"),
        review_time_hours=Decimal("4.00"),
    )
    orphan = PullRequestFactory(team=team, author=None, merged_at=at(1))

    with django_assert_num_queries(2):
        page = get_pr_page(team=team, filters=PRFilters(), page_number=1)

    assert page["rows"][0] == {
        "id": pr.id,
        "title": "Add export",
        "github_repo": "acme/web",
        "github_pr_id": 42,
        "url": "https://github.com/acme/web/pull/42",
        "author_name": "Alice Adams",
        "state": "merged",
        "size": "M",
        "cycle_time_hours": Decimal("24.50"),
        "review_time_hours": Decimal("4.00"),
        "additions": 120,
        "deletions": 30,
        "is_ai_assisted": True,
        "ai_tools_detected": ["copilot"],
        "jira_key": "ACME-7",
        "pr_created_at": at(17, 9),
        "merged_at": at(18, 9, 30),
    }
    assert page["rows"][1]["id"] == orphan.id
    assert page["rows"][1]["author_name"] is None
    assert (page["number"], page["num_pages"], page["has_next"], page["has_previous"], page["total"]) == (
        1, 1, False, False, 2,
    )


@pytest.mark.django_db
def test_pagination_fifty_per_page(team):
    """120 PRs: pages of 50, 50 and 20 in list order; bad page numbers fall back like Paginator.get_page."""
    author = TeamMemberFactory(team=team)
    start = at(1)
    prs = [PullRequestFactory(team=team, author=author, merged_at=start + dt.timedelta(hours=i)) for i in range(120)]
    newest_first = [pr.id for pr in reversed(prs)]

    first = get_pr_page(team=team, filters=PRFilters(), page_number=1)
    second = get_pr_page(team=team, filters=PRFilters(), page_number="2")
    last = get_pr_page(team=team, filters=PRFilters(), page_number=3)

    assert PAGE_SIZE == 50
    assert [row["id"] for row in first["rows"]] == newest_first[:50]
    assert [row["id"] for row in second["rows"]] == newest_first[50:100]
    assert [row["id"] for row in last["rows"]] == newest_first[100:]
    assert (first["number"], first["num_pages"], first["total"]) == (1, 3, 120)
    assert (first["has_previous"], first["has_next"]) == (False, True)
    assert (second["has_previous"], second["has_next"]) == (True, True)
    assert (last["has_previous"], last["has_next"]) == (True, False)
    assert get_pr_page(team=team, filters=PRFilters(), page_number="abc")["number"] == 1
    assert get_pr_page(team=team, filters=PRFilters(), page_number=None)["number"] == 1
    assert get_pr_page(team=team, filters=PRFilters(), page_number=99)["number"] == 3


@pytest.mark.django_db
def test_empty_result_is_page_one_of_one(team):
    """No matching PRs: page 1 of 1 with no rows."""
    page = get_pr_page(team=team, filters=PRFilters(state="open"), page_number=5)
    assert page == {"rows": [], "number": 1, "num_pages": 1, "has_next": False, "has_previous": False, "total": 0}


@pytest.mark.django_db
def test_foreign_ids_in_filters_never_reach_other_teams_prs(team, other_team):
    """Even PRFilters built by hand with another team's member id return nothing of that team."""
    foreign = TeamMemberFactory(team=other_team)
    foreign_pr = PullRequestFactory(team=other_team, author=foreign)
    PRReviewFactory(pull_request=foreign_pr, reviewer=foreign)
    PullRequestFactory(team=team)

    assert titles(team, author_id=foreign.id) == []
    assert titles(team, reviewer_id=foreign.id) == []
    assert get_pr_page(team=team, filters=PRFilters(author_id=foreign.id), page_number=1)["total"] == 0
