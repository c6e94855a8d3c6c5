"""Deterministic demo data: realistic shapes for every model, fast bulk inserts.

The same seed and end date always produce the same rows. Shapes the
dashboard should show: a few null authors, inactive members and bots,
surveys with and without answers, reverts and hotfixes, AI adoption that
grows over the period, Copilot usage for most members on working days and for a few at weekends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

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
    acceptance_rate,
)
from apps.metrics.models.members import is_bot_login
from apps.teams.models import Team

TEAM_NAMES = ["Platform", "Payments", "Mobile", "Data", "Growth", "Search", "Identity", "Infra"]
TEAM_TIMEZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
FIRST_NAMES = [
    "Ada", "Bruno", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi", "Inés", "Jonas",
    "Kwame", "Léa", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rafael", "Sofía", "Tomás",
    "Uma", "Viktor", "Wen", "Xavier", "Yara", "Zoë", "Łukasz", "Søren", "Ngozi", "Ayşe",
]
LAST_NAMES = [
    "Lovelace", "Silva", "Martin", "Ivanov", "Okafor", "Haddad", "Hopper", "Tanaka", "García", "Berg",
    "Mensah", "Dubois", "Rossi", "Khan", "Nilsson", "Patel", "Adams", "Costa", "López", "Novák",
    "Müller", "Kowalski", "Chen", "Moreau", "Haddad", "Zhou", "Nowak", "Jensen", "Eze", "Yılmaz",
]
BOTS = [("dependabot[bot]", "dependabot[bot]"), ("Renovate Bot", "renovate[bot]")]
PR_VERBS = ["Add", "Fix", "Refactor", "Remove", "Speed up", "Document", "Test", "Rename", "Harden", "Migrate"]
PR_OBJECTS = [
    "billing webhook retries", "login rate limiting", "CSV export", "search indexing", "cache warm-up",
    "feature flags", "payment reconciliation", "onboarding emails", "audit log", "API pagination",
    "mobile push tokens", "dashboard filters", "report scheduler", "SSO callback", "dependency pins",
]
AI_TOOLS = [["copilot"], ["copilot"], ["cursor"], ["claude"], ["copilot", "cursor"], ["chatgpt"]]
JIRA_PREFIXES = ["PLAT", "PAY", "MOB", "DATA", "GRO", "SRCH", "IDN", "INF"]
BATCH = 2000


@dataclass(frozen=True)
class DemoSpec:
    teams: int = 3
    members: int = 50
    prs: int = 10_000
    days: int = 90
    seed: int = 42
    end_date: dt.date | None = None


@dataclass
class SeededTeam:
    team: Team
    members: int
    prs: int
    reviews: int
    commits: int
    surveys: int
    usage_rows: int


def demo_slug(index: int) -> str:
    return f"demo-{index + 1}"


def demo_end_date(spec: DemoSpec) -> dt.date:
    """The last day of demo history: the spec's, else yesterday (UTC), so no timestamp lies in the future."""
    return spec.end_date or timezone.now().date() - dt.timedelta(days=1)


def seed_demo(spec: DemoSpec) -> list[SeededTeam]:
    """Replace the demo teams (slugs demo-1…demo-N) with freshly generated data, atomically.

    Cached metrics follow by themselves: the inserts move each team's data
    version (apps.metrics.cache), seen by other connections once this commits.
    """
    end_date = demo_end_date(spec)
    seeded = []
    with transaction.atomic():
        Team.objects.filter(slug__in=[demo_slug(i) for i in range(spec.teams)]).delete()
        for index in range(spec.teams):
            # One generator per team, so adding a team never changes the others.
            rng = random.Random(f"{spec.seed}:{index}")
            seeded.append(_seed_team(rng, index, spec, end_date))
    return seeded


