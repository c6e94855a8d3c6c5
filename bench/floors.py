"""The floor: one hand-written SQL statement per pair, returning the same numbers as the pair.

Each floor is what the database alone needs for the answer: no ORM, one
round trip. The runner times it on the same connection as the pair and
checks that the converted rows equal the pair's result, so a floor cannot
look fast by computing something else. Rules are those of the pairs'
docstrings (apps/metrics/services/dashboard/optimized.py,
apps/metrics/services/weekly_aggregation/optimized.py): date ranges are
[start 00:00, end + 1 day 00:00) in the team's zone, averages and
percentages rounded half up to two places; bots (member.is_bot) left out
of the cards that list or count members.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from apps.metrics.models import (
    SIZE_BUCKETS,
    AIUsageDaily,
    Commit,
    PRReview,
    PRSurvey,
    PRSurveyReview,
    PullRequest,
    TeamMember,
    WeeklyMetrics,
)
from apps.metrics.services.common import day_range, previous_period, week_range, weeks_between
from apps.teams.models import Team

PR = PullRequest._meta.db_table
SURVEY = PRSurvey._meta.db_table
RATING = PRSurveyReview._meta.db_table
MEMBER = TeamMember._meta.db_table
WEEKLY = WeeklyMetrics._meta.db_table
COMMIT = Commit._meta.db_table
REVIEW = PRReview._meta.db_table
USAGE = AIUsageDaily._meta.db_table

# percent(): 0.00 without a whole, else part × 100 ÷ whole rounded half up (round() on a positive numeric).
PERCENT = "CASE WHEN {whole} = 0 THEN 0.00 ELSE round(100.0 * {part} / {whole}, 2) END"

TEAM_BREAKDOWN_SQL = f"""
    SELECT member.id, member.display_name, member.github_username, count(pr.id), round(avg(pr.cycle_time_hours), 2),
           {PERCENT.format(
               part="count(survey.id) FILTER (WHERE survey.team_id = %(team)s AND survey.author_ai_assisted)",
               whole="count(survey.id) FILTER (WHERE survey.team_id = %(team)s)",
           )}
    FROM {PR} AS pr
    JOIN {MEMBER} AS member ON member.id = pr.author_id AND member.team_id = %(team)s AND NOT member.is_bot
    LEFT JOIN {SURVEY} AS survey ON survey.pull_request_id = pr.id
    WHERE pr.team_id = %(team)s AND pr.state = 'merged' AND pr.merged_at >= %(start)s AND pr.merged_at < %(end)s
    GROUP BY member.id
    ORDER BY member.display_name, member.id
"""

KEY_METRICS_SQL = f"""
    WITH bounds (period, low, high) AS (
        VALUES ('current', %(current_start)s::timestamptz, %(current_end)s::timestamptz),
               ('previous', %(previous_start)s::timestamptz, %(previous_end)s::timestamptz)
    ),
    prs AS (
        SELECT bounds.period, count(pr.id) AS prs, round(avg(pr.cycle_time_hours), 2) AS cycle,
               {PERCENT.format(
                   part="count(survey.id) FILTER (WHERE survey.team_id = %(team)s AND survey.author_ai_assisted)",
                   whole="count(survey.id) FILTER (WHERE survey.team_id = %(team)s)",
               )} AS ai_pct
        FROM bounds
        LEFT JOIN {PR} AS pr ON pr.team_id = %(team)s AND pr.state = 'merged'
                            AND pr.merged_at >= bounds.low AND pr.merged_at < bounds.high
        LEFT JOIN {SURVEY} AS survey ON survey.pull_request_id = pr.id
        GROUP BY bounds.period
    ),
    ratings AS (
        -- Many ratings per survey: averaged on their own, so they cannot repeat a PR in the counts above.
        SELECT bounds.period, round(avg(rated.quality_rating), 2) AS quality
        FROM bounds
        LEFT JOIN (
            SELECT rating.quality_rating, pr.merged_at
            FROM {RATING} AS rating
            JOIN {SURVEY} AS survey ON survey.id = rating.survey_id
            JOIN {PR} AS pr ON pr.id = survey.pull_request_id
            WHERE rating.team_id = %(team)s AND rating.quality_rating IS NOT NULL
              AND pr.team_id = %(team)s AND pr.state = 'merged'
              AND pr.merged_at >= %(previous_start)s AND pr.merged_at < %(current_end)s
        ) AS rated ON rated.merged_at >= bounds.low AND rated.merged_at < bounds.high
        GROUP BY bounds.period
    )
    SELECT prs.period, prs.prs, prs.cycle, ratings.quality, prs.ai_pct
    FROM prs JOIN ratings USING (period)
