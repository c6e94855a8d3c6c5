import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from apps.metrics.models import AIUsageDaily, PRSurvey, PullRequest, TeamMember
from apps.teams.models import Team

SMALL = ["--teams", "2", "--members", "12", "--prs", "300", "--days", "30", "--end-date", "2026-11-20"]


def fingerprint() -> str:
    """A digest of the seeded rows' content (not their ids or timestamps of insertion)."""
    rows = list(
        PullRequest.objects.order_by("team__slug", "github_pr_id").values_list(
            "team__slug", "github_pr_id", "github_repo", "title", "author__github_username", "state",
            "pr_created_at", "merged_at", "cycle_time_hours", "additions", "deletions", "is_ai_assisted",
        )
    )
    rows += list(
        AIUsageDaily.objects.order_by("team__slug", "member__github_username", "date").values_list(
            "team__slug", "member__github_username", "date", "suggestions_shown", "suggestions_accepted"
        )
    )
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.mark.django_db
def test_same_seed_gives_the_same_data_and_reseeding_replaces_it():
    """Running seed_demo twice with one seed yields identical rows, not duplicates."""
    call_command("seed_demo", *SMALL, "--seed", "7", stdout=io.StringIO())
    first = fingerprint()
    call_command("seed_demo", *SMALL, "--seed", "7", stdout=io.StringIO())
    assert fingerprint() == first
    # 300 generated PRs and 10 edge-case PRs per team.
    assert PullRequest.objects.count() == 620
    assert list(Team.objects.order_by("slug").values_list("slug", flat=True)) == ["demo-1", "demo-2"]


@pytest.mark.django_db
def test_another_seed_gives_other_data():
    """The seed drives the generator."""
    call_command("seed_demo", *SMALL, "--seed", "7", stdout=io.StringIO())
    first = fingerprint()
    call_command("seed_demo", *SMALL, "--seed", "8", stdout=io.StringIO())
    assert fingerprint() != first


@pytest.mark.django_db
def test_demo_data_has_the_shapes_the_dashboard_must_handle():
    """Null authors, bots, inactive members, unanswered surveys, reverts, hotfixes and Copilot usage all occur."""
    out = io.StringIO()
    call_command("seed_demo", *SMALL, "--seed", "3", stdout=out)
    team = Team.objects.get(slug="demo-1")
    assert "demo-1" in out.getvalue()
    assert PullRequest.objects.filter(team=team, author__isnull=True).exists()
    assert TeamMember.objects.filter(team=team, github_username__endswith="[bot]").count() == 2
    assert TeamMember.objects.filter(team=team, is_active=False).exists()
    assert PRSurvey.objects.filter(team=team, author_ai_assisted__isnull=True).exists()
    assert PRSurvey.objects.filter(team=team, author_ai_assisted=True).exists()
    assert PullRequest.objects.filter(team=team, is_revert=True).exists()
    assert PullRequest.objects.filter(team=team, is_hotfix=True).exists()
    assert set(PullRequest.objects.filter(team=team).values_list("state", flat=True)) == {"open", "merged", "closed"}
    humans = TeamMember.objects.filter(team=team, is_active=True).exclude(github_username__endswith="[bot]")
    members_with_usage = AIUsageDaily.objects.filter(team=team).values("member").distinct().count()
    assert members_with_usage > humans.count() // 2
    assert AIUsageDaily.objects.filter(team=team, suggestions_shown=0, acceptance_rate__isnull=True).exists()
    assert AIUsageDaily.objects.filter(team=team, date__gt=dt.date(2026, 11, 20)).count() == 0


@pytest.mark.django_db
def test_other_teams_are_left_alone():
    """Only demo-N teams are replaced; a customer's team is untouched."""
    customer = Team.objects.create(name="Customer", slug="customer")
    call_command("seed_demo", *SMALL, stdout=io.StringIO())
    assert Team.objects.filter(pk=customer.pk).exists()


@pytest.mark.django_db
def test_bad_sizes_are_refused_before_anything_changes():
    """A zero team or member count is a clear error; existing demo data stays."""
    call_command("seed_demo", *SMALL, stdout=io.StringIO())
    before = fingerprint()
    with pytest.raises(CommandError, match="--members must be at least 1"):
        call_command("seed_demo", "--members", "0", stdout=io.StringIO())
    assert fingerprint() == before