def _seed_team(rng: random.Random, index: int, spec: DemoSpec, end_date: dt.date) -> SeededTeam:
    team = Team.objects.create(
        name=f"{TEAM_NAMES[index % len(TEAM_NAMES)]}" + (f" {index // len(TEAM_NAMES) + 1}" if index >= len(TEAM_NAMES) else ""),
        slug=demo_slug(index),
        timezone=TEAM_TIMEZONES[index % len(TEAM_TIMEZONES)],
    )
    GitHubIntegration.objects.create(team=team, org_slug=f"demo-org-{index + 1}", access_token=f"demo-token-{index + 1}")
    members = _members(rng, team, spec.members)
    humans = [m for m in members if not m.is_bot]
    active_humans = [m for m in humans if m.is_active]
    start = dt.datetime.combine(end_date - dt.timedelta(days=spec.days - 1), dt.time.min, tzinfo=dt.UTC)
    period_hours = spec.days * 24
    repos = [f"demo-org-{index + 1}/{name}" for name in ("api", "web", "mobile", "infra")]
    prefix = JIRA_PREFIXES[index % len(JIRA_PREFIXES)]

    prs = []
    for number in range(1, spec.prs + 1):
        created = start + dt.timedelta(hours=rng.uniform(0, period_hours - 1))
        progress = (created - start).total_seconds() / (period_hours * 3600)
        roll = rng.random()
        author = None if roll < 0.03 else (rng.choice(members[:2]) if roll < 0.06 else rng.choice(humans))
        state_roll = rng.random()
        cycle = Decimal(str(round(min(rng.lognormvariate(3.0, 0.9), 400), 2)))
        merged = created + dt.timedelta(hours=float(cycle))
        now_limit = start + dt.timedelta(hours=period_hours)
        if state_roll < 0.82 and merged < now_limit:
            state = PullRequest.State.MERGED
        elif state_roll < 0.92:
            state = PullRequest.State.OPEN
        else:
            state = PullRequest.State.CLOSED
        review_delay = Decimal(str(round(rng.uniform(0.2, 30), 2)))
        first_review = created + dt.timedelta(hours=float(review_delay))
        if state == PullRequest.State.MERGED and first_review > merged:
            first_review, review_delay = merged, cycle
        has_review = state != PullRequest.State.OPEN or rng.random() < 0.5
        # AI adoption grows across the period so the trend has a visible slope.
        ai = rng.random() < 0.2 + 0.4 * progress
        size = int(rng.paretovariate(1.2) * 8)
        title = f"{rng.choice(PR_VERBS)} {rng.choice(PR_OBJECTS)}"
        is_revert = rng.random() < 0.02
        prs.append(
            PullRequest(
                team=team,
                github_pr_id=number,
                github_repo=rng.choice(repos),
                title=f'Revert "{title}"' if is_revert else title,
                body="",
                author=author,
                state=state,
                pr_created_at=created,
                merged_at=merged if state == PullRequest.State.MERGED else None,
                first_review_at=first_review if has_review else None,
                cycle_time_hours=cycle if state == PullRequest.State.MERGED else None,
                review_time_hours=review_delay if has_review else None,
                review_rounds=rng.randint(1, 4) if has_review else 0,
                total_comments=rng.randint(0, 20),
                additions=max(1, int(size * 0.7)),
                deletions=int(size * 0.3),
                is_revert=is_revert,
                is_hotfix=rng.random() < 0.04,
                is_ai_assisted=ai,
                ai_tools_detected=rng.choice(AI_TOOLS) if ai else [],
                jira_key=f"{prefix}-{rng.randint(100, 9999)}" if rng.random() < 0.6 else "",
            )
        )
    PullRequest.objects.bulk_create(prs, batch_size=BATCH)

    reviews, commits, surveys = [], [], []
    for pr in prs:
        if pr.first_review_at is not None:
            for round_number in range(rng.randint(1, 3)):
                reviewer = rng.choice(active_humans)
                if reviewer.pk == pr.author_id:
                    continue
                bot_review = rng.random() < 0.1
                reviews.append(
                    PRReview(
                        team=team,
                        pull_request=pr,
                        reviewer=None if bot_review else reviewer,
                        state=rng.choice(list(PRReview.State.values)),
                        submitted_at=pr.first_review_at + dt.timedelta(hours=round_number * rng.uniform(0, 6)),
                        is_ai_review=bot_review,
                        ai_reviewer_type="coderabbit" if bot_review else "",
                    )
                )
        for _ in range(rng.randint(1, 4)):
            commits.append(
                Commit(
                    team=team,
                    github_sha=hashlib.sha1(f"{team.slug}:{pr.github_pr_id}:{len(commits)}".encode()).hexdigest(),
                    github_repo=pr.github_repo,
                    author=pr.author,
                    message=pr.title,
                    committed_at=pr.pr_created_at - dt.timedelta(hours=rng.uniform(0, 48)),
                    additions=pr.additions // 2,
                    deletions=pr.deletions // 2,
                    pull_request=pr,
                    is_ai_assisted=pr.is_ai_assisted,
                    ai_co_authors=["Copilot"] if pr.is_ai_assisted and rng.random() < 0.3 else [],
                )
            )
        if pr.state == PullRequest.State.MERGED and pr.author is not None and rng.random() < 0.7:
            answered = rng.random() < 0.85
            # Authors mostly report what the tools detected, but not always.
            said_ai = pr.is_ai_assisted if rng.random() < 0.9 else not pr.is_ai_assisted
            surveys.append(
                PRSurvey(
                    team=team,
                    pull_request=pr,
                    author=pr.author,
                    author_ai_assisted=said_ai if answered else None,
                    author_responded_at=pr.merged_at + dt.timedelta(hours=rng.uniform(0, 24)) if answered else None,
                    author_response_source=rng.choice(list(PRSurvey.Source.values)) if answered else "",
                )
            )
    # Each bot reviews the first few reviewed PRs too (no draw, so the rest of the data is unchanged): the
    # people-facing cards must leave bots out whatever they did.
    for bot in (m for m in members if m.is_bot):
        for pr in [pr for pr in prs if pr.first_review_at is not None and pr.author_id != bot.pk][:3]:
            reviews.append(
                PRReview(
                    team=team, pull_request=pr, reviewer=bot, state=PRReview.State.COMMENTED,
                    submitted_at=pr.first_review_at,
                )
            )
    PRReview.objects.bulk_create(reviews, batch_size=BATCH)
    Commit.objects.bulk_create(commits, batch_size=BATCH)
    PRSurvey.objects.bulk_create(surveys, batch_size=BATCH)

    survey_reviews = []
    for survey in surveys:
        for reviewer in rng.sample(active_humans, k=min(len(active_humans), rng.randint(0, 2))):
            if reviewer.pk == survey.author_id:
                continue
            guess = rng.random() < 0.5 if rng.random() < 0.9 else None
            survey_reviews.append(
                PRSurveyReview(
                    team=team,
                    survey=survey,
                    reviewer=reviewer,
                    quality_rating=rng.choice([1, 2, 2, 3, 3, None]),
                    ai_guess=guess,
                    guess_correct=None if guess is None or survey.author_ai_assisted is None
                    else guess == survey.author_ai_assisted,
                    responded_at=survey.pull_request.merged_at + dt.timedelta(hours=rng.uniform(1, 48)),
                )
            )
    PRSurveyReview.objects.bulk_create(survey_reviews, batch_size=BATCH)

    usage = []
    # Most people use Copilot; every seventh does not, so the card has a contrast.
    copilot_users = [m for position, m in enumerate(active_humans) if position % 7 != 6]
    for offset in range(spec.days):
        day = end_date - dt.timedelta(days=offset)
        weekend = day.weekday() >= 5
        for member in copilot_users:
            # Some people code at weekends too, far fewer than on working days.
            if weekend and rng.random() > 0.25:
                continue
            shown = 0 if rng.random() < 0.08 else rng.randint(20, 300)
            accepted = int(shown * rng.uniform(0.15, 0.45))
            usage.append(
                AIUsageDaily(
                    team=team,
                    member=member,
                    date=day,
                    source=AIUsageDaily.Source.COPILOT,
                    suggestions_shown=shown,
                    suggestions_accepted=accepted,
                    acceptance_rate=acceptance_rate(shown, accepted),
                    active_hours=Decimal(str(round(rng.uniform(0.5, 7), 2))),
                )
            )
    AIUsageDaily.objects.bulk_create(usage, batch_size=BATCH)
    edges = _edge_cases(team, end_date, index)
    return SeededTeam(
        team, len(members) + edges.members, len(prs) + edges.prs, len(reviews), len(commits),
        len(surveys) + edges.surveys, len(usage) + edges.usage,
    )


