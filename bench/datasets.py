"""Benchmark datasets, generated straight into PostgreSQL with set-based SQL.

Each table of a team is one INSERT … SELECT over generate_series. Every
"random" choice is a hash of (seed, team slug, what is chosen, row number),
so the same seed and end date give the same rows, in any order of execution
and without a round trip per row. The ORM's bulk_create (apps/metrics/demo.py)
builds a Python object per row, which is far too slow for 200,000 PRs.

Shapes (see bench/sizes.py for the counts): PRs over `pr_days` days up to the
dataset's end date, about 80 % merged; cycle_time_hours and
review_time_hours equal the hours between the timestamps they come from;
3 % of PRs without author; every PR except some open ones reviewed, its first
review at first_review_at; surveys on `survey_share` of the merged PRs, 15 %
unanswered, with 0-2 reviewer ratings and guesses each; Copilot usage for
every member on every one of the last `copilot_days` days, 5 % of them with
nothing shown (acceptance_rate None). All members are active, so weekly
aggregation covers every one of them.

A dataset is reused when its teams already exist with the expected PR count
and an end date at most REUSE_DAYS old; otherwise its teams are dropped and
rebuilt, each in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

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
from apps.teams.models import Team
from bench.sizes import Size, TeamShape

# An older dataset is rebuilt, so "the last 90 days" of the dashboard still falls on generated data.
REUSE_DAYS = 7
FIRST_NAMES = [
    "Ada", "Bruno", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi", "Inés", "Jonas",
    "Kwame", "Léa", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rafael", "Sofía", "Tomás",
]
LAST_NAMES = [
    "Lovelace", "Silva", "Martin", "Ivanov", "Okafor", "Haddad", "Hopper", "Tanaka", "García", "Berg",
    "Mensah", "Dubois", "Rossi", "Khan", "Nilsson", "Patel", "Chen", "Müller", "Nowak", "Yılmaz",
]
PR_VERBS = ["Add", "Fix", "Refactor", "Remove", "Speed up", "Document", "Test", "Rename", "Harden", "Migrate"]
PR_OBJECTS = [
    "billing webhook retries", "login rate limiting", "CSV export", "search indexing", "cache warm-up",
    "feature flags", "payment reconciliation", "onboarding emails", "audit log", "API pagination",
]
AI_TOOLS = ['["copilot"]', '["copilot"]', '["cursor"]', '["claude"]', '["copilot", "cursor"]', '["chatgpt"]']
NAME_PATTERN = re.compile(r"\(data to (\d{4}-\d{2}-\d{2})\)$")
SLUG_PATTERN = re.compile(r"^[a-z0-9-]+$")
TABLES_BY_TEAM = [PRSurveyReview, PRSurvey, PRReview, Commit, WeeklyMetrics, AIUsageDaily, PullRequest, TeamMember]


@dataclass
class Dataset:
    """The measured team of a size, with the last day of its history and what building it took."""

    team: Team
    end_date: dt.date
    noise_teams: list[Team]
    reused: bool
    build_seconds: float
    counts: dict[str, int] = field(default_factory=dict)


def ensure_dataset(size: Size, *, today: dt.date | None = None) -> Dataset:
    """The size's teams, reused when present and fresh, else (re)built. Tables are analyzed after a build."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    started = time.perf_counter()
    specs = [(size.slug, size.team)] + [(size.noise_slug(i), size.noise) for i in range(size.noise_teams)]
    teams, built = [], False
    for slug, shape in specs:
        team = _fresh_team(slug, shape, today)
        if team is None:
            team = build_team(slug=slug, shape=shape, seed=size.seed, end_date=today - dt.timedelta(days=1),
                              label=f"Bench {size.name}")
            built = True
        teams.append(team)
    if built:
        tables = ", ".join(model._meta.db_table for model in TABLES_BY_TEAM + [Team])
        with connection.cursor() as cursor:
            # Fresh statistics and visibility maps now, rather than autovacuum taking a core mid-measurement
            # on a 2-core machine. VACUUM cannot run inside a transaction (the smoke test): ANALYZE only there.
            cursor.execute(f"ANALYZE {tables}" if connection.in_atomic_block else f"VACUUM (ANALYZE) {tables}")
    main = teams[0]
    return Dataset(
        team=main,
        end_date=dataset_end_date(main),
        noise_teams=teams[1:],
        reused=not built,
        build_seconds=round(time.perf_counter() - started, 2),
        counts=table_counts(main),
    )


