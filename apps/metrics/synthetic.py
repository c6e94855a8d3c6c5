"""Synthetic edge-case teams: hypothesis strategies for a team's rows, and the rows built from them.

`rollout verify --generated N` builds N such teams inside a transaction it rolls
back and compares both sides of a pair on each (see `explore_generated_teams`);
the property-based contract cases (tests/support/strategies.py) draw the same
specs with arguments of their own. A `TeamSpec` is a plain description of a
small team: members, PRs with surveys and reviews, commits, Copilot usage,
stored weekly rows. `build_team` creates its rows in the spec's order.

What the data leans towards, on purpose (the places optimizer bugs hide):
- Instants at the team's local midnight, one microsecond before it, at UTC
  midnight, at local noon or anywhere in the local day (23, 24 or 25 hours
  long), in Europe/Berlin, America/New_York and UTC, around offset changes.
- Members sharing display names (and names that order differently by
  codepoint and by locale), without a GitHub login, with logins differing
  only in case or by a leading space, sharing a login, inactive, bots
  (GitHub app logins, "…[bot]" in any case, left out of the people-facing
  cards; "hubot" is not one). Member ids
  are handed out in a drawn order, so insertion order is not id order.
- Amounts whose averages end in a half cent (10.00 and 10.01), Copilot
  counts whose rates end in a half cent (1 of 800 is 0.125 %), formula-like
  text for the CSV export, surveys naming someone other than the PR's
  author, weekly rows already stored for the weeks re-aggregated.

`data_shapes(team)` says which of these a team's rows hold (one query), so
every verify run can say what it covered.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

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
from apps.metrics.services.common import monday_of
from apps.teams.models import Team

UTC = dt.UTC
ONE_MICROSECOND = dt.timedelta(microseconds=1)
ONE_DAY = dt.timedelta(days=1)

# --- time zones, seasons and instants -----------------------------------------------------------

ZONES = ("Europe/Berlin", "America/New_York", "UTC")
# The local days on which a zone's UTC offset changes in 2026 (spring forward, fall back).
OFFSET_CHANGES = {
    "Europe/Berlin": (dt.date(2026, 3, 29), dt.date(2026, 10, 25)),
    "America/New_York": (dt.date(2026, 3, 8), dt.date(2026, 11, 1)),
}
# Mondays starting five weeks that hold both zones' change of that season.
SEASONS = (dt.date(2026, 10, 19), dt.date(2026, 3, 2))
SEASON_DAYS = 35


def season_days(season: dt.date) -> tuple[dt.date, ...]:
    return tuple(season + dt.timedelta(days=offset) for offset in range(SEASON_DAYS))


def offset_change(zone: str, season: dt.date) -> dt.date:
    """The day the zone's offset changes in the season (Berlin's for UTC, where nothing changes)."""
    changes = OFFSET_CHANGES.get(zone, OFFSET_CHANGES["Europe/Berlin"])
    return next(day for day in changes if season <= day < season + dt.timedelta(days=SEASON_DAYS))


def local_midnight(zone: str, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC)


MOMENT_KINDS = ("local_midnight", "just_before_local_midnight", "utc_midnight", "local_noon", "within_the_local_day")


@dataclass(frozen=True)
class Moment:
    """An instant described relative to a local day, resolved in the team's zone when rows are built.

    "just_before_local_midnight" of day d is the last microsecond of local day d - 1.
    """

    day: dt.date
    kind: str = "local_midnight"
    seconds: int = 0

    def at(self, zone: str) -> dt.datetime:
        midnight = local_midnight(zone, self.day)
        if self.kind == "local_midnight":
            return midnight
        if self.kind == "just_before_local_midnight":
            return midnight - ONE_MICROSECOND
        if self.kind == "utc_midnight":
            return dt.datetime.combine(self.day, dt.time.min, tzinfo=UTC)
        if self.kind == "local_noon":
            return dt.datetime.combine(self.day, dt.time(12), tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC)
        # Anywhere in the local day, which is 23, 24 or 25 hours long around an offset change.
        length = int((local_midnight(zone, self.day + ONE_DAY) - midnight).total_seconds())
        return midnight + dt.timedelta(seconds=self.seconds % length)


def moments(days: Sequence[dt.date]) -> st.SearchStrategy[Moment]:
    return st.builds(
        Moment, day=st.sampled_from(days), kind=st.sampled_from(MOMENT_KINDS), seconds=st.integers(0, 90_000)
    )


def around_bounds(*days: dt.date) -> tuple[dt.date, ...]:
    """Each day and the one before, sorted: where bounds are, so where data should cluster."""
    return tuple(sorted({day + shift for day in days for shift in (-ONE_DAY, dt.timedelta(0))}))


# --- date ranges (read pairs' arguments) -----------------------------------------------------------

RANGE_SHAPES = ("single_day", "crosses_the_offset_change", "ends_on_the_last_day_with_data", "one_week", "any")


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date
    shape: str

    @property
    def no_data_after_end(self) -> bool:
        return self.shape == "ends_on_the_last_day_with_data"

    def data_days(self, *more: dt.date) -> tuple[dt.date, ...]:
        """Days that data falls on: around both bounds (and `more`), none after the end for that shape.

        "Around" the end is the end itself and the day after (whose local midnight is the first instant out).
        """
        days = set(around_bounds(self.start, self.end + ONE_DAY, *more))
        if self.no_data_after_end:
            days = {day for day in days if day <= self.end}
        return tuple(sorted(days))

    def boundary_moments(self) -> tuple[Moment, ...]:
        """The first instant in, the last instant in, and the instants just outside the range."""
        moments_ = [
            Moment(self.start),
            Moment(self.start, "just_before_local_midnight"),
            Moment(self.end + ONE_DAY, "just_before_local_midnight"),
        ]
        if not self.no_data_after_end:
            moments_.append(Moment(self.end + ONE_DAY))
        return tuple(moments_)


@st.composite
def date_ranges(draw: st.DrawFn, zone: str, season: dt.date) -> DateRange:
    """A range of whole local days: one day (maybe the 23- or 25-hour one), across the offset change, a week, any."""
    days = season_days(season)
    change = offset_change(zone, season)
    shape = draw(st.sampled_from(RANGE_SHAPES))
    if shape == "single_day":
        start = end = draw(st.sampled_from((change, change - ONE_DAY, *days)))
    elif shape == "crosses_the_offset_change":
        start = change - dt.timedelta(days=draw(st.integers(1, 10)))
        end = change + dt.timedelta(days=draw(st.integers(0, 10)))
    elif shape == "one_week":
        start = draw(st.sampled_from(days))
        end = start + dt.timedelta(days=6)
    else:
        start, end = sorted((draw(st.sampled_from(days)), draw(st.sampled_from(days))))
    return DateRange(start=start, end=end, shape=shape)


# --- the team ---------------------------------------------------------------------------------------

# Duplicates, case and accents that order differently by codepoint and by locale, blank names
# (initials from the login), formula-like names for the export.
NAMES = ("Sam", "sam", "Ana Souza", "ana", "Zoe", "Émilie Dubois", "Łukasz Żółć", "张伟", "", "  ", "-Mallory", "=cmd()")
# Shared, empty, case-variant and space-prefixed logins; bots' logins (flagged is_bot when the member is created).
LOGINS = ("octocat", "", "Octocat", "hubot", "mona-dev", " mona-dev", "OCTOCAT", "dependabot[bot]", "Renovate[Bot]")
# Hundredths of an hour: 10.00 and 10.01 average to 10.005, 0 and 1 to 0.005.
CENTS = (1000, 1001, 0, 1, 333, 250, 2400, 15)
# Lines changed at the size buckets' edges (XS ≤ 10, S ≤ 50, M ≤ 200, L ≤ 500).
LINE_TOTALS = (40, 10, 11, 50, 51, 200, 201, 500, 501, 0)
# Copilot (shown, accepted): rates ending in a half cent (3.125, 0.625, 0.125, 0.025, 0.005 %),
# nothing shown, accepted above shown, 66.666… %.
RATE_PAIRS = ((32, 1), (160, 1), (800, 1), (4000, 1), (20000, 1), (0, 0), (0, 3), (8, 9), (3, 2), (200, 1))
# A block of quality ratings whose mean can end in a half cent only from 40 ratings on (k / 40).
RATING_BLOCK_SIZE = 40
RATING_BLOCK_REVIEWERS = 8
# Sums of 40 ratings whose mean, as a float, rounds half up to another cent than the exact mean.
FLOAT_ROUNDS_DOWN = (107, 41, 43, 51, 53, 61, 63, 71, 73, 81, 87, 91, 97, 101, 111, 117)
# Export text: formula-like cells, quotes and commas, non-ASCII.
TITLES = ("=1+1", "+cmd", "-2", "@x", "\t=tab", "\r=cr", "Fix login", 'Quote "this", comma', "Überarbeitung ✨", "")
JIRA_KEYS = ("", "ACME-1", "@cmd", "-1")
AI_TOOLS = ((), ("copilot",), ("cursor",), ("copilot", "cursor"), ("+tool",), ("Copilot",))
REPOS = ("acme/api", "acme/web", "Acme/API")


@dataclass(frozen=True)
class MemberSpec:
    name: str
    login: str
    active: bool = True


@dataclass(frozen=True)
class AnswerSpec:
    """A reviewer's survey answer: rating, guess and when they answered."""

    reviewer: int
    rating: int | None
    guess: bool | None
    responded: Moment | None