@dataclass(frozen=True)
class EdgeCounts:
    members: int
    prs: int
    surveys: int
    usage: int


# Formula-like titles a spreadsheet would run, if the export did not neutralise them.
FORMULA_TITLES = ["=1+1", "+cmd|' /C calc'!A0", "-2 flaky tests", "@here ping on call"]


def _edge_cases(team: Team, end_date: dt.date, index: int) -> EdgeCounts:
    """The same few rows in every demo team, where optimizer bugs hide (no randomness: always these).

    - Two members with the same display name ("Sam Lee"), one without a GitHub
      login, one with a mixed-case login, two sharing a login, an inactive one
      with Copilot usage.
    - PRs merged exactly at team-local midnight (the last day, and the Monday
      of its week), four PRs tied on merge time and cycle time, formula-like
      titles, two cycle times whose average lands on .xx5 (10.00 and 10.01).
    - A survey answered by someone other than the PR's author.
    - Copilot days whose acceptance rate lands on a half cent (1 of 800: 0.125 %).
    - WeeklyMetrics rows already stored (stale) for the week before the last,
      which re-aggregation must update.
    """
    zone = team.tzinfo
    slug = team.slug

    def member(name: str, login: str, *, active: bool = True) -> TeamMember:
        return TeamMember(
            team=team, display_name=name, github_username=login, github_id=str(20_000_000 + len(made)), email="",
            role=TeamMember.Role.DEVELOPER, is_active=active,
        )

    made: list[TeamMember] = []

    for name, login, active in [
        ("Sam Lee", f"sam-lee-{slug}", True),
        ("Sam Lee", f"samlee-{slug}", True),
        ("Noor Haddad", "", True),
        ("Mixed Case", f"Mixed-Case-{slug}", True),
        ("Shared One", f"shared-{slug}", True),
        ("Shared Two", f"shared-{slug}", True),
        ("Left Recently", f"left-{slug}", False),
    ]:
        made.append(member(name, login, active=active))
    twin_a, twin_b, no_login, mixed, shared_1, _shared_2, gone = TeamMember.objects.bulk_create(made)
    last_midnight = dt.datetime.combine(end_date, dt.time.min, tzinfo=zone)
    monday_midnight = dt.datetime.combine(end_date - dt.timedelta(days=end_date.weekday()), dt.time.min, tzinfo=zone)
    tied = last_midnight - dt.timedelta(hours=5)
    specs = [
        (twin_a, last_midnight, Decimal("10.00"), "Merge at local midnight"),
        (twin_b, monday_midnight, Decimal("10.01"), "Merge at Monday midnight"),
        *((author, tied, Decimal("7.50"), f"Tied merge {n}") for n, author in enumerate((twin_a, twin_b, no_login, mixed))),
        *((shared_1, tied - dt.timedelta(hours=n + 1), Decimal("3.25"), title) for n, title in enumerate(FORMULA_TITLES)),
    ]
    prs = PullRequest.objects.bulk_create([
        PullRequest(
            team=team, github_pr_id=100_000 + number, github_repo=f"demo-org-{index + 1}/edge", title=title,
            author=author, state=PullRequest.State.MERGED, pr_created_at=merged - dt.timedelta(hours=float(cycle)),
            merged_at=merged, first_review_at=merged - dt.timedelta(hours=1), cycle_time_hours=cycle,
            review_time_hours=Decimal("1.00"), review_rounds=1, total_comments=0, additions=10, deletions=2,
            is_ai_assisted=number % 2 == 0, ai_tools_detected=["copilot"] if number % 2 == 0 else [],
        )
        for number, (author, merged, cycle, title) in enumerate(specs)
    ])
    # Answered by the other twin, not by the PR's author.
    surveys = PRSurvey.objects.bulk_create([
        PRSurvey(
            team=team, pull_request=prs[0], author=twin_b, author_ai_assisted=True,
            author_responded_at=prs[0].merged_at, author_response_source=PRSurvey.Source.values[0],
        )
    ])
    usage = AIUsageDaily.objects.bulk_create([
        AIUsageDaily(
            team=team, member=who, date=end_date - dt.timedelta(days=days_ago), source=AIUsageDaily.Source.COPILOT,
            suggestions_shown=800, suggestions_accepted=1, acceptance_rate=acceptance_rate(800, 1), active_hours=None,
        )
        for who in (twin_a, mixed, gone, shared_1)
        for days_ago in (0, 1)
    ])
    previous_week = end_date - dt.timedelta(days=end_date.weekday() + 7)
    WeeklyMetrics.objects.bulk_create([
        WeeklyMetrics(team=team, member=who, week_start=previous_week, prs_merged=99, commits_count=99)
        for who in (twin_a, twin_b)
    ])
    return EdgeCounts(members=7, prs=len(prs), surveys=len(surveys), usage=len(usage))