def dataset_end_date(team: Team) -> dt.date:
    match = NAME_PATTERN.search(team.name)
    if match is None:
        raise ValueError(f"Team {team.slug!r} is not a benchmark team")
    return dt.date.fromisoformat(match.group(1))


def table_counts(team: Team) -> dict[str, int]:
    return {model.__name__: model.objects.filter(team=team).count() for model in reversed(TABLES_BY_TEAM)}


def _fresh_team(slug: str, shape: TeamShape, today: dt.date) -> Team | None:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        return None
    match = NAME_PATTERN.search(team.name)
    if (
        match is not None
        and (today - dt.date.fromisoformat(match.group(1))).days <= REUSE_DAYS
        and PullRequest.objects.filter(team=team).count() == shape.prs
    ):
        return team
    drop_team(team)
    return None


def drop_team(team: Team) -> None:
    """Delete a team and its rows: metric tables by SQL first, so the ORM's cascade finds them already empty."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            for model in TABLES_BY_TEAM:
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE team_id = %s", [team.pk])
        team.delete()


def build_team(*, slug: str, shape: TeamShape, seed: int, end_date: dt.date, label: str) -> Team:
    """Create one team with its members, PRs, reviews, commits, surveys, ratings and Copilot usage, atomically."""
    if not SLUG_PATTERN.match(slug):
        raise ValueError(f"Benchmark slugs are lowercase letters, digits and dashes, got {slug!r}")
    end = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    gen = _Generator(key=f"{seed}:{slug}")
    with transaction.atomic():
        team = Team.objects.create(name=f"{label} {slug} (data to {end_date.isoformat()})", slug=slug, timezone="UTC")
        params = {
            "team": team.pk,
            "slug": slug,
            "end": end,
            "start": end - dt.timedelta(days=shape.pr_days),
            "hours": shape.pr_days * 24,
            "end_date": end_date,
        }
        with connection.cursor() as cursor:

            def insert(sql: str, model) -> None:
                cursor.execute(sql, params)
                # The next statements join what was just inserted: without fresh statistics the planner
                # takes the table for as small as it last saw it and picks nested loops over it.
                cursor.execute(f"ANALYZE {model._meta.db_table}")

            insert(gen.members_sql(shape), TeamMember)
            cursor.execute(
                f"SELECT array_agg(id ORDER BY github_id) FROM {TeamMember._meta.db_table} WHERE team_id = %s",
                [team.pk],
            )
            params["members"] = cursor.fetchone()[0] or []
            params["m"] = len(params["members"])
            if shape.prs:
                insert(gen.prs_sql(shape), PullRequest)
                cursor.execute(
                    f"SELECT count(*) FROM {PullRequest._meta.db_table} "
                    "WHERE team_id = %s AND first_review_at IS NOT NULL",
                    [team.pk],
                )
                params["reviewed"] = cursor.fetchone()[0]
                if shape.reviews and params["reviewed"]:
                    insert(gen.reviews_sql(shape), PRReview)
                insert(gen.commits_sql(shape), Commit)
                insert(gen.surveys_sql(shape), PRSurvey)
                insert(gen.survey_reviews_sql(), PRSurveyReview)
            if shape.copilot_days and params["m"]:
                insert(gen.usage_sql(shape), AIUsageDaily)
    return team


class _Generator:
    """SQL text for one team's tables; values come from psycopg parameters, randomness from _rand."""

    def __init__(self, key: str):
        self.key = key

    def rand(self, tag: str, expr: str) -> str:
        """A uniform float in [0, 1) from the first 32 bits of md5(seed:slug:tag:expr)."""
        return f"(('x' || substr(md5('{self.key}:{tag}:' || ({expr})::text), 1, 8))::bit(32)::bigint / 4294967296.0)"

    def pick(self, array: list[str], tag: str, expr: str) -> str:
        items = ", ".join("'" + item.replace("'", "''") + "'" for item in array)
        return f"(ARRAY[{items}])[1 + floor({self.rand(tag, expr)} * {len(array)})::int]"

    def member(self, tag: str, expr: str) -> str:
        return f"(%(members)s::bigint[])[1 + floor({self.rand(tag, expr)} * %(m)s)::int]"

    def members_sql(self, shape: TeamShape) -> str:
        return f"""
            INSERT INTO {TeamMember._meta.db_table}
                (team_id, created_at, updated_at, email, display_name, github_username, github_id, role, is_active)
            SELECT %(team)s, now(), now(), login || '@bench.example', {self.pick(FIRST_NAMES, 'first', 'i')}
                   || ' ' || {self.pick(LAST_NAMES, 'last', 'i')}, login, (20000000 + i)::text,
                   CASE WHEN i = 1 THEN 'lead' ELSE 'developer' END, true
            FROM (SELECT i, %(slug)s || '-dev-' || i AS login FROM generate_series(1, {shape.members}) AS i) AS numbered
        """

    def prs_sql(self, shape: TeamShape) -> str:
        r = self.rand
        return f"""
            INSERT INTO {PullRequest._meta.db_table}
                (team_id, created_at, updated_at, github_pr_id, github_repo, title, body, author_id, state,
                 pr_created_at, merged_at, first_review_at, cycle_time_hours, review_time_hours, review_rounds,
                 total_comments, additions, deletions, is_revert, is_hotfix, is_ai_assisted, ai_tools_detected,
                 jira_key)
            SELECT %(team)s, now(), now(), i, repo,
                   CASE WHEN is_revert THEN 'Revert "' || title || '"' ELSE title END, '', author_id, state,
                   created,
                   CASE WHEN state = 'merged' THEN created + cycle * interval '1 hour' END,
                   CASE WHEN has_review THEN created + review_hours * interval '1 hour' END,
                   CASE WHEN state = 'merged' THEN cycle END,
                   CASE WHEN has_review THEN review_hours END,
                   CASE WHEN has_review THEN 1 + floor({r('rounds', 'i')} * 4)::int ELSE 0 END,
                   floor({r('comments', 'i')} * 21)::int,
                   greatest(1, floor(lines * 0.7)::int), floor(lines * 0.3)::int,
                   is_revert, {r('hotfix', 'i')} < 0.04, is_ai,
                   CASE WHEN is_ai THEN {self.pick(AI_TOOLS, 'tool', 'i')}::jsonb ELSE '[]'::jsonb END,
                   CASE WHEN {r('jira', 'i')} < 0.6 THEN 'BENCH-' || (100 + floor({r('jira-n', 'i')} * 9900)::int)
                        ELSE '' END
            FROM (
                SELECT *,
                       -- A review after the merge is clipped to the merge, as GitHub shows it.
                       CASE WHEN state = 'merged' AND review_delay > cycle THEN cycle ELSE review_delay END
                           AS review_hours,
                       state <> 'open' OR {r('reviewed', 'i')} < 0.5 AS has_review
                FROM (
                    SELECT *,
                           CASE WHEN state_roll < 0.8 AND created + cycle * interval '1 hour' < %(end)s THEN 'merged'
                                WHEN state_roll < 0.9 THEN 'open' ELSE 'closed' END AS state,
                           -- AI adoption grows across the period, so the trend has a slope.
                           {r('ai', 'i')} < 0.2 + 0.4 * progress AS is_ai
                    FROM (
                        SELECT i,
                               %(start)s::timestamptz + progress * %(hours)s * interval '1 hour' AS created,
                               progress,
                               round((0.25 + least(400, -ln(1 - {r('cycle', 'i')}) * 24))::numeric, 2) AS cycle,
                               round((0.2 + {r('review', 'i')} * 30)::numeric, 2) AS review_delay,
                               {r('state', 'i')} AS state_roll,
                               CASE WHEN {r('author', 'i')} < 0.03 THEN NULL ELSE {self.member('author-m', 'i')} END
                                   AS author_id,
                               'bench-org/' || (ARRAY['api', 'web', 'mobile', 'infra'])[1 + (i %% 4)] AS repo,
                               {self.pick(PR_VERBS, 'verb', 'i')} || ' ' || {self.pick(PR_OBJECTS, 'object', 'i')}
                                   AS title,
                               {r('revert', 'i')} < 0.02 AS is_revert,
                               least(20000, floor(8 / power(1 - {r('size', 'i')}, 0.8))) AS lines
                        FROM (SELECT i, {r('created', 'i')} AS progress
                              FROM generate_series(1, {shape.prs}) AS i) AS numbered
                    ) AS drawn
                ) AS stated
            ) AS final
        """

    def reviews_sql(self, shape: TeamShape) -> str:
        r = self.rand
        # Review j goes to reviewed PR number ((j - 1) mod reviewed) + 1: every reviewed PR gets one
        # review at its first_review_at before any gets a second, later one.
        return f"""
            INSERT INTO {PRReview._meta.db_table}
                (team_id, created_at, updated_at, pull_request_id, reviewer_id, state, submitted_at, is_ai_review,
                 ai_reviewer_type)
            SELECT %(team)s, now(), now(), pr.id,
                   CASE WHEN bot THEN NULL ELSE {self.member('reviewer', 'j')} END,
                   {self.pick(['approved', 'changes_requested', 'commented'], 'review-state', 'j')},
                   CASE WHEN j <= %(reviewed)s THEN pr.first_review_at
                        ELSE pr.first_review_at + {r('later', 'j')} * interval '48 hours' END,
                   bot, CASE WHEN bot THEN 'coderabbit' ELSE '' END
            FROM (SELECT j, {r('bot', 'j')} < 0.1 AS bot FROM generate_series(1, {shape.reviews}) AS j) AS reviews
            JOIN (
                SELECT id, first_review_at, row_number() OVER (ORDER BY github_pr_id) AS k
                FROM {PullRequest._meta.db_table}
                WHERE team_id = %(team)s AND first_review_at IS NOT NULL
            ) AS pr ON pr.k = mod(reviews.j - 1, %(reviewed)s) + 1
        """

    def commits_sql(self, shape: TeamShape) -> str:
        r = self.rand
        return f"""
            INSERT INTO {Commit._meta.db_table}
                (team_id, created_at, updated_at, github_sha, github_repo, author_id, message, committed_at,
                 additions, deletions, pull_request_id, is_ai_assisted, ai_co_authors)
            SELECT %(team)s, now(), now(),
                   md5(%(slug)s || ':' || pr.github_pr_id || ':' || c)
                       || substr(md5('sha:' || %(slug)s || ':' || pr.github_pr_id || ':' || c), 1, 8),
                   pr.github_repo, pr.author_id, pr.title,
                   pr.pr_created_at - {r('commit', "pr.github_pr_id || ':' || c")} * interval '48 hours',
                   pr.additions / {shape.commits_per_pr}, pr.deletions / {shape.commits_per_pr}, pr.id,
                   pr.is_ai_assisted,
                   CASE WHEN pr.is_ai_assisted AND {r('co', "pr.github_pr_id || ':' || c")} < 0.3
                        THEN '["Copilot"]'::jsonb ELSE '[]'::jsonb END
            FROM {PullRequest._meta.db_table} AS pr CROSS JOIN generate_series(1, {shape.commits_per_pr}) AS c
            WHERE pr.team_id = %(team)s
        """

    def surveys_sql(self, shape: TeamShape) -> str:
        r = self.rand
        n = "pr.github_pr_id"
        return f"""
            INSERT INTO {PRSurvey._meta.db_table}
                (team_id, created_at, updated_at, pull_request_id, author_id, author_ai_assisted,
                 author_responded_at, author_response_source)
            SELECT %(team)s, now(), now(), id, author_id,
                   -- Authors mostly report what the tools detected, but not always.
                   CASE WHEN answered THEN (CASE WHEN {r('honest', 'n')} < 0.9 THEN is_ai_assisted
                                                 ELSE NOT is_ai_assisted END) END,
                   CASE WHEN answered THEN merged_at + {r('answered-at', 'n')} * interval '24 hours' END,
                   CASE WHEN answered THEN {self.pick(['github', 'slack', 'web', 'auto'], 'source', 'n')} ELSE '' END
            FROM (
                SELECT pr.id, {n} AS n, pr.author_id, pr.is_ai_assisted, pr.merged_at,
                       {r('answered', n)} < 0.85 AS answered
                FROM {PullRequest._meta.db_table} AS pr
                WHERE pr.team_id = %(team)s AND pr.state = 'merged' AND {r('survey', n)} < {shape.survey_share}
            ) AS surveyed
        """

    def survey_reviews_sql(self) -> str:
        r = self.rand
        # Slot 2's reviewer is shifted by 1..m-1 from slot 1's, so one survey never gets the same reviewer twice.
        return f"""
            INSERT INTO {PRSurveyReview._meta.db_table}
                (team_id, created_at, updated_at, survey_id, reviewer_id, quality_rating, ai_guess, guess_correct,
                 responded_at)
            SELECT %(team)s, now(), now(), id, reviewer_id, rating, guess,
                   CASE WHEN guess IS NULL OR author_ai_assisted IS NULL THEN NULL
                        ELSE guess = author_ai_assisted END,
                   responded_at
            FROM (
                SELECT s.id, s.author_id, s.author_ai_assisted,
                       (%(members)s::bigint[])[1 + mod(
                           floor({r('rater', 'n')} * %(m)s)::int
                           + (slot - 1) * (1 + floor({r('rater-2', 'n')} * (%(m)s - 1))::int), %(m)s)] AS reviewer_id,
                       (ARRAY[1, 2, 2, 3, 3, NULL])[1 + floor({r('rating', "n || ':' || slot")} * 6)::int] AS rating,
                       CASE WHEN {r('guessed', "n || ':' || slot")} < 0.9
                            THEN {r('guess', "n || ':' || slot")} < 0.5 END AS guess,
                       pr.merged_at + (1 + {r('rated-at', "n || ':' || slot")} * 47) * interval '1 hour'
                           AS responded_at,
                       slot, floor({r('raters', 'n')} * 3)::int AS raters
                FROM {PRSurvey._meta.db_table} AS s
                JOIN (SELECT id AS pr_id, github_pr_id AS n, merged_at FROM {PullRequest._meta.db_table}
                      WHERE team_id = %(team)s) AS pr ON pr.pr_id = s.pull_request_id
                CROSS JOIN generate_series(1, 2) AS slot
                WHERE s.team_id = %(team)s AND %(m)s >= 2
            ) AS rated
            WHERE slot <= raters AND reviewer_id IS DISTINCT FROM author_id
        """

    def usage_sql(self, shape: TeamShape) -> str:
        r = self.rand
        k = "member.github_id || ':' || day"
        return f"""
            INSERT INTO {AIUsageDaily._meta.db_table}
                (team_id, created_at, updated_at, member_id, date, source, suggestions_shown, suggestions_accepted,
                 acceptance_rate, active_hours)
            SELECT %(team)s, now(), now(), id, day, 'copilot', shown, accepted,
                   -- Half up, two places, None when nothing was shown: apps.metrics.models.acceptance_rate.
                   CASE WHEN shown = 0 THEN NULL ELSE round(accepted::numeric * 100 / shown, 2) END,
                   hours
            FROM (
                SELECT id, day, shown, floor(shown * (0.15 + 0.3 * accept_roll))::int AS accepted, hours
                FROM (
                    SELECT member.id, day,
                           CASE WHEN {r('idle', k)} < 0.05 THEN 0 ELSE 20 + floor({r('shown', k)} * 281)::int END
                               AS shown,
                           {r('accepted', k)} AS accept_roll,
                           round((0.5 + {r('hours', k)} * 6.5)::numeric, 2) AS hours
                    FROM {TeamMember._meta.db_table} AS member
                    CROSS JOIN (SELECT (%(end_date)s::date - d) AS day
                                FROM generate_series(0, {shape.copilot_days - 1}) AS d) AS days
                    WHERE member.team_id = %(team)s
                ) AS drawn
            ) AS usage
        """
