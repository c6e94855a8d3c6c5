"""Benchmarks at scale: legacy, optimized, the SQL floor and the shadow runner's cost, side by side.

Run with `make bench` (size S) or `make bench SIZE=L`; see bench/__main__.py.
Not part of the test run, except for tests/bench/test_smoke.py at the TINY size.
"""
