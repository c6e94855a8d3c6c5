"""factory-boy factories for every model. Tests build data with these, not objects.create."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from apps.integrations.models import GitHubIntegration
from apps.metrics.models import (
    AIUsageDaily,
    Commit,
    PRReview,
    PRSurvey,
    PRSurveyReview,
    PullRequest,
    TeamMember,
    WeeklyMetrics,
)
from apps.teams.models import Membership, Team
from flags.models import Flag
from shadow.evidence import current_revisions
from shadow.models import DailyEvidence, SamplingRate, ShadowRecord, empty_ms_histogram, empty_query_histogram

UTC = dt.UTC


def hours_between(start: dt.datetime | None, end: dt.datetime | None) -> Decimal | None:
    if start is None or end is None:
        return None
    return (Decimal((end - start).total_seconds()) / 3600).quantize(Decimal("0.01"))


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-for-tests")


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    timezone = "UTC"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


class TeamMemberFactory(DjangoModelFactory):
    class Meta:
        model = TeamMember

    team = factory.SubFactory(TeamFactory)
    display_name = factory.Sequence(lambda n: f"Member {n:04d}")
    github_username = factory.Sequence(lambda n: f"dev{n}")
    github_id = factory.Sequence(lambda n: str(100000 + n))
    email = factory.LazyAttribute(lambda o: f"{o.github_username}@example.com")
    role = TeamMember.Role.DEVELOPER
    is_active = True


class PullRequestFactory(DjangoModelFactory):
    """A merged PR by default: created 24 hours before merge, first review after 4 hours."""

    class Meta:
        model = PullRequest

    team = factory.SubFactory(TeamFactory)
    author = factory.SubFactory(TeamMemberFactory, team=factory.SelfAttribute("..team"))
    github_pr_id = factory.Sequence(lambda n: n + 1)
    github_repo = "acme/api"
    title = factory.Sequence(lambda n: f"Change number {n}")
    state = PullRequest.State.MERGED
    merged_at = factory.LazyFunction(lambda: dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    pr_created_at = factory.LazyAttribute(
        lambda o: (o.merged_at or dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)) - dt.timedelta(hours=24)
    )
    first_review_at = factory.LazyAttribute(lambda o: o.pr_created_at + dt.timedelta(hours=4))
    cycle_time_hours = factory.LazyAttribute(lambda o: hours_between(o.pr_created_at, o.merged_at))
    review_time_hours = factory.LazyAttribute(lambda o: hours_between(o.pr_created_at, o.first_review_at))
    review_rounds = 1
    total_comments = 2
    additions = 30
    deletions = 10


class PRReviewFactory(DjangoModelFactory):
    class Meta:
        model = PRReview

    team = factory.SelfAttribute("pull_request.team")
    pull_request = factory.SubFactory(PullRequestFactory)
    reviewer = factory.SubFactory(TeamMemberFactory, team=factory.SelfAttribute("..pull_request.team"))
    state = PRReview.State.APPROVED
    submitted_at = factory.LazyAttribute(lambda o: o.pull_request.pr_created_at + dt.timedelta(hours=4))


class CommitFactory(DjangoModelFactory):
    class Meta:
        model = Commit

    team = factory.SubFactory(TeamFactory)
    github_sha = factory.Sequence(lambda n: f"{n:040x}")
    github_repo = "acme/api"
    author = factory.SubFactory(TeamMemberFactory, team=factory.SelfAttribute("..team"))
    message = factory.Sequence(lambda n: f"commit {n}")
    committed_at = factory.LazyFunction(lambda: dt.datetime(2026, 11, 17, 10, 0, tzinfo=UTC))
    additions = 10
    deletions = 2


class PRSurveyFactory(DjangoModelFactory):
    class Meta:
        model = PRSurvey

    team = factory.SelfAttribute("pull_request.team")
    pull_request = factory.SubFactory(PullRequestFactory)
    author = factory.SelfAttribute("pull_request.author")
    author_ai_assisted = True
    author_responded_at = factory.LazyAttribute(
        lambda o: None if o.author_ai_assisted is None else o.pull_request.pr_created_at + dt.timedelta(hours=1)
    )
    author_response_source = factory.LazyAttribute(
        lambda o: "" if o.author_ai_assisted is None else PRSurvey.Source.WEB
    )


class PRSurveyReviewFactory(DjangoModelFactory):
    class Meta:
        model = PRSurveyReview

    team = factory.SelfAttribute("survey.team")
    survey = factory.SubFactory(PRSurveyFactory)
    reviewer = factory.SubFactory(TeamMemberFactory, team=factory.SelfAttribute("..survey.team"))
    quality_rating = PRSurveyReview.Quality.OK
    ai_guess = True
    guess_correct = factory.LazyAttribute(
        lambda o: None if o.ai_guess is None or o.survey.author_ai_assisted is None
        else o.ai_guess == o.survey.author_ai_assisted
    )
    responded_at = factory.LazyAttribute(lambda o: o.survey.pull_request.pr_created_at + dt.timedelta(hours=6))


class AIUsageDailyFactory(DjangoModelFactory):
    class Meta:
        model = AIUsageDaily

    team = factory.SubFactory(TeamFactory)
    member = factory.SubFactory(TeamMemberFactory, team=factory.SelfAttribute("..team"))
    date = dt.date(2026, 11, 18)
    source = AIUsageDaily.Source.COPILOT
    suggestions_shown = 100
    suggestions_accepted = 30
    acceptance_rate = factory.LazyAttribute(
        lambda o: None if not o.suggestions_shown
        else (Decimal(o.suggestions_accepted) * 100 / Decimal(o.suggestions_shown)).quantize(Decimal("0.01"))
    )
    active_hours = None


class WeeklyMetricsFactory(DjangoModelFactory):
    class Meta:
        model = WeeklyMetrics

    team = factory.SubFactory(TeamFactory)
    member = factory.SubFactory(TeamMemberFactory, team=factory.SelfAttribute("..team"))
    week_start = dt.date(2026, 11, 16)


class GitHubIntegrationFactory(DjangoModelFactory):
    class Meta:
        model = GitHubIntegration

    team = factory.SubFactory(TeamFactory)
    org_slug = factory.Sequence(lambda n: f"acme-{n}")
    access_token = factory.Sequence(lambda n: f"ghp_testsecret{n:08d}")


class FlagFactory(DjangoModelFactory):
    class Meta:
        model = Flag
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"test.flag_{n}")
    everyone = None


class SamplingRateFactory(DjangoModelFactory):
    """A run-time sampling rate; team=None is the pair's rate for all teams."""

    class Meta:
        model = SamplingRate

    pair_name = "test.pair"
    team = factory.SubFactory(TeamFactory)
    rate = Decimal("0.5")
    updated_by = "system:test-setup"