"""

# The weekly pair stores round2(float(avg)): a mean exactly halfway (x.xx5) rounds by the side of it its
# nearest double falls on. Ratings are 1..3, where every double is an integer multiple of 2^-52, so the
# double scaled by 2^52 is an exact bigint to compare with the exact mean.
QUALITY_ROUNDED = """
    CASE WHEN q IS NULL THEN NULL
         WHEN q * 200 = trunc(q * 200) AND mod(q * 200, 2) = 1
              AND (q::float8 * 4503599627370496)::bigint < q * 4503599627370496 THEN trunc(q, 2)
         ELSE round(q, 2) END
"""

WEEKLY_FIELDS = [
    "prs_merged", "avg_cycle_time_hours", "avg_review_time_hours", "commits_count", "lines_added",
    "lines_removed", "revert_count", "hotfix_count", "ai_assisted_prs", "avg_quality_rating",
    "surveys_completed", "guess_accuracy",
]

WEEKLY_AGGREGATION_SQL = f"""
    WITH prs AS (
        SELECT pr.author_id, count(pr.id) AS prs, round(avg(pr.cycle_time_hours), 2) AS cycle,
               round(avg(pr.review_time_hours), 2) AS review, sum(pr.additions) AS added,
               sum(pr.deletions) AS removed, count(pr.id) FILTER (WHERE pr.is_revert) AS reverts,
               count(pr.id) FILTER (WHERE pr.is_hotfix) AS hotfixes,
               count(survey.id) FILTER (WHERE survey.team_id = %(team)s AND survey.author_ai_assisted IS NOT NULL)
                   AS answered,
               count(survey.id) FILTER (WHERE survey.team_id = %(team)s AND survey.author_ai_assisted) AS ai_prs
        FROM {PR} AS pr LEFT JOIN {SURVEY} AS survey ON survey.pull_request_id = pr.id
        WHERE pr.team_id = %(team)s AND pr.state = 'merged' AND pr.merged_at >= %(start)s AND pr.merged_at < %(end)s
        GROUP BY pr.author_id
    ),
    commits AS (
        SELECT author_id, count(*) AS commits FROM {COMMIT}
        WHERE team_id = %(team)s AND committed_at >= %(start)s AND committed_at < %(end)s
        GROUP BY author_id
    ),
    guesses AS (
        SELECT reviewer_id, count(*) AS guesses, count(*) FILTER (WHERE guess_correct) AS correct FROM {RATING}
        WHERE team_id = %(team)s AND responded_at >= %(start)s AND responded_at < %(end)s
          AND guess_correct IS NOT NULL
        GROUP BY reviewer_id
    ),
    quality AS (
        SELECT author_id, {QUALITY_ROUNDED} AS quality
        FROM (
            SELECT pr.author_id, avg(rating.quality_rating) AS q
            FROM {RATING} AS rating
            JOIN {SURVEY} AS survey ON survey.id = rating.survey_id AND survey.team_id = %(team)s
            JOIN {PR} AS pr ON pr.id = survey.pull_request_id
            WHERE rating.team_id = %(team)s AND rating.quality_rating IS NOT NULL
              AND pr.team_id = %(team)s AND pr.state = 'merged' AND pr.merged_at >= %(start)s AND pr.merged_at < %(end)s
            GROUP BY pr.author_id
        ) AS means
    )
    INSERT INTO {WEEKLY} (team_id, created_at, updated_at, member_id, week_start, {", ".join(WEEKLY_FIELDS)})
    SELECT %(team)s, now(), now(), member.id, %(week_start)s,
           coalesce(prs.prs, 0), prs.cycle, prs.review, coalesce(commits.commits, 0), coalesce(prs.added, 0),
           coalesce(prs.removed, 0), coalesce(prs.reverts, 0), coalesce(prs.hotfixes, 0), coalesce(prs.ai_prs, 0),
           quality.quality, coalesce(prs.answered, 0),
           CASE WHEN guesses.guesses > 0 THEN round(100.0 * guesses.correct / guesses.guesses, 2) END
    FROM {MEMBER} AS member
    LEFT JOIN prs ON prs.author_id = member.id
    LEFT JOIN commits ON commits.author_id = member.id
    LEFT JOIN guesses ON guesses.reviewer_id = member.id
    LEFT JOIN quality ON quality.author_id = member.id
    WHERE member.team_id = %(team)s AND member.is_active
    ON CONFLICT (team_id, member_id, week_start) DO UPDATE SET
        {", ".join(f"{name} = EXCLUDED.{name}" for name in WEEKLY_FIELDS)}, updated_at = EXCLUDED.updated_at
    RETURNING member_id, week_start, {", ".join(WEEKLY_FIELDS)}
