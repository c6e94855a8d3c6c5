"""`rollout verify` alone catches each class of optimizer bug on seeded demo data.

Each case injects one realistic bug into an optimized side (by replacing a
name its module uses, as a wrong edit of that module would) and expects
verify, with its examples and the argument sets it generates, to exit 1. The
demo team is demo-2 (Europe/Berlin), so time-zone bugs show; seed_demo's edge
cases (midnight merges, ties, shared and mixed-case logins, half-cent rates,
formula titles, stored weekly rows) give each bug something to get wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.core.management import call_command
from django.db.models import F

from apps.integrations.services.copilot_sync import optimized as copilot_sync
from apps.metrics.models import PullRequest, WeeklyMetrics
from apps.metrics.services.common import local_midnight
from apps.metrics.services.dashboard import optimized as dashboard
from apps.metrics.services.pr_export import optimized as pr_export
from apps.metrics.services.pr_list import filter_pull_requests
from apps.metrics.services.weekly_aggregation import optimized as weekly
from tests.support.commands import rollout, rollout_failure

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_teams(db):
    call_command(
        "seed_demo", "--teams", "2", "--members", "10", "--prs", "200", "--days", "30", "--end-date", "2026-11-20",
        stdout=io.StringIO(),
    )


def range_ends_a_day_early(team, start_date, end_date):
    return local_midnight(team, start_date), local_midnight(team, end_date)


def range_in_utc(team, start_date, end_date):
    return (
        dt.datetime.combine(start_date, dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
    )


def ties_by_id(expression, collation):
    # Ties on accepted suggestions broken by member id instead of the name.
    return F("member_id")


def rate_half_even(shown, accepted):
    if not shown:
        return None
    return (Decimal(accepted) * 100 / Decimal(shown)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def last_member_wins(*, team, logins):
    from apps.metrics.models import TeamMember

    found = {}
    for login, member_id in TeamMember.objects.filter(team=team, github_username__in=logins).order_by("id").values_list(
        "github_username", "id"
    ):
        found[login] = member_id
    return found


def without_jira_filter(*, team, filters):
    return filter_pull_requests(team=team, filters=dataclasses.replace(filters, has_jira=None))


def dates_in_utc(*, team, filters):
    queryset = filter_pull_requests(team=team, filters=dataclasses.replace(filters, date_from=None, date_to=None))
    if filters.date_from:
        queryset = queryset.filter(pr_created_at__gte=dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=dt.UTC))
    if filters.date_to:
        end = filters.date_to + dt.timedelta(days=1)
        queryset = queryset.filter(pr_created_at__lt=dt.datetime.combine(end, dt.time.min, tzinfo=dt.UTC))
    return queryset


class JoinsReviews:
    """PullRequest as the optimized module sees it, with every query joined to its reviews ("only reviewed PRs"):
    a PR with several reviews is counted once per review."""

    State = PullRequest.State

    class objects:  # noqa: N801 - stands in for the manager
        @staticmethod
        def filter(*args, **kwargs):
            return PullRequest.objects.filter(*args, **kwargs).filter(reviews__isnull=False)


class UpsertForgetsAColumn:
    """WeeklyMetrics as the optimized module sees it, with an upsert that no longer updates commits_count."""

    def __init__(self):
        self.objects = self
        self.real = WeeklyMetrics

    def __call__(self, **kwargs):
        return self.real(**kwargs)

    def bulk_create(self, rows, *, update_fields, **kwargs):
        return self.real.objects.bulk_create(
            rows, update_fields=[name for name in update_fields if name != "commits_count"], **kwargs
        )


BUGS = {
    "off-by-one range bound": ("metrics.team_breakdown", dashboard, "day_range", range_ends_a_day_early),
    "join duplicates": ("metrics.team_breakdown", dashboard, "PullRequest", JoinsReviews),
    "range in UTC, not the team's zone": ("metrics.key_metrics", dashboard, "day_range", range_in_utc),
    "tie-break by id instead of name": ("metrics.copilot_by_member", dashboard, "Collate", ties_by_id),
    "rounding half-cents to even": ("metrics.copilot_by_member", dashboard, "acceptance_rate", rate_half_even),
    "shared login goes to the last member": (
        "integrations.copilot_sync", copilot_sync, "_member_ids_by_login", last_member_wins,
    ),
    "upsert forgets a column": ("metrics.weekly_aggregation", weekly, "WeeklyMetrics", UpsertForgetsAColumn()),
    "a filter dropped": ("metrics.pr_export", pr_export, "filter_pull_requests", without_jira_filter),
    "date filters in UTC": ("metrics.pr_export", pr_export, "filter_pull_requests", dates_in_utc),
    # The SQL's list of formula starts no text cell matches: titles like "=1+1" go out as formulas.
    "formula escaping dropped": ("metrics.pr_export", pr_export, "FORMULA_START", "(NULL)"),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_verify_exits_1_on_an_injected_bug(demo_teams, monkeypatch, bug):
    pair, module, name, replacement = BUGS[bug]
    # Without the bug the same run matches: the failure below is the bug's alone.
    rollout("verify", pair, "--team", "demo-2", "--runs", "1")
    monkeypatch.setattr(module, name, replacement)

    error, output = rollout_failure("verify", pair, "--team", "demo-2", "--runs", "1")

    assert error.returncode == 1, output
    assert "mismatch" in output
