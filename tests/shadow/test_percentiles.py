"""Percentiles read from the latency histograms: the bucket's bound (the gate, `rollout status`) and the
estimate interpolated inside the bucket (the console)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shadow.evidence import estimate_percentile, percentile
from shadow.models import MS_BUCKETS

histograms = st.lists(st.integers(min_value=0, max_value=50), min_size=len(MS_BUCKETS) + 1, max_size=len(MS_BUCKETS) + 1)
fractions = st.floats(min_value=0.01, max_value=1.0)


def test_samples_spread_evenly_inside_their_bucket():
    """Ten samples in (30, 50]: the p50 halfway, the p95 near the top; one sample in (0, 0.5]: p50 0.25."""
    histogram = [0] * (len(MS_BUCKETS) + 1)
    histogram[MS_BUCKETS.index(50)] = 10
    assert estimate_percentile(histogram, MS_BUCKETS, 0.5) == 40.0
    assert estimate_percentile(histogram, MS_BUCKETS, 0.95) == 49.0
    first = [1] + [0] * len(MS_BUCKETS)
    assert estimate_percentile(first, MS_BUCKETS, 0.5) == 0.25


def test_no_samples_and_the_open_last_bucket():
    assert estimate_percentile([0] * (len(MS_BUCKETS) + 1), MS_BUCKETS, 0.5) is None
    assert estimate_percentile([0] * len(MS_BUCKETS) + [3], MS_BUCKETS, 0.5) == float("inf")


@given(histograms, fractions)
def test_the_estimate_lies_inside_the_bucket_whose_bound_the_gate_reads(histogram, fraction):
    bound = percentile(histogram, MS_BUCKETS, fraction)
    estimate = estimate_percentile(histogram, MS_BUCKETS, fraction)
    if bound is None:
        assert estimate is None
    elif bound == float("inf"):
        assert estimate == float("inf")
    else:
        index = MS_BUCKETS.index(bound)
        lower = MS_BUCKETS[index - 1] if index else 0.0
        assert lower <= estimate <= bound


@given(histograms, fractions, fractions)
def test_a_higher_fraction_never_gives_a_lower_estimate(histogram, first, second):
    low, high = sorted((first, second))
    if sum(histogram):
        assert estimate_percentile(histogram, MS_BUCKETS, low) <= estimate_percentile(histogram, MS_BUCKETS, high)
