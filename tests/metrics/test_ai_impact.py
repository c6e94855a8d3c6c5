"""The AI impact card (apps/metrics/services/ai_impact.py): AI-assisted PRs against the rest.

Not a pair, so no legacy twin to agree with: these cases fix its contract. Hand-computed figures on
a small team, the team-local range and Copilot days, tenant isolation, the notes for groups too
small to compare, an empty range, the exact query count at two team sizes, the card on the page,
and generated teams against a plain Python computation over the same rows.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import asdict
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.models import AIUsageDaily, PRSurvey, PRSurveyReview, PullRequest
from apps.metrics.services import dashboard
from apps.metrics.services.ai_impact import MIN_GROUP_SIZE, AIImpact, GroupStats, get_ai_impact
from apps.metrics.services.common import day_range, round2
from apps.teams.models import Team
from tests.factories import (
    AIUsageDailyFactory,
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
)
from tests.support.strategies import (
    SEASONS,
    ZONES,
    DateRange,
    TeamSpec,
    build_team,
    date_ranges,
    example_savepoint,
    property_settings,
    team_specs,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
MERGED = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def impact(team: Team, start: dt.date = START, end: dt.date = END) -> AIImpact:
    return get_ai_impact.compute(team=team, start_date=start, end_date=end)


def merged_pr(team, author=None, *, cycle: str | None = "24.00", review: str | None = "4.00", lines: int = 40, **fields):
    """A PR merged at MERGED (or `merged_at`), opened `cycle` hours before (or at `pr_created_at`)."""
    merged_at = fields.pop("merged_at", MERGED)
    created = fields.pop("pr_created_at", merged_at - dt.timedelta(hours=float(cycle or 24)))
    return PullRequestFactory(
        team=team,
        author=author if author is not None else TeamMemberFactory(team=team),
        merged_at=merged_at,
        pr_created_at=created,
        cycle_time_hours=None if cycle is None else Decimal(cycle),
        review_time_hours=None if review is None else Decimal(review),
        additions=lines,
        deletions=0,
        **fields,
    )


def stats(label: str, prs: int, *, cycle=(0, None, None), review=(0, None), quality=(0, None), size=None) -> GroupStats:
    """A group's expected figures: cycle (n, median, p75), review (n, median), quality (n, mean), median size."""

    def dec(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return GroupStats(
        label=label,
        prs=prs,
        cycle_times=cycle[0],
        median_cycle_hours=dec(cycle[1]),
        p75_cycle_hours=dec(cycle[2]),
        review_times=review[0],
        median_review_hours=dec(review[1]),
        ratings=quality[0],
        mean_quality=dec(quality[1]),
        median_size=dec(size),
    )


def too_few(noun: str, count: int) -> str:
    return f"Too few {noun} ({count}) to compare; at least 10 are needed."


# --- figures ------------------------------------------------------------------------------------------


def test_figures_per_group_computed_by_hand(team):
    """Counts, interpolated median and p75 (rounded half up: 1.025 -> 1.03), median first review over reviewed
    PRs only, mean quality over every rating (unrated answers left out), median size; n for each sample."""
    ana, bo = TeamMemberFactory(team=team), TeamMemberFactory(team=team)
    # Said AI-assisted, all by Ana: cycles 10/20/30/40, one PR never reviewed, sizes 10/20/31/40.
    ai_prs = [
        merged_pr(team, ana, cycle="10.00", review="4.00", lines=10),
        merged_pr(team, ana, cycle="20.00", review="4.00", lines=20),
        merged_pr(team, ana, cycle="30.00", review="8.00", lines=31),
        merged_pr(team, ana, cycle="40.00", review=None, lines=40),
    ]
    surveys = [PRSurveyFactory(pull_request=pr, author_ai_assisted=True) for pr in ai_prs]
    for survey, rating in ((surveys[0], 3), (surveys[0], 2), (surveys[1], 3), (surveys[2], None)):
        PRSurveyReviewFactory(survey=survey, quality_rating=rating)
    # Said not: 1.00 and 1.05 hours, one of them Ana's.
    for author, cycle, lines in ((bo, "1.00", 7), (ana, "1.05", 8)):
        PRSurveyFactory(pull_request=merged_pr(team, author, cycle=cycle, review=None, lines=lines), author_ai_assisted=False)
    # No answer: one PR never surveyed, one surveyed and not answered yet.
    merged_pr(team, bo, cycle=None, review="2.00", lines=100)
    PRSurveyFactory(pull_request=merged_pr(team, bo, cycle="5.00", review=None, lines=200), author_ai_assisted=None)
    # Ana accepted suggestions on the day every PR of hers was merged; Bo only saw some, or used Cursor, or
    # accepted some before his PRs were opened.
    AIUsageDailyFactory(team=team, member=ana, date=MERGED.date(), suggestions_accepted=30)
    AIUsageDailyFactory(team=team, member=bo, date=MERGED.date(), suggestions_shown=50, suggestions_accepted=0)
    AIUsageDailyFactory(team=team, member=bo, date=MERGED.date(), source=AIUsageDaily.Source.CURSOR, suggestions_accepted=5)
    AIUsageDailyFactory(team=team, member=bo, date=dt.date(2026, 11, 10), suggestions_accepted=9)

    result = impact(team)

    assert result.prs == 8
    assert result.by_survey.groups == (
        stats("AI-assisted", 4, cycle=(4, "25.00", "32.50"), review=(3, "4.00"), quality=(3, "2.67"), size="25.50"),
        stats("Not AI-assisted", 2, cycle=(2, "1.03", "1.04"), size="7.50"),
        stats("No answer", 2, cycle=(1, "5.00", "5.00"), review=(1, "2.00"), size="150.00"),
    )
    # Ana's five PRs: cycles 1.05/10/20/30/40; Bo's three: 1.00, none, 5.00.
    assert result.by_copilot.groups == (
        stats("Copilot used", 5, cycle=(5, "20.00", "30.00"), review=(3, "4.00"), quality=(3, "2.67"), size="20.00"),
        stats("No Copilot", 3, cycle=(2, "3.00", "4.00"), review=(1, "2.00"), size="100.00"),
    )
    assert result.by_survey.apart is not None and result.by_copilot.apart is None


def test_only_merged_prs_count(team):
    """Open and closed PRs are no part of either grouping, whatever their survey or Copilot days."""
    merged = merged_pr(team)
    for state in (PullRequest.State.OPEN, PullRequest.State.CLOSED):
        PRSurveyFactory(pull_request=merged_pr(team, state=state), author_ai_assisted=True)
    AIUsageDailyFactory(team=team, member=merged.author, date=MERGED.date())

    result = impact(team)

    assert (result.prs, result.by_survey.ai.prs, result.by_copilot.ai.prs) == (1, 0, 1)


# --- team-local days ----------------------------------------------------------------------------------


def local(day: int, hour: int, minute: int = 0, *, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


def test_the_range_is_whole_team_local_days_as_the_other_cards_bound_it():
    """New York team, Nov 10-20: merged 23:30 local on the 20th counts, 00:10 on the 21st does not; the first
    local instant of the 10th counts, the last one of the 9th does not. The key metrics count the same PRs."""
    team = TeamFactory(timezone="America/New_York")
    inside = [local(20, 23, 30), local(10, 0)]
    outside = [local(21, 0, 10), local(10, 0) - dt.timedelta(microseconds=1)]
    for merged_at in inside:
        merged_pr(team, cycle="2.00", merged_at=merged_at)
    for merged_at in outside:
        merged_pr(team, cycle="100.00", merged_at=merged_at)
    start, end = dt.date(2026, 11, 10), dt.date(2026, 11, 20)

    result = impact(team, start, end)

    assert result.prs == 2
    assert result.by_copilot.other.median_cycle_hours == Decimal("2.00")
    key_metrics = dashboard.get_key_metrics_with_previous(team=team, start_date=start, end_date=end)
    assert key_metrics["current"]["prs_merged"] == result.prs


def test_copilot_days_are_the_team_local_days_from_opening_to_merge():
    """New York team. Opened 23:30 local on the 17th (the 18th in UTC): a Copilot day on the 17th counts. Merged
    20:00 local on the 18th (the 19th in UTC): a Copilot day on the 19th does not, nor one the day before
    opening. A day strictly between opening and merge counts."""
    team = TeamFactory(timezone="America/New_York")
    ana, bo, cy = (TeamMemberFactory(team=team) for _ in range(3))
    merged_pr(team, ana, pr_created_at=local(17, 23, 30), merged_at=local(18, 0, 30), lines=1)
    merged_pr(team, bo, pr_created_at=local(18, 0, 10), merged_at=local(18, 20), lines=2)
    merged_pr(team, cy, pr_created_at=local(15, 10), merged_at=local(18, 10), lines=3)
    AIUsageDailyFactory(team=team, member=ana, date=dt.date(2026, 11, 17), suggestions_accepted=1)
    AIUsageDailyFactory(team=team, member=bo, date=dt.date(2026, 11, 19), suggestions_accepted=1)
    AIUsageDailyFactory(team=team, member=bo, date=dt.date(2026, 11, 17), suggestions_accepted=1)
    AIUsageDailyFactory(team=team, member=cy, date=dt.date(2026, 11, 16), suggestions_accepted=1)

    result = impact(team)

    assert (result.by_copilot.ai.prs, result.by_copilot.ai.median_size) == (2, Decimal("2.00"))
    assert (result.by_copilot.other.prs, result.by_copilot.other.median_size) == (1, Decimal("2.00"))


# --- tenant isolation ---------------------------------------------------------------------------------


def test_another_teams_prs_usage_surveys_and_ratings_never_count(team, other_team):
    """Another team's PRs, surveys and ratings, and Copilot usage recorded under another team (even for this
    team's author, or on this team's survey) are not seen; a survey of another team on this team's PR is no
    answer here."""
    ana = TeamMemberFactory(team=team, display_name="Ana", github_username="ana")
    twin = TeamMemberFactory(team=other_team, display_name="Ana", github_username="ana")
    ours = merged_pr(team, ana, lines=10)
    foreign_survey = PRSurveyFactory(pull_request=ours, team=other_team, author_ai_assisted=True)
    PRSurveyReviewFactory(survey=foreign_survey, team=other_team, quality_rating=3)
    AIUsageDailyFactory(team=other_team, member=ana, date=MERGED.date(), suggestions_accepted=99)
    for _ in range(3):
        theirs = merged_pr(other_team, twin, lines=500)
        PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=theirs, author_ai_assisted=True), quality_rating=1)
    AIUsageDailyFactory(team=other_team, member=twin, date=MERGED.date(), suggestions_accepted=99)

    result = impact(team)

    assert result.prs == 1
    assert [group.prs for group in result.by_survey.groups] == [0, 0, 1]
    assert [group.prs for group in result.by_copilot.groups] == [0, 1]
    assert result.by_survey.apart == stats("No answer", 1, cycle=(1, "24.00", "24.00"), review=(1, "4.00"), size="10.00")
    theirs_seen = impact(other_team)
    assert (theirs_seen.prs, theirs_seen.by_survey.ai.prs, theirs_seen.by_copilot.ai.prs) == (3, 3, 3)
    assert (theirs_seen.by_survey.ai.ratings, theirs_seen.by_survey.ai.mean_quality) == (3, Decimal("1.00"))