"""


REVIEWER_WORKLOAD_SQL = f"""
    SELECT member.id, member.display_name, count(review.id) AS reviews,
           -- reviews against 1.5 × and 0.5 × the mean per reviewer, cross-multiplied as the pair compares them.
           CASE WHEN 2 * count(review.id) * count(*) OVER () > 3 * sum(count(review.id)) OVER () THEN 'high'
                WHEN 2 * count(review.id) * count(*) OVER () < sum(count(review.id)) OVER () THEN 'low'
                ELSE 'normal' END
    FROM {REVIEW} AS review
    JOIN {MEMBER} AS member ON member.id = review.reviewer_id AND member.team_id = %(team)s AND NOT member.is_bot
    WHERE review.team_id = %(team)s AND review.submitted_at >= %(start)s AND review.submitted_at < %(end)s
    GROUP BY member.id
    -- "C" orders UTF-8 text by codepoint, as Python orders strings.
    ORDER BY reviews DESC, member.display_name COLLATE "C", member.id
"""

# The weeks of a trend, one row each (Monday, clipped start, clipped end), passed as three arrays.
WEEKS = """
    weeks (week_start, low, high) AS (
        SELECT * FROM unnest(%(mondays)s::date[], %(lows)s::timestamptz[], %(highs)s::timestamptz[])
    )
"""

CYCLE_TIME_TREND_SQL = f"""
    WITH {WEEKS}
    SELECT weeks.week_start, round(avg(pr.cycle_time_hours), 2), count(pr.id)
    FROM weeks
    LEFT JOIN {PR} AS pr ON pr.team_id = %(team)s AND pr.state = 'merged'
                        AND pr.merged_at >= weeks.low AND pr.merged_at < weeks.high
    GROUP BY weeks.week_start
    ORDER BY weeks.week_start
"""

REVIEW_TIME_TREND_SQL = f"""
    WITH {WEEKS}
    SELECT weeks.week_start, round(avg(pr.review_time_hours), 2), count(pr.id)
    FROM weeks
    LEFT JOIN {PR} AS pr ON pr.team_id = %(team)s AND pr.state = 'merged' AND pr.review_time_hours IS NOT NULL
                        AND pr.merged_at >= weeks.low AND pr.merged_at < weeks.high
    GROUP BY weeks.week_start
    ORDER BY weeks.week_start
"""

AI_ADOPTION_TREND_SQL = f"""
    WITH {WEEKS}
    SELECT weeks.week_start, {PERCENT.format(part="count(surveyed.id) FILTER (WHERE surveyed.ai)", whole="count(surveyed.id)")},
           count(surveyed.id)
    FROM weeks
    LEFT JOIN (
        SELECT survey.id, survey.author_ai_assisted AS ai, pr.merged_at
        FROM {SURVEY} AS survey JOIN {PR} AS pr ON pr.id = survey.pull_request_id
        WHERE survey.team_id = %(team)s AND pr.team_id = %(team)s AND pr.state = 'merged'
          AND pr.merged_at >= %(start)s AND pr.merged_at < %(end)s
    ) AS surveyed ON surveyed.merged_at >= weeks.low AND surveyed.merged_at < weeks.high
    GROUP BY weeks.week_start
    ORDER BY weeks.week_start