class DailyEvidenceFactory(DjangoModelFactory):
    """One (pair, team, day) evidence row; histograms empty unless given (see shadow.models buckets)."""

    class Meta:
        model = DailyEvidence

    pair_name = "test.pair"
    team = factory.SubFactory(TeamFactory)
    day = factory.LazyFunction(lambda: dt.datetime.now(UTC).date())
    # The registered pair's current code, so the gate counts the row; pass others to model older code.
    legacy_revision = factory.LazyAttribute(lambda row: current_revisions(row.pair_name).get("legacy", ""))
    optimized_revision = factory.LazyAttribute(lambda row: current_revisions(row.pair_name).get("optimized", ""))
    legacy_ms_histogram = factory.LazyFunction(empty_ms_histogram)
    optimized_ms_histogram = factory.LazyFunction(empty_ms_histogram)
    legacy_queries_histogram = factory.LazyFunction(empty_query_histogram)
    optimized_queries_histogram = factory.LazyFunction(empty_query_histogram)


class ShadowRecordFactory(DjangoModelFactory):
    """One stored mismatch with an unredacted difference."""

    class Meta:
        model = ShadowRecord

    pair_name = "test.pair"
    team = factory.SubFactory(TeamFactory)
    outcome = ShadowRecord.Outcome.MISMATCH
    served = "legacy"
    diff = factory.LazyFunction(lambda: [{"path": "[0].title", "line": '[0].title: "Fix login" != "Fix logout"'}])
    call_arguments = factory.LazyFunction(dict)
