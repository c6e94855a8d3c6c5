"""Filtering and paging of a team's pull requests, shared by the PR list page and the CSV export.

The view binds `PRFilterForm(request.GET, team=team)`, turns a valid form into
a `PRFilters` value with `to_filters()`, and hands that to
`filter_pull_requests` / `get_pr_page` (or the export). `PRFilters` holds ids
and plain values only, so it can be hashed into a cache key or passed to a task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import QueryDict

from apps.metrics.models import SIZE_BUCKETS, PRReview, PullRequest, TeamMember
from apps.metrics.services.common import local_midnight
from apps.teams.models import Team

PAGE_SIZE = 50

YES = "yes"
NO = "no"
YES_NO_CHOICES = [("", "Any"), (YES, "Yes"), (NO, "No")]
DATE_FORMAT = "%Y-%m-%d"


def _size_ranges() -> dict[str, tuple[int, int | None]]:
    """Bucket label -> inclusive (lowest, highest) lines changed; highest None means unbounded."""
    ranges: dict[str, tuple[int, int | None]] = {}
    lowest = 0
    for label, upper in SIZE_BUCKETS:
        ranges[label] = (lowest, upper)
        if upper is not None:
            lowest = upper + 1
    return ranges


SIZE_RANGES = _size_ranges()


def _yes_no_to_bool(value: str) -> bool | None:
    return {YES: True, NO: False}.get(value)


def _bool_to_yes_no(value: bool | None) -> str:
    return {True: YES, False: NO}.get(value, "")


@dataclass(frozen=True)
class PRFilters:
    """Cleaned PR list filters. Empty string / None means "not filtered on"."""

    repo: str = ""
    author_id: int | None = None
    reviewer_id: int | None = None
    is_ai_assisted: bool | None = None
    ai_tool: str = ""
    size: str = ""
    state: str = ""
    has_jira: bool | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_query_dict(self) -> QueryDict:
        """The filters as GET parameters of PRFilterForm (only those set), e.g. for an "Export CSV" link.

        `.urlencode()` gives the query string; binding the result to
        PRFilterForm again yields equal filters.
        """
        params = {
            "repo": self.repo,
            "author": "" if self.author_id is None else str(self.author_id),
            "reviewer": "" if self.reviewer_id is None else str(self.reviewer_id),
            "ai": _bool_to_yes_no(self.is_ai_assisted),
            "ai_tool": self.ai_tool,
            "size": self.size,
            "state": self.state,
            "has_jira": _bool_to_yes_no(self.has_jira),
            "date_from": self.date_from.strftime(DATE_FORMAT) if self.date_from else "",
            "date_to": self.date_to.strftime(DATE_FORMAT) if self.date_to else "",
        }
        query = QueryDict(mutable=True)
        for key, value in params.items():
            if value:
                query[key] = value
        query._mutable = False
        return query


# Dates outside these years are typing mistakes, and the far ones overflow the team-local day bounds.
EARLIEST_DATE, LATEST_DATE = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
SANE_DATES = [
    MinValueValidator(EARLIEST_DATE, message=f"Dates from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()} only."),
    MaxValueValidator(LATEST_DATE, message=f"Dates from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()} only."),
]


class _MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TeamMember) -> str:
        return obj.display_name


class PRFilterForm(forms.Form):
    """The PR list's filter form; choices and member lookups are limited to `team`."""

    repo = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": "Unknown repository “%(value)s” for this team."}
    )
    author = _MemberChoiceField(
        queryset=TeamMember.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Unknown author: choose a member of this team."},
    )
    reviewer = _MemberChoiceField(
        queryset=TeamMember.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Unknown reviewer: choose a member of this team."},
    )
    ai = forms.ChoiceField(
        label="AI assisted",
        choices=YES_NO_CHOICES,
        required=False,
        error_messages={"invalid_choice": "AI assisted must be “yes”, “no” or empty, not “%(value)s”."},
    )
    ai_tool = forms.CharField(label="AI tool", required=False, max_length=100)
    size = forms.ChoiceField(
        choices=[("", "Any")] + [(label, label) for label, _ in SIZE_BUCKETS],
        required=False,
        error_messages={
            "invalid_choice": "Size must be one of " + ", ".join(label for label, _ in SIZE_BUCKETS)
            + ", not “%(value)s”."
        },
    )
    state = forms.ChoiceField(
        choices=[("", "Any")] + list(PullRequest.State.choices),
        required=False,
        error_messages={
            "invalid_choice": "State must be one of " + ", ".join(PullRequest.State.values) + ", not “%(value)s”."
        },
    )
    has_jira = forms.ChoiceField(
        label="Has Jira key",
        choices=YES_NO_CHOICES,
        required=False,
        error_messages={"invalid_choice": "Has Jira key must be “yes”, “no” or empty, not “%(value)s”."},
    )
    date_from = forms.DateField(
        label="Created from",
        required=False,
        input_formats=[DATE_FORMAT],
        validators=SANE_DATES,
        error_messages={"invalid": "Enter the start date as YYYY-MM-DD (a real calendar date)."},
    )
    date_to = forms.DateField(
        label="Created to",
        required=False,
        input_formats=[DATE_FORMAT],
        validators=SANE_DATES,
        error_messages={"invalid": "Enter the end date as YYYY-MM-DD (a real calendar date)."},
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        repos = (
            PullRequest.objects.filter(team=team)
            .order_by("github_repo")
            .values_list("github_repo", flat=True)
            .distinct()
        )
        self.fields["repo"].choices = [("", "All repositories")] + [(repo, repo) for repo in repos]
        # Only this team's members: an id from another team fails validation instead of leaking its PRs.
        members = TeamMember.objects.filter(team=team).order_by("display_name", "id")
        self.fields["author"].queryset = members
        self.fields["reviewer"].queryset = members

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise forms.ValidationError(
                "The start date (%(date_from)s) is after the end date (%(date_to)s).",
                code="date_order",
                params={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
            )
        return cleaned

    def to_filters(self) -> PRFilters:
        """The cleaned values as PRFilters. Call after is_valid() returned True."""
        if not self.is_bound or self.errors:
            raise ValueError("to_filters() needs a bound, valid form; check is_valid() first")
        data = self.cleaned_data
        return PRFilters(
            repo=data["repo"],
            author_id=data["author"].id if data["author"] else None,
            reviewer_id=data["reviewer"].id if data["reviewer"] else None,
            is_ai_assisted=_yes_no_to_bool(data["ai"]),
            ai_tool=data["ai_tool"],
            size=data["size"],
            state=data["state"],
            has_jira=_yes_no_to_bool(data["has_jira"]),
            date_from=data["date_from"],
            date_to=data["date_to"],
        )


def filter_pull_requests(*, team: Team, filters: PRFilters) -> QuerySet[PullRequest]:
    """The team's PRs matching every set filter, newest merge first.

    - reviewer: PRs with at least one review by that member (each PR once).
    - ai_tool: PRs whose ai_tools_detected list contains exactly that string.
    - size: additions + deletions within the bucket's bounds (both inclusive).
    - has_jira: jira_key non-empty (True) / empty (False).
    - date_from / date_to: pr_created_at within those whole days in the team's
      time zone, both ends inclusive; either end may be open.

    Ordered by merged_at descending (unmerged PRs last), then pr_created_at
    descending, then id descending, so pages are stable.
    """
    qs = PullRequest.objects.filter(team=team)
    if filters.repo:
        qs = qs.filter(github_repo=filters.repo)
    if filters.author_id is not None:
        qs = qs.filter(author_id=filters.author_id)
    if filters.reviewer_id is not None:
        # EXISTS rather than a join, so a PR reviewed twice by the same person appears once.
        reviewed = PRReview.objects.filter(team=team, reviewer_id=filters.reviewer_id, pull_request=OuterRef("pk"))
        qs = qs.filter(Exists(reviewed))
    if filters.is_ai_assisted is not None:
        qs = qs.filter(is_ai_assisted=filters.is_ai_assisted)
    if filters.ai_tool:
        qs = qs.filter(ai_tools_detected__contains=[filters.ai_tool])
    if filters.size:
        lowest, highest = SIZE_RANGES[filters.size]
        qs = qs.alias(lines_changed=F("additions") + F("deletions")).filter(lines_changed__gte=lowest)
        if highest is not None:
            qs = qs.filter(lines_changed__lte=highest)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.has_jira is True:
        qs = qs.exclude(jira_key="")
    elif filters.has_jira is False:
        qs = qs.filter(jira_key="")
    if filters.date_from:
        qs = qs.filter(pr_created_at__gte=local_midnight(team, filters.date_from))
    if filters.date_to:
        qs = qs.filter(pr_created_at__lt=local_midnight(team, filters.date_to + dt.timedelta(days=1)))
    return qs.order_by(F("merged_at").desc(nulls_last=True), "-pr_created_at", "-id")


def get_pr_page(*, team: Team, filters: PRFilters, page_number: int | str | None) -> dict[str, Any]:
    """One page (PAGE_SIZE rows) of filter_pull_requests as plain dicts, plus page info.

    Like Paginator.get_page: a page number that is not an integer gives the
    first page, one past the end gives the last page. With no matching PRs the
    result is page 1 of 1 with no rows. Two queries: the count and the page.
    """
    queryset = filter_pull_requests(team=team, filters=filters).select_related("author")
    paginator = Paginator(queryset, PAGE_SIZE)
    page = paginator.get_page(page_number)
    return {
        "rows": [_pr_row(pr) for pr in page.object_list],
        "number": page.number,
        "num_pages": paginator.num_pages,
        "has_next": page.has_next(),
        "has_previous": page.has_previous(),
        "total": paginator.count,
    }


def _pr_row(pr: PullRequest) -> dict[str, Any]:
    return {
        "id": pr.id,
        "title": pr.title,
        "github_repo": pr.github_repo,
        "github_pr_id": pr.github_pr_id,
        "url": pr.github_url,
        "author_name": pr.author.display_name if pr.author else None,
        "state": pr.state,
        "size": pr.size,
        "cycle_time_hours": pr.cycle_time_hours,
        "review_time_hours": pr.review_time_hours,
        "additions": pr.additions,
        "deletions": pr.deletions,
        "is_ai_assisted": pr.is_ai_assisted,
        "ai_tools_detected": list(pr.ai_tools_detected or []),
        "jira_key": pr.jira_key,
        "pr_created_at": pr.pr_created_at,
        "merged_at": pr.merged_at,
    }