"""


def _size_counts() -> str:
    counts, lower = [], None
    for _label, upper in SIZE_BUCKETS:
        bounds = [f"lines > {lower}" if lower is not None else "", f"lines <= {upper}" if upper is not None else ""]
        counts.append(f"count(*) FILTER (WHERE {' AND '.join(bound for bound in bounds if bound)})")
        lower = upper
    return ", ".join(counts)


PR_SIZE_DISTRIBUTION_SQL = f"""
    SELECT {_size_counts()}
    FROM (
        SELECT pr.additions::bigint + pr.deletions AS lines FROM {PR} AS pr
        WHERE pr.team_id = %(team)s AND pr.state = 'merged' AND pr.merged_at >= %(start)s AND pr.merged_at < %(end)s
    ) AS merged
"""

COPILOT_METRICS_SQL = f"""
    SELECT coalesce(sum(usage.suggestions_shown), 0), coalesce(sum(usage.suggestions_accepted), 0),
           CASE WHEN coalesce(sum(usage.suggestions_shown), 0) = 0 THEN NULL
                ELSE round(100.0 * sum(usage.suggestions_accepted) / sum(usage.suggestions_shown), 2) END,
           count(DISTINCT usage.member_id) FILTER (WHERE usage.suggestions_shown > 0 AND NOT member.is_bot)
    FROM {USAGE} AS usage JOIN {MEMBER} AS member ON member.id = usage.member_id
    WHERE usage.team_id = %(team)s AND usage.source = 'copilot' AND usage.date >= %(start)s AND usage.date <= %(end)s
"""

RECENT_PRS_SQL = f"""
    SELECT pr.id, pr.title, pr.github_repo, pr.github_pr_id, coalesce(member.display_name, ''), pr.merged_at,
           pr.cycle_time_hours, pr.is_ai_assisted
    FROM {PR} AS pr LEFT JOIN {MEMBER} AS member ON member.id = pr.author_id
    WHERE pr.team_id = %(team)s AND pr.state = 'merged' AND pr.merged_at >= %(start)s AND pr.merged_at < %(end)s
    ORDER BY pr.merged_at DESC, pr.id DESC
    LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Floor:
    """A pair's floor: run(team=…, **the pair's kwargs) executes the one statement and returns the pair's shape."""

    pair: str
    sql: str
    run: Callable[..., Any]
    writes: bool = False


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def team_breakdown_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    start, end = day_range(team, start_date, end_date)
    rows = _fetch(TEAM_BREAKDOWN_SQL, {"team": team.pk, "start": start, "end": end})
    result = []
    for member_id, name, login, prs, cycle, ai_pct in rows:
        # The model's own avatar and initials rules, on an unsaved instance: no query.
        member = TeamMember(display_name=name, github_username=login)
        result.append(
            {
                "member_id": member_id,
                "member_name": name,
                "avatar_url": member.avatar_url,
                "initials": member.initials,
                "prs_merged": prs,
                "avg_cycle_time": cycle,
                "ai_pct": ai_pct,
            }
        )
    return result


def key_metrics_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    current_start, current_end = day_range(team, start_date, end_date)
    previous_start, previous_end = day_range(team, *previous_period(start_date, end_date))
    rows = _fetch(
        KEY_METRICS_SQL,
        {
            "team": team.pk,
            "current_start": current_start,
            "current_end": current_end,
            "previous_start": previous_start,
            "previous_end": previous_end,
        },
    )
    return {
        period: {"prs_merged": prs, "avg_cycle_time": cycle, "avg_quality_rating": quality, "ai_assisted_pct": ai_pct}
        for period, prs, cycle, quality, ai_pct in rows
    }


def weekly_aggregation_floor(*, team: Team, week_start: dt.date) -> list[dict]:
    start, end = week_range(team, week_start)
    rows = _fetch(WEEKLY_AGGREGATION_SQL, {"team": team.pk, "start": start, "end": end, "week_start": week_start})
    names = ["member_id", "week_start", *WEEKLY_FIELDS]
    return sorted((dict(zip(names, row)) for row in rows), key=lambda row: row["member_id"])