@dataclass(frozen=True)
class SurveySpec:
    author: int | None  # the member the survey names as its author: not always the PR's author
    ai: bool | None
    answers: tuple[AnswerSpec, ...] = ()


@dataclass(frozen=True)
class ReviewSpec:
    reviewer: int | None
    submitted: Moment


@dataclass(frozen=True)
class PullRequestSpec:
    author: int | None
    state: str
    merged: Moment | None
    created: Moment
    cycle_cents: int | None = 2400
    review_cents: int | None = 400
    additions: int = 30
    deletions: int = 10
    is_revert: bool = False
    is_hotfix: bool = False
    is_ai: bool = False
    tools: tuple[str, ...] = ()
    jira: str = ""
    title: str = "Change"
    repo: str = "acme/api"
    survey: SurveySpec | None = None
    reviews: tuple[ReviewSpec, ...] = ()


@dataclass(frozen=True)
class CommitSpec:
    author: int | None
    at: Moment


@dataclass(frozen=True)
class UsageSpec:
    member: int
    day: dt.date
    source: str
    shown: int
    accepted: int
    active_hours_cents: int | None = None


@dataclass(frozen=True)
class WeeklySpec:
    """A WeeklyMetrics row stored before the call (to be updated, or left alone)."""

    member: int
    week_start: dt.date
    prs_merged: int
    cycle_cents: int | None
    commits: int
    guess_cents: int | None