# --- too small, empty ---------------------------------------------------------------------------------


def surveyed(team, count: int, *, ai: bool, copilot: bool) -> None:
    for _ in range(count):
        pr = merged_pr(team)
        PRSurveyFactory(pull_request=pr, author_ai_assisted=ai)
        if copilot:
            AIUsageDailyFactory(team=team, member=pr.author, date=MERGED.date())


def test_a_group_under_ten_prs_gets_a_plain_note(team):
    """4 AI-assisted against 12: the survey grouping says the AI side is too small, the Copilot grouping (nobody
    used it) says the same of its Copilot side; the larger sides need no note."""
    surveyed(team, 4, ai=True, copilot=False)
    surveyed(team, 12, ai=False, copilot=False)

    result = impact(team)

    assert result.by_survey.notes == (too_few("AI-assisted PRs", 4),)
    assert result.by_survey.notes[0] == "Too few AI-assisted PRs (4) to compare; at least 10 are needed."
    assert result.by_copilot.notes == (too_few("PRs with Copilot activity", 0),)
    assert not result.by_survey.comparable and not result.by_copilot.comparable


def test_ten_prs_on_each_side_are_enough_and_nine_are_not(team):
    """The threshold is MIN_GROUP_SIZE (10) PRs on each compared side; the survey's "no answer" PRs need none."""
    surveyed(team, MIN_GROUP_SIZE, ai=True, copilot=True)
    surveyed(team, MIN_GROUP_SIZE - 1, ai=False, copilot=False)
    merged_pr(team)

    nine = impact(team)
    surveyed(team, 1, ai=False, copilot=False)
    ten = impact(team)

    assert nine.by_survey.notes == (too_few("PRs answered not AI-assisted", 9),)
    assert nine.by_copilot.comparable
    assert ten.by_survey.comparable and ten.by_survey.notes == ()
    assert (ten.by_survey.apart.prs, ten.by_copilot.other.prs) == (1, 11)


