"""Property-based contract cases of metrics.reviewer_workload: generated reviews and ranges, legacy against optimized.

The data and the way each example runs (its own rolled-back savepoint, each side in one more) are
described in tests/support/strategies.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.models import PRReview
from apps.metrics.services import dashboard
from tests.factories import PRReviewFactory, PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.support.strategies import (
    SEASONS,
    ZONES,
    DateRange,
    TeamSpec,
    build_team,
    date_ranges,
    example_savepoint,
    property_settings,
    run_both,
    team_specs,
)

pytestmark = pytest.mark.django_db

PAIR = dashboard.get_reviewer_workload


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, DateRange]:
    zone = draw(st.sampled_from(ZONES))
    span = draw(date_ranges(zone, draw(st.sampled_from(SEASONS))))
    # Reviews are submitted at instants around both bounds (local midnight, a microsecond before, UTC midnight…).
    spec = draw(team_specs(zone=zone, days=span.data_days(), prs=(1, 12), surveys=False, reviews=True))
    return spec, span


@property_settings(max_examples=50)
@given(case=cases())
def test_both_sides_agree_on_generated_reviews(case):
    """Rows, counts, workloads and order agree, whatever the reviews (bots, other teams' twins) and the range."""
    spec, span = case
    with example_savepoint():
        built = build_team(spec)
        run_both(PAIR, {"team": built.team, "start_date": span.start, "end_date": span.end})


DAY = dt.date(2026, 11, 18)
# Names that tie, and that order differently by codepoint and by locale.
TIED_NAMES = ("Sam", "sam", "Zoe", "ana", "Émilie", "")


@st.composite
def review_counts(draw: st.DrawFn) -> list[tuple[str, int]]:
    """2 to 12 reviewers with few names and small counts, so means land on the 0.5 × and 1.5 × thresholds often."""
    size = draw(st.integers(2, 12))
    names = draw(st.lists(st.sampled_from(TIED_NAMES), min_size=size, max_size=size))
    counts = draw(st.lists(st.integers(1, 6), min_size=size, max_size=size))
    return list(zip(names, counts))


@property_settings(max_examples=40)
@given(reviewers=review_counts(), zone=st.sampled_from(ZONES), order=st.randoms(use_true_random=False))
def test_thresholds_and_ties_agree(reviewers, zone, order):
    """Small review counts and shared names: both sides agree on every workload (exact thresholds) and on the ties.

    Reviews are inserted in a shuffled order.
    """
    with example_savepoint():
        team = TeamFactory(timezone=zone)
        pr = PullRequestFactory(team=team)
        members = [TeamMemberFactory(team=team, display_name=name) for name, _count in reviewers]
        submissions = [member for member, (_name, count) in zip(members, reviewers) for _ in range(count)]
        order.shuffle(submissions)
        noon = dt.datetime.combine(DAY, dt.time(12), tzinfo=team.tzinfo)
        for member in submissions:
            PRReviewFactory(pull_request=pr, reviewer=member, submitted_at=noon, state=PRReview.State.COMMENTED)

        legacy, _optimized = run_both(PAIR, {"team": team, "start_date": DAY, "end_date": DAY})

        assert sorted((row["member_id"], row["reviews"]) for row in legacy.value) == sorted(
            (member.pk, count) for member, (_name, count) in zip(members, reviewers)
        )