@dataclass(frozen=True)
class TeamSpec:
    """A team's rows, by member index (position in `members`, which is also the insertion order).

    `id_order[i]` is the rank of member i's id among the members' ids: a permutation, so ids are
    not in insertion order. `twin` adds another team with a member of the same name and login and
    copies of the first PR, usage and weekly rows: nothing of it may count.
    """

    zone: str
    members: tuple[MemberSpec, ...]
    id_order: tuple[int, ...]
    prs: tuple[PullRequestSpec, ...] = ()
    commits: tuple[CommitSpec, ...] = ()
    usage: tuple[UsageSpec, ...] = ()
    weekly: tuple[WeeklySpec, ...] = ()
    twin: bool = True


def cents(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 100


def member_specs(sizes: tuple[int, int]) -> st.SearchStrategy[list[MemberSpec]]:
    member = st.builds(
        MemberSpec, name=st.sampled_from(NAMES), login=st.sampled_from(LOGINS), active=st.sampled_from((True, False))
    )
    return st.lists(member, min_size=sizes[0], max_size=sizes[1])


def optional_cents() -> st.SearchStrategy[int | None]:
    return st.one_of(st.sampled_from(CENTS), st.none(), st.integers(0, 1_000_000))


def copilot_counts() -> st.SearchStrategy[tuple[int, int]]:
    """(shown, accepted) with a rate the stored percentage holds (at most 999.99 %)."""
    return st.one_of(
        st.sampled_from(RATE_PAIRS),
        st.integers(0, 5000).flatmap(lambda shown: st.tuples(st.just(shown), st.integers(0, 9 * shown))),
    )


@st.composite
def team_specs(
    draw: st.DrawFn,
    *,
    zone: str,
    days: Sequence[dt.date],
    members: tuple[int, int] = (1, 7),
    prs: tuple[int, int] = (0, 10),
    merged_at: Sequence[Moment] = (),
    created_at: Sequence[Moment] = (),
    surveys: bool = True,
    reviews: bool = False,
    export_text: bool = False,
    commits: Sequence[Moment] | None = None,
    usage: Sequence[dt.date] | None = None,
    weekly_weeks: Sequence[dt.date] = (),
    answered_at: Sequence[Moment] = (),
    rating_block_at: Sequence[Moment] = (),
    rating_block_always: bool = False,
) -> TeamSpec:
    """A team in `zone` whose instants fall on `days`.

    Besides the drawn PRs, one merged PR per `merged_at` moment and one PR created at each
    `created_at` moment (the bounds a pair's arguments set), all inserted in a drawn order.
    `commits` / `usage`: commits at these moments / Copilot days (plus drawn ones), or none at all
    when None. `weekly_weeks`: weeks that may already hold stored rows. `answered_at`: survey
    answers (with a guess) given at these moments, on the drawn PRs.
    """
    member_list = draw(member_specs(members))
    size = len(member_list)
    index = st.integers(0, size - 1)
    maybe_index = st.one_of(index, st.none())
    moment = moments(days)

    @st.composite
    def answer(draw_answer: st.DrawFn, responded: Moment | None = None) -> AnswerSpec:
        return AnswerSpec(
            reviewer=draw_answer(index),
            rating=draw_answer(st.sampled_from((3, 2, 1, None))),
            guess=draw_answer(st.sampled_from((True, False, None))) if responded is None else draw_answer(st.booleans()),
            responded=responded if responded is not None else draw_answer(st.one_of(moment, st.none())),
        )

    @st.composite
    def pull_request(draw_pr: st.DrawFn, merged: Moment | None = None, created: Moment | None = None) -> PullRequestSpec:
        # A PR at a bound always has an author, so each bound counts for someone; others may have none.
        author = draw_pr(maybe_index if merged is None and created is None else index)
        if merged is not None:
            state = "merged"
        else:
            state = draw_pr(st.sampled_from(("merged", "merged", "open", "closed")))
            if state == "merged":
                merged = draw_pr(moment)
            elif state == "closed":
                merged = draw_pr(st.one_of(st.none(), moment))
        survey = None
        if surveys and draw_pr(st.sampled_from((True, True, False))):
            survey = SurveySpec(
                author=draw_pr(st.one_of(st.just(author), maybe_index)),
                ai=draw_pr(st.sampled_from((True, False, None))),
                answers=tuple(draw_pr(st.lists(answer(), max_size=3))),
            )
        total = draw_pr(st.sampled_from(LINE_TOTALS))
        deletions = draw_pr(st.integers(0, total))
        text: dict[str, Any] = {}
        if export_text:
            text = {
                "tools": draw_pr(st.sampled_from(AI_TOOLS)),
                "jira": draw_pr(st.sampled_from(JIRA_KEYS)),
                "title": draw_pr(st.sampled_from(TITLES)),
                "repo": draw_pr(st.sampled_from(REPOS)),
                "is_ai": draw_pr(st.booleans()),
            }
        return PullRequestSpec(
            author=author,
            state=state,
            merged=merged,
            created=created if created is not None else draw_pr(moment),
            cycle_cents=draw_pr(optional_cents()),
            review_cents=draw_pr(optional_cents()),
            additions=total - deletions,
            deletions=deletions,
            is_revert=draw_pr(st.booleans()),
            is_hotfix=draw_pr(st.booleans()),
            survey=survey,
            reviews=tuple(draw_pr(st.lists(st.builds(ReviewSpec, reviewer=maybe_index, submitted=moment), max_size=2)))
            if reviews
            else (),
            **text,
        )

    pr_list = draw(st.lists(pull_request(), min_size=prs[0], max_size=prs[1]))
    pr_list += [draw(pull_request(merged=at)) for at in merged_at]
    pr_list += [draw(pull_request(created=at)) for at in created_at]
    block_choices = rating_block_at if rating_block_always else (*rating_block_at, None)
    block_at = draw(st.sampled_from(block_choices)) if rating_block_at else None
    if block_at is not None:
        # 40 ratings with an odd sum on 5 PRs of an author of their own, merged at `block_at`: the
        # mean ends in a half cent at the third decimal, and a float average of some of those sums
        # rounds down (107 / 40 = 2.675 -> 2.67) where the exact one rounds up.
        author = len(member_list)
        reviewers = range(author + 1, author + 1 + RATING_BLOCK_REVIEWERS)
        member_list += [MemberSpec(name=draw(st.sampled_from(NAMES)), login="", active=True)]
        member_list += [MemberSpec(name="Reviewer", login="", active=False) for _ in reviewers]
        total = draw(st.one_of(st.sampled_from(FLOAT_ROUNDS_DOWN), st.integers(20, 59).map(lambda half: 2 * half + 1)))
        # 40 ones, then the rest of the sum added to them, at most 2 each, in a drawn order.
        ratings = [1] * RATING_BLOCK_SIZE
        extra = total - RATING_BLOCK_SIZE
        for position in draw(st.permutations(range(RATING_BLOCK_SIZE))):
            ratings[position] += min(2, extra)
            extra -= min(2, extra)
        for survey in range(RATING_BLOCK_SIZE // RATING_BLOCK_REVIEWERS):
            answers = tuple(
                AnswerSpec(reviewer=reviewer, rating=ratings[survey * RATING_BLOCK_REVIEWERS + position], guess=None,
                           responded=None)
                for position, reviewer in enumerate(reviewers)
            )
            pr_list.append(
                PullRequestSpec(author=author, state="merged", merged=block_at, created=block_at,
                                survey=SurveySpec(author=author, ai=draw(st.sampled_from((True, False))), answers=answers))
            )
    id_order = tuple(draw(st.permutations(range(len(member_list)))))
    if answered_at and pr_list:
        # Answers given exactly at the bounds, each on a drawn PR (with a survey added where it has none).
        for at in answered_at:
            position = draw(st.integers(0, len(pr_list) - 1))
            pr = pr_list[position]
            survey = pr.survey or SurveySpec(author=pr.author, ai=draw(st.sampled_from((True, False))))
            survey = SurveySpec(survey.author, survey.ai, (*survey.answers, draw(answer(responded=at))))
            pr_list[position] = replace(pr, survey=survey)
    pr_list = draw(st.permutations(pr_list)) if pr_list else []

    commit_list: list[CommitSpec] = []
    if commits is not None:
        commit_list = draw(st.lists(st.builds(CommitSpec, author=maybe_index, at=moment), max_size=6))
        commit_list += [CommitSpec(author=draw(maybe_index), at=at) for at in commits]

    usage_list: list[UsageSpec] = []
    if usage is not None:

        @st.composite
        def usage_row(draw_usage: st.DrawFn, day: dt.date | None = None) -> UsageSpec:
            shown, accepted = draw_usage(copilot_counts())
            return UsageSpec(
                member=draw_usage(index),
                day=day if day is not None else draw_usage(st.sampled_from(days)),
                source=draw_usage(st.sampled_from(("copilot", "copilot", "cursor"))),
                shown=shown,
                accepted=accepted,
                active_hours_cents=draw_usage(st.one_of(st.none(), st.integers(0, 99_999))),
            )

        usage_list = draw(st.lists(usage_row(), max_size=12))
        usage_list += [draw(usage_row(day=day)) for day in usage]
        usage_list = list(draw(st.permutations(usage_list)))

    weekly_list: list[WeeklySpec] = []
    if weekly_weeks:
        weekly_list = draw(
            st.lists(
                st.builds(
                    WeeklySpec,
                    member=index,
                    week_start=st.sampled_from(weekly_weeks),
                    prs_merged=st.integers(0, 9),
                    cycle_cents=optional_cents(),
                    commits=st.integers(0, 5),
                    guess_cents=st.one_of(st.none(), st.integers(0, 10_000)),
                ),
                max_size=8,
            )
        )

    return TeamSpec(
        zone=zone,
        members=tuple(member_list),
        id_order=id_order,
        prs=tuple(pr_list),
        commits=tuple(commit_list),
        usage=tuple(usage_list),
        weekly=tuple(weekly_list),
        twin=draw(st.booleans()),
    )


def half_cent_means(
    prs: Sequence[PullRequestSpec], group: Callable[[PullRequestSpec], Any], fields: Sequence[str] = ("cycle_cents",)
) -> tuple[PullRequestSpec, ...]:
    """The PRs with amounts nudged so that each group's mean of each field ends in a half cent.

    `group(pr)` names the group a PR is averaged in (None: in none). In a group with an even number
    n >= 2 of amounts, the last one is raised until the sum is n × m + n / 2, so the mean is
    m.5 hundredths (10.005 hours): the case where rounding half up and half even part. A group with
    an odd number of amounts loses the last one (set to None) first.
    """
    prs = list(prs)
    for name in fields:
        members: dict[Any, list[int]] = {}
        for position, pr in enumerate(prs):
            key = group(pr)
            if key is not None and getattr(pr, name) is not None:
                members.setdefault(key, []).append(position)
        for positions in members.values():
            if len(positions) % 2:
                prs[positions[-1]] = replace(prs[positions[-1]], **{name: None})
                positions = positions[:-1]
            if len(positions) < 2:
                continue
            count = len(positions)
            total = sum(getattr(prs[position], name) for position in positions)
            last = prs[positions[-1]]
            raise_by = (count // 2 - total) % count
            prs[positions[-1]] = replace(last, **{name: getattr(last, name) + raise_by})
    return tuple(prs)


def merged_between(zone: str, start: dt.datetime, end: dt.datetime) -> Callable[[PullRequestSpec], bool]:
    """Whether a PR spec is merged (state and instant) within [start, end)."""

    def merged(pr: PullRequestSpec) -> bool:
        return pr.state == "merged" and pr.merged is not None and start <= pr.merged.at(zone) < end

    return merged


# --- building the rows ----------------------------------------------------------------------------


@dataclass
class BuiltTeam:
    team: Team
    other_team: Team
    members: list[TeamMember]
    twin: TeamMember | None = None
    prs: list[PullRequest] = field(default_factory=list)


def reserved_ids(model: Any, count: int) -> list[int]:
    """`count` fresh ids from the model's id sequence, ascending, for rows inserted in another order."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [model._meta.db_table, count]
        )
        return sorted(row[0] for row in cursor.fetchall())


class _Rows:
    """Creates rows with the plain values a real sync would give the columns a spec leaves open."""

    def __init__(self) -> None:
        # High enough that rows other code adds to the team (tests' factories count from 1) never collide.
        self.numbers = itertools.count(1_000_001)

    def team(self, zone: str, label: str) -> Team:
        # A slug no real team has: the sequence value makes it unique even across concurrent runs.
        number = reserved_ids(Team, 1)[0]
        return Team.objects.create(name=f"{label} {number}", slug=f"{label}-{number}", timezone=zone)

    def member(self, team: Team, name: str, login: str, *, active: bool = True, member_id: int | None = None) -> TeamMember:
        number = next(self.numbers)
        return TeamMember.objects.create(
            id=member_id, team=team, display_name=name, github_username=login, github_id=str(number),
            email=f"member{number}@example.com", is_active=active,
        )

    def pull_request(self, spec: PullRequestSpec, team: Team, author: TeamMember | None, zone: str) -> PullRequest:
        created = spec.created.at(zone)
        return PullRequest.objects.create(
            team=team, author=author, github_pr_id=next(self.numbers), github_repo=spec.repo, title=spec.title,
            state=spec.state, merged_at=spec.merged.at(zone) if spec.merged else None, pr_created_at=created,
            first_review_at=created + dt.timedelta(hours=4), cycle_time_hours=cents(spec.cycle_cents),
            review_time_hours=cents(spec.review_cents), review_rounds=1, total_comments=2, additions=spec.additions,
            deletions=spec.deletions, is_revert=spec.is_revert, is_hotfix=spec.is_hotfix, is_ai_assisted=spec.is_ai,
            ai_tools_detected=list(spec.tools), jira_key=spec.jira,
        )

    def survey(self, pr: PullRequest, author: TeamMember | None, ai: bool | None) -> PRSurvey:
        answered = ai is not None
        return PRSurvey.objects.create(
            team=pr.team, pull_request=pr, author=author, author_ai_assisted=ai,
            author_responded_at=pr.pr_created_at + dt.timedelta(hours=1) if answered else None,
            author_response_source=PRSurvey.Source.WEB if answered else "",
        )

    def review(self, pr: PullRequest, reviewer: TeamMember | None, at: dt.datetime) -> PRReview:
        return PRReview.objects.create(
            team=pr.team, pull_request=pr, reviewer=reviewer, state=PRReview.State.APPROVED, submitted_at=at
        )

    def usage(self, team: Team, member: TeamMember, day: dt.date, *, source: str = AIUsageDaily.Source.COPILOT,
              shown: int, accepted: int, active_hours: Decimal | None = None) -> AIUsageDaily:
        return AIUsageDaily.objects.create(
            team=team, member=member, date=day, source=source, suggestions_shown=shown, suggestions_accepted=accepted,
            acceptance_rate=acceptance_rate(shown, accepted), active_hours=active_hours,
        )


def build_team(spec: TeamSpec, *, label: str = "synthetic") -> BuiltTeam:
    """Create the spec's rows in the spec's order: the team, another team, and the twin's rows if any."""
    rows = _Rows()
    zone = spec.zone
    team = rows.team(zone, label)
    other_team = rows.team("UTC", f"{label}-other")
    ids = reserved_ids(TeamMember, len(spec.members))
    # Member i gets the id_order[i]-th smallest id, so the insertion order is not the id order.
    members = [
        rows.member(team, member.name, member.login, active=member.active, member_id=ids[rank])
        for member, rank in zip(spec.members, spec.id_order)
    ]
    built = BuiltTeam(team=team, other_team=other_team, members=members)

    def member(position: int | None) -> TeamMember | None:
        return None if position is None else members[position]

    for pr_spec in spec.prs:
        pr = rows.pull_request(pr_spec, team, member(pr_spec.author), zone)
        built.prs.append(pr)
        if pr_spec.survey is not None:
            survey = rows.survey(pr, member(pr_spec.survey.author), pr_spec.survey.ai)
            answered: set[int] = set()
            for answer in pr_spec.survey.answers:
                if answer.reviewer in answered:  # one answer per reviewer and survey
                    continue
                answered.add(answer.reviewer)
                guess_correct = None if answer.guess is None or survey.author_ai_assisted is None else (
                    answer.guess == survey.author_ai_assisted
                )
                PRSurveyReview.objects.create(
                    team=team, survey=survey, reviewer=members[answer.reviewer], quality_rating=answer.rating,
                    ai_guess=answer.guess, guess_correct=guess_correct,
                    responded_at=answer.responded.at(zone) if answer.responded else None,
                )
        for review in pr_spec.reviews:
            rows.review(pr, member(review.reviewer), review.submitted.at(zone))

    for number, commit in enumerate(spec.commits):
        Commit.objects.create(
            team=team, author=member(commit.author), committed_at=commit.at.at(zone), github_sha=f"{number:040x}",
            github_repo="acme/api", message=f"commit {number}", additions=10, deletions=2,
        )

    stored: set[tuple[int, dt.date, str]] = set()
    for usage in spec.usage:
        if (usage.member, usage.day, usage.source) in stored:  # one row per member, day and source
            continue
        stored.add((usage.member, usage.day, usage.source))
        rows.usage(team, members[usage.member], usage.day, source=usage.source, shown=usage.shown,
                   accepted=usage.accepted, active_hours=cents(usage.active_hours_cents))

    weeks: set[tuple[int, dt.date]] = set()
    for weekly in spec.weekly:
        if (weekly.member, weekly.week_start) in weeks:  # one row per member and week
            continue
        weeks.add((weekly.member, weekly.week_start))
        WeeklyMetrics.objects.create(
            team=team, member=members[weekly.member], week_start=weekly.week_start, prs_merged=weekly.prs_merged,
            avg_cycle_time_hours=cents(weekly.cycle_cents), commits_count=weekly.commits,
            guess_accuracy=cents(weekly.guess_cents),
        )

    if spec.twin and members:
        # Another team's member with the same name and login, and copies of the first rows: none may count.
        first = spec.members[0]
        twin = rows.member(other_team, first.name, first.login)
        built.twin = twin
        if spec.prs:
            pr = rows.pull_request(spec.prs[0], other_team, twin, zone)
            rows.survey(pr, twin, True)
            rows.review(pr, twin, spec.prs[0].created.at(zone))
        if spec.usage:
            rows.usage(other_team, twin, spec.usage[0].day, shown=999, accepted=99)
        if spec.weekly:
            WeeklyMetrics.objects.create(team=other_team, member=twin, week_start=spec.weekly[0].week_start, prs_merged=99)
    return built


# --- rollout verify --generated ---------------------------------------------------------------------

RECENT_WEEKS = 5


def recent_days(today: dt.date) -> tuple[dt.date, ...]:
    """The complete weeks before today's, Monday to Sunday: where scheduled pairs' examples look."""
    this_monday = monday_of(today)
    first = this_monday - dt.timedelta(weeks=RECENT_WEEKS)
    return tuple(first + dt.timedelta(days=offset) for offset in range(RECENT_WEEKS * 7))


def latest_offset_change(zone: str, before: dt.date) -> dt.date | None:
    """The latest day up to `before` whose UTC offset differs from the day before's (None in a zone without)."""
    tz = zoneinfo.ZoneInfo(zone)

    def offset(day: dt.date) -> dt.timedelta | None:
        return dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()

    day = before
    for _ in range(366):
        if offset(day) != offset(day - ONE_DAY):
            return day
        day -= ONE_DAY
    return None


@st.composite
def generated_team_specs(draw: st.DrawFn, today: dt.date) -> TeamSpec:
    """A team for `rollout verify --generated`: data in the last five complete weeks and around its zone's
    latest offset change, with every kind of row, bounds at local midnights and stored weekly rows."""
    zone = draw(st.sampled_from(ZONES))
    days = list(recent_days(today))
    change = latest_offset_change(zone, days[-1])
    if change is not None:
        days += [change + dt.timedelta(days=shift) for shift in range(-3, 3)]
    days = sorted(set(days))
    mondays = sorted({day for day in days if day.weekday() == 0})
    bounds = [Moment(day) for day in draw(st.lists(st.sampled_from(days), max_size=3))]
    spec: TeamSpec = draw(team_specs(
        zone=zone, days=days, members=(2, 8), prs=(3, 16), merged_at=bounds,
        created_at=[Moment(days[-1], "just_before_local_midnight")], reviews=True, export_text=True,
        commits=[Moment(days[-1])], usage=draw(st.lists(st.sampled_from(days), min_size=1, max_size=4)),
        weekly_weeks=mondays, rating_block_at=[Moment(days[-2], "local_noon")],
    ))
    return spec


def explore_generated_teams(count: int, visit: Callable[[Team, TeamSpec], None], *, today: dt.date | None = None) -> int:
    """Build up to `count` synthetic teams, one at a time, and call `visit(team, spec)` on each; returns how many.

    Each team lives in a savepoint that is rolled back after its visit, so nothing is left behind; call
    this inside a transaction. The teams are the same on every run (derandomized), so a finding can be
    reproduced. `visit` must not raise: an exception stops the exploration.
    """
    today = today or timezone.localdate()
    built = 0

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
        suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
    )
    @given(generated_team_specs(today))
    def one(spec: TeamSpec) -> None:
        nonlocal built
        with transaction.atomic():
            team = build_team(spec, label="generated").team
            built += 1
            visit(team, spec)
            transaction.set_rollback(True)

    one()
    return built


# --- data shapes --------------------------------------------------------------------------------------

# Each shape: a plain-words name and an SQL condition on the team's rows (%(team)s, %(zone)s bound).
_PR, _MEMBER, _SURVEY, _USAGE, _WEEKLY, _REVIEW = (
    PullRequest._meta.db_table, TeamMember._meta.db_table, PRSurvey._meta.db_table, AIUsageDaily._meta.db_table,
    WeeklyMetrics._meta.db_table, PRReview._meta.db_table,
)
SHAPES: dict[str, str] = {
    "a PR merged at local midnight": f"""EXISTS (SELECT 1 FROM {_PR} WHERE team_id = %(team)s
        AND (merged_at AT TIME ZONE %(zone)s)::time = '00:00')""",
    "PRs merged at the same instant": f"""EXISTS (SELECT 1 FROM {_PR} WHERE team_id = %(team)s AND merged_at IS NOT NULL
        GROUP BY merged_at HAVING count(*) > 1)""",
    "members sharing a display name": f"""EXISTS (SELECT 1 FROM {_MEMBER} WHERE team_id = %(team)s
        GROUP BY display_name HAVING count(*) > 1)""",
    "a member without a GitHub login": f"EXISTS (SELECT 1 FROM {_MEMBER} WHERE team_id = %(team)s AND github_username = '')",
    "an inactive member": f"EXISTS (SELECT 1 FROM {_MEMBER} WHERE team_id = %(team)s AND NOT is_active)",
    "a login in mixed case": f"""EXISTS (SELECT 1 FROM {_MEMBER} WHERE team_id = %(team)s
        AND github_username <> lower(github_username))""",
    "a login shared by two members": f"""EXISTS (SELECT 1 FROM {_MEMBER} WHERE team_id = %(team)s AND github_username <> ''
        GROUP BY github_username HAVING count(*) > 1)""",
    "formula-like text": f"""EXISTS (SELECT 1 FROM {_PR} WHERE team_id = %(team)s
        AND (left(title, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') OR left(jira_key, 1) IN ('=', '+', '-', '@')))""",
    "a survey by someone other than the PR's author": f"""EXISTS (SELECT 1 FROM {_SURVEY} AS survey
        JOIN {_PR} AS pr ON pr.id = survey.pull_request_id
        WHERE survey.team_id = %(team)s AND survey.author_id IS DISTINCT FROM pr.author_id)""",
    "an author's mean cycle time on a half cent": f"""EXISTS (SELECT 1 FROM {_PR} WHERE team_id = %(team)s
        AND state = 'merged' AND cycle_time_hours IS NOT NULL
        GROUP BY author_id HAVING mod(avg(cycle_time_hours) * 1000, 10) = 5)""",
    "a Copilot rate on a half cent": f"""EXISTS (SELECT 1 FROM {_USAGE} WHERE team_id = %(team)s AND suggestions_shown > 0
        AND mod(suggestions_accepted * 100000, suggestions_shown) = 0
        AND mod(suggestions_accepted * 100000 / suggestions_shown, 10) = 5)""",
    "weekly rows already stored": f"EXISTS (SELECT 1 FROM {_WEEKLY} WHERE team_id = %(team)s)",
    "a bot with PRs or reviews": f"""EXISTS (SELECT 1 FROM {_MEMBER} AS member WHERE member.team_id = %(team)s
        AND member.is_bot AND (EXISTS (SELECT 1 FROM {_PR} WHERE author_id = member.id)
                               OR EXISTS (SELECT 1 FROM {_REVIEW} WHERE reviewer_id = member.id)))""",
    # Local time minus UTC time is the offset: two offsets among the merges means a change lies between them.
    "PRs on both sides of an offset change": f"""(SELECT count(DISTINCT (merged_at AT TIME ZONE %(zone)s)
        - (merged_at AT TIME ZONE 'UTC')) FROM {_PR} WHERE team_id = %(team)s AND merged_at IS NOT NULL) > 1""",
}


def data_shapes(team: Team) -> dict[str, bool]:
    """Which edge-case shapes the team's rows hold, by name (SHAPES order): one query."""
    sql = "SELECT " + ", ".join(f"({condition})" for condition in SHAPES.values())
    with connection.cursor() as cursor:
        cursor.execute(sql, {"team": team.pk, "zone": team.timezone})
        found = cursor.fetchone()
    return dict(zip(SHAPES, found))