def _members(rng: random.Random, team: Team, count: int) -> list[TeamMember]:
    members = []
    for position in range(count):
        if position < len(BOTS) and count > 5:
            name, login = BOTS[position]
            email = ""
        else:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            login = f"{name.split()[0].lower().encode('ascii', 'ignore').decode() or 'dev'}-{team.slug}-{position}"
            email = f"{login}@example.com"
        members.append(
            TeamMember(
                team=team,
                display_name=name,
                github_username=login,
                github_id=str(10_000_000 + position),
                email=email,
                # bulk_create skips save(), which flags bot logins: flagged here by the same rule.
                is_bot=is_bot_login(login),
                role=TeamMember.Role.LEAD if position == len(BOTS) else TeamMember.Role.DEVELOPER,
                # Roughly one in ten people has left the team.
                is_active=position < len(BOTS) + 1 or rng.random() > 0.1,
            )
        )
    return TeamMember.objects.bulk_create(members)


def write_demo_reports(root, *, day: dt.date) -> int:
    """Record each demo team's Copilot users-1-day report for `day` as the loopback GitHub stub serves it.

    The records mirror the seeded usage rows of that day, plus one login that
    matches nobody, so a demo sync shows both stored and unmatched records.
    """
    from apps.integrations.github.stub_server import write_recorded_report

    written = 0
    for integration in GitHubIntegration.objects.filter(team__slug__startswith="demo-").select_related("team"):
        usage = AIUsageDaily.objects.filter(team=integration.team, date=day).select_related("member")
        records = [
            {
                "user_login": row.member.github_username,
                "user_id": int(row.member.github_id),
                "day": day.isoformat(),
                "code_generation_activity_count": row.suggestions_shown,
                "code_acceptance_activity_count": row.suggestions_accepted,
            }
            for row in usage
        ]
        records.append(
            {"user_login": "former-contractor", "user_id": 1, "day": day.isoformat(),
             "code_generation_activity_count": 12, "code_acceptance_activity_count": 3}
        )
        write_recorded_report(root, org=integration.org_slug, day=day, records=records)
        written += 1
    return written