@pytest.mark.django_db
def test_every_demo_team_holds_the_edge_cases_where_optimizer_bugs_hide():
    """Deterministic rows beside the generated ones: twins, no login, mixed case, shared login, midnight merges,
    ties, formula titles, a survey by someone else, half-cent Copilot rates, stale weekly rows."""
    from apps.metrics.models import WeeklyMetrics

    call_command("seed_demo", *SMALL, stdout=io.StringIO())
    for team in Team.objects.filter(slug__startswith="demo-"):
        members = TeamMember.objects.filter(team=team)
        assert members.filter(display_name="Sam Lee").count() == 2
        assert members.filter(github_username="").exists()
        assert members.filter(github_username=f"Mixed-Case-{team.slug}").exists()
        assert members.filter(github_username=f"shared-{team.slug}").count() == 2
        local_midnight = dt.datetime.combine(dt.date(2026, 11, 20), dt.time.min, tzinfo=team.tzinfo)
        assert PullRequest.objects.filter(team=team, merged_at=local_midnight).exists()
        assert PullRequest.objects.filter(team=team, title__startswith="Tied merge").values("merged_at").distinct().count() == 1
        assert PullRequest.objects.filter(team=team, title="=1+1").exists()
        assert PRSurvey.objects.filter(team=team).exclude(author_id=F("pull_request__author_id")).exists()
        assert AIUsageDaily.objects.filter(team=team, suggestions_shown=800, suggestions_accepted=1).count() == 8
        assert WeeklyMetrics.objects.filter(team=team, prs_merged=99).count() == 2


@pytest.mark.django_db
def test_recorded_demo_reports_replay_through_the_real_sync(tmp_path, settings):
    """make demo's path: seed with --reports-dir, serve them on loopback, sync: every seeded row matches, one login does not."""
    from apps.integrations.github.stub_server import StubGitHubServer

    call_command("seed_demo", *SMALL, "--reports-dir", str(tmp_path), stdout=io.StringIO())
    team = Team.objects.get(slug="demo-1")
    day = dt.date(2026, 11, 20)
    seeded = {
        (row.member_id, row.suggestions_shown, row.suggestions_accepted)
        for row in AIUsageDaily.objects.filter(team=team, date=day)
    }
    assert len(seeded) > 5
    AIUsageDaily.objects.filter(team=team, date=day).delete()
    settings.GITHUB_RETRY_BACKOFF = 0

    out = io.StringIO()
    with StubGitHubServer(tmp_path) as stub:
        settings.GITHUB_API_URL = stub.base_url
        call_command("sync_copilot", "--team", "demo-1", "--day", "2026-11-20", stdout=out)

    synced = {
        (row.member_id, row.suggestions_shown, row.suggestions_accepted)
        for row in AIUsageDaily.objects.filter(team=team, date=day)
    }
    assert synced == seeded
    assert f"{len(seeded)} stored, 1 unmatched" in out.getvalue()


@pytest.mark.django_db
def test_seeding_starts_one_rollout_plan_in_dry_run_and_reseeding_keeps_it():
    """The demo shows the autopilot's explanation of a plan it does not act on; an operator's changes to it survive a re-seed."""
    from shadow.models import RolloutPlan

    out = io.StringIO()
    call_command("seed_demo", *SMALL, stdout=out)
    [plan] = RolloutPlan.objects.all()
    assert (plan.pair_name, plan.status, plan.teams) == ("metrics.team_breakdown", RolloutPlan.Status.DRY_RUN, ["demo-1", "demo-2"])
    assert "rollout plan for metrics.team_breakdown in dry run" in out.getvalue()

    RolloutPlan.objects.filter(pk=plan.pk).update(step_size=5)
    out = io.StringIO()
    call_command("seed_demo", *SMALL, stdout=out)
    [kept] = RolloutPlan.objects.all()
    assert (kept.pk, kept.status, kept.step_size) == (plan.pk, RolloutPlan.Status.DRY_RUN, 5)
    assert "rollout plan" not in out.getvalue()