def reviewer_workload_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    start, end = day_range(team, start_date, end_date)
    rows = _fetch(REVIEWER_WORKLOAD_SQL, {"team": team.pk, "start": start, "end": end})
    return [
        {"member_id": member_id, "member_name": name, "reviews": reviews, "workload": workload}
        for member_id, name, reviews, workload in rows
    ]


def _weeks(team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    """The trends' weeks: each team-local Monday week touching the range, clipped to it."""
    start, end = day_range(team, start_date, end_date)
    mondays = weeks_between(start_date, end_date)
    bounds = [week_range(team, monday) for monday in mondays]
    return {
        "team": team.pk,
        "start": start,
        "end": end,
        "mondays": mondays,
        "lows": [max(low, start) for low, _high in bounds],
        "highs": [min(high, end) for _low, high in bounds],
    }


def cycle_time_trend_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    rows = _fetch(CYCLE_TIME_TREND_SQL, _weeks(team, start_date, end_date))
    return [{"week_start": monday, "value": value, "prs": prs} for monday, value, prs in rows]


def review_time_trend_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    rows = _fetch(REVIEW_TIME_TREND_SQL, _weeks(team, start_date, end_date))
    return [{"week_start": monday, "value": value, "prs": prs} for monday, value, prs in rows]


def ai_adoption_trend_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    rows = _fetch(AI_ADOPTION_TREND_SQL, _weeks(team, start_date, end_date))
    return [{"week_start": monday, "ai_pct": ai_pct, "surveys": surveys} for monday, ai_pct, surveys in rows]


def pr_size_distribution_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    start, end = day_range(team, start_date, end_date)
    (counts,) = _fetch(PR_SIZE_DISTRIBUTION_SQL, {"team": team.pk, "start": start, "end": end})
    return [{"size": label, "count": count} for (label, _upper), count in zip(SIZE_BUCKETS, counts)]


def copilot_metrics_floor(*, team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    ((shown, accepted, rate, active),) = _fetch(COPILOT_METRICS_SQL, {"team": team.pk, "start": start_date, "end": end_date})
    return {"total_shown": shown, "total_accepted": accepted, "acceptance_rate": rate, "active_members": active}


def recent_prs_floor(*, team: Team, start_date: dt.date, end_date: dt.date, limit: int = 10) -> list[dict]:
    """LIMIT takes the bench's limit as it is (a negative one, which the pair refuses, is not a floor case)."""
    start, end = day_range(team, start_date, end_date)
    rows = _fetch(RECENT_PRS_SQL, {"team": team.pk, "start": start, "end": end, "limit": limit})
    return [
        {
            "id": pr_id,
            "title": title,
            "github_repo": repo,
            "github_pr_id": number,
            "url": f"https://github.com/{repo}/pull/{number}",
            "author_name": author_name,
            "merged_at": merged_at,
            "cycle_time_hours": cycle,
            "is_ai_assisted": is_ai,
        }
        for pr_id, title, repo, number, author_name, merged_at, cycle, is_ai in rows
    ]


FLOORS = [
    Floor("metrics.team_breakdown", TEAM_BREAKDOWN_SQL, team_breakdown_floor),
    Floor("metrics.key_metrics", KEY_METRICS_SQL, key_metrics_floor),
    Floor("metrics.weekly_aggregation", WEEKLY_AGGREGATION_SQL, weekly_aggregation_floor, writes=True),
    Floor("metrics.reviewer_workload", REVIEWER_WORKLOAD_SQL, reviewer_workload_floor),
    Floor("metrics.cycle_time_trend", CYCLE_TIME_TREND_SQL, cycle_time_trend_floor),
    Floor("metrics.review_time_trend", REVIEW_TIME_TREND_SQL, review_time_trend_floor),
    Floor("metrics.ai_adoption_trend", AI_ADOPTION_TREND_SQL, ai_adoption_trend_floor),
    Floor("metrics.pr_size_distribution", PR_SIZE_DISTRIBUTION_SQL, pr_size_distribution_floor),
    Floor("metrics.copilot_metrics", COPILOT_METRICS_SQL, copilot_metrics_floor),
    Floor("metrics.recent_prs", RECENT_PRS_SQL, recent_prs_floor),
]
