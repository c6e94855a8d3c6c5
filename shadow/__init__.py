"""Dual-run verification of legacy/optimized pairs: dispatch, sampling, comparison, evidence.

Entry points: `shadow.registry` (all(), get(name)), `shadow.compare(name, team=…, **kwargs)`,
and each pair object itself, called with the pair's keyword arguments.
"""


def compare(name: str, *, team, **kwargs):
    """Run both sides of pair `name` now, with writes isolated, and return the Comparison."""
    from shadow.runner import compare_now

    return compare_now(name, team=team, **kwargs)