def test_an_empty_range_has_zero_counts_no_figures_and_every_note(team):
    """No merged PR in the range (usage and PRs outside it exist): every count 0, every figure None."""
    pr = merged_pr(team, merged_at=dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    AIUsageDailyFactory(team=team, member=pr.author, date=dt.date(2026, 11, 2))

    result = impact(team)

    assert result.prs == 0
    for grouping in result.groupings:
        for group in grouping.groups:
            assert group == stats(group.label, 0)
    assert result.by_survey.notes == (too_few("AI-assisted PRs", 0), too_few("PRs answered not AI-assisted", 0))
    assert result.by_copilot.notes == (too_few("PRs with Copilot activity", 0), too_few("PRs without Copilot activity", 0))


# --- queries and cache --------------------------------------------------------------------------------


def busy_team(team, members: int) -> None:
    """Each member: three merged PRs (surveyed yes, no, unanswered; each rated twice) and two Copilot days."""
    people = [TeamMemberFactory(team=team) for _ in range(members)]
    for position, person in enumerate(people):
        for ai in (True, False, None):
            survey = PRSurveyFactory(pull_request=merged_pr(team, person, lines=position), author_ai_assisted=ai)
            for reviewer in (people[(position + 1) % members], people[(position + 2) % members]):
                PRSurveyReviewFactory(survey=survey, reviewer=reviewer, quality_rating=2)
        for day in (17, 18):
            AIUsageDailyFactory(team=team, member=person, date=dt.date(2026, 11, day))


@pytest.mark.parametrize("members", [3, 24])
def test_one_query_whatever_the_team_size(team, django_assert_num_queries, members):
    busy_team(team, members)

    with django_assert_num_queries(1):
        result = impact(team)

    assert result.prs == 3 * members


@pytest.mark.parametrize("members", [3, 24])
def test_cached_like_the_cards_the_stamp_and_the_query_cold_the_stamp_warm(team, django_assert_num_queries, members):
    busy_team(team, members)

    with django_assert_num_queries(2):
        cold = get_ai_impact(team=team, start_date=START, end_date=END)
    with django_assert_num_queries(1):
        warm = get_ai_impact(team=team, start_date=START, end_date=END)
    with django_assert_num_queries(2):
        other_range = get_ai_impact(team=team, start_date=START, end_date=dt.date(2026, 11, 17))

    assert warm == cold == impact(team)
    assert other_range.prs == 0


def test_a_write_to_the_team_is_seen_by_the_next_call(team):
    surveyed(team, 2, ai=True, copilot=False)
    get_ai_impact(team=team, start_date=START, end_date=END)

    surveyed(team, 1, ai=True, copilot=False)

    assert get_ai_impact(team=team, start_date=START, end_date=END).by_survey.ai.prs == 3


# --- on the page --------------------------------------------------------------------------------------


def test_the_dashboard_shows_both_groupings_with_samples_and_notes(member_client, team):
    """The card sits before the team breakdown, names both groupings and their groups, shows n and the note."""
    today = dt.datetime.now(tz=UTC).replace(hour=12, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    for _ in range(3):
        PRSurveyFactory(pull_request=merged_pr(team, merged_at=today), author_ai_assisted=True)
    for _ in range(11):
        PRSurveyFactory(pull_request=merged_pr(team, merged_at=today), author_ai_assisted=False)

    html = member_client.get(f"/app/{team.slug}/").content.decode()

    assert html.index('id="ai-impact"') < html.index('id="team-breakdown"')
    for text in (
        "By the author&#x27;s survey answer",
        "By the author&#x27;s Copilot activity",
        "AI-assisted",
        "Not AI-assisted",
        "No answer",
        "Copilot used",
        "No Copilot",
        "n = 14",
        "Too few AI-assisted PRs (3) to compare; at least 10 are needed.",
    ):
        assert text in html


def test_the_dashboard_card_says_when_the_range_has_no_merged_pr(member_client, team):
    html = member_client.get(f"/app/{team.slug}/").content.decode()
    card = html[html.index('id="ai-impact"') : html.index('id="team-breakdown"')]

    assert "No merged PRs in this range." in card


# --- generated teams against plain Python -------------------------------------------------------------


def percentile(values: list[Decimal], fraction: Decimal) -> Decimal | None:
    """Linear interpolation between the closest ranks, as percentile_cont does, in exact decimals."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return round2(ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower))


def python_figures(team: Team, start: dt.date, end: dt.date) -> dict[str, dict]:
    """Each group's figures, computed row by row from the team's rows as the card's rules read."""
    low, high = day_range(team, start, end)
    zone = team.tzinfo
    answers = {survey.pull_request_id: survey for survey in PRSurvey.objects.filter(team=team)}
    ratings: dict[int, list[int]] = defaultdict(list)
    for rating in PRSurveyReview.objects.filter(team=team).select_related("survey"):
        if rating.quality_rating is not None and rating.survey.team_id == team.pk:
            ratings[rating.survey.pull_request_id].append(rating.quality_rating)
    copilot_days = {
        (usage.member_id, usage.date)
        for usage in AIUsageDaily.objects.filter(team=team)
        if usage.source == AIUsageDaily.Source.COPILOT and usage.suggestions_accepted > 0
    }
    groups: dict[str, list[PullRequest]] = defaultdict(list)
    for pr in PullRequest.objects.filter(team=team):
        if pr.state != PullRequest.State.MERGED or pr.merged_at is None or not low <= pr.merged_at < high:
            continue
        if pr.author is not None and pr.author.is_bot:
            continue
        survey = answers.get(pr.pk)
        answer = None if survey is None else survey.author_ai_assisted
        groups[{True: "survey_ai", False: "survey_not", None: "survey_none"}[answer]].append(pr)
        opened, merged = pr.pr_created_at.astimezone(zone).date(), pr.merged_at.astimezone(zone).date()
        days = [opened + dt.timedelta(days=n) for n in range((merged - opened).days + 1)]
        used = pr.author_id is not None and any((pr.author_id, day) in copilot_days for day in days)
        groups["copilot_yes" if used else "copilot_no"].append(pr)

    def figures(prs: list[PullRequest]) -> dict:
        cycles = [pr.cycle_time_hours for pr in prs if pr.cycle_time_hours is not None]
        reviews = [pr.review_time_hours for pr in prs if pr.review_time_hours is not None]
        rated = [rating for pr in prs for rating in ratings[pr.pk]]
        return {
            "prs": len(prs),
            "cycle_times": len(cycles),
            "median_cycle_hours": percentile(cycles, Decimal("0.5")),
            "p75_cycle_hours": percentile(cycles, Decimal("0.75")),
            "review_times": len(reviews),
            "median_review_hours": percentile(reviews, Decimal("0.5")),
            "ratings": len(rated),
            "mean_quality": round2(Decimal(sum(rated)) / len(rated)) if rated else None,
            "median_size": percentile([Decimal(pr.additions + pr.deletions) for pr in prs], Decimal("0.5")),
        }

    return {key: figures(groups[key]) for key in ("survey_ai", "survey_not", "survey_none", "copilot_yes", "copilot_no")}


def sql_figures(result: AIImpact) -> dict[str, dict]:
    def figures(group: GroupStats) -> dict:
        return {name: value for name, value in asdict(group).items() if name != "label"}

    survey, copilot = result.by_survey, result.by_copilot
    assert survey.apart is not None
    return {
        "survey_ai": figures(survey.ai),
        "survey_not": figures(survey.other),
        "survey_none": figures(survey.apart),
        "copilot_yes": figures(copilot.ai),
        "copilot_no": figures(copilot.other),
    }


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, DateRange]:
    zone = draw(st.sampled_from(ZONES))
    span = draw(date_ranges(zone, draw(st.sampled_from(SEASONS))))
    days = span.data_days()
    spec = draw(
        team_specs(
            zone=zone, days=days, merged_at=span.boundary_moments(), prs=(0, 14), usage=days, members=(1, 5)
        )
    )
    return spec, span


@property_settings(max_examples=40)
@given(case=cases())
def test_generated_teams_match_a_plain_python_computation(case):
    """Any team, range, zone and season (offset changes included): the one query gives, group by group, what a
    row-by-row Python computation over the same rows gives (exact percentiles, half-up rounding, team-local
    range and Copilot days, another team's twin rows left out)."""
    spec, span = case
    with example_savepoint():
        built = build_team(spec)
        result = impact(built.team, span.start, span.end)
        assert sql_figures(result) == python_figures(built.team, span.start, span.end)
        assert result.prs == result.by_copilot.ai.prs + result.by_copilot.other.prs


def test_prs_by_bots_are_left_out_of_both_groupings(team):
    """A bot's merged PRs count in the team's figures but not here: it neither answers surveys nor uses Copilot."""
    bot = TeamMemberFactory(team=team, github_username="dependabot[bot]", display_name="dependabot")
    human = TeamMemberFactory(team=team)
    PRSurveyFactory(pull_request=merged_pr(team, human), author_ai_assisted=False)
    for _ in range(3):
        merged_pr(team, bot)

    impact = get_ai_impact(team=team, start_date=START, end_date=END)

    assert (impact.prs, impact.by_survey.other.prs, impact.by_survey.apart.prs) == (1, 1, 0)
    assert (impact.by_copilot.ai.prs, impact.by_copilot.other.prs) == (0, 1)
