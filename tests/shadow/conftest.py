from __future__ import annotations

from contextlib import ExitStack

import pytest

from flags.registry import ROLLOUT_FLAGS, RolloutFlag
from shadow import pairs as registry
from shadow.pairs import Pair


@pytest.fixture
def make_pair():
    """Declare a test-only pair and its rollout flag for this test: make_pair(name=…, legacy=…, optimized=…, **options)."""
    with ExitStack() as stack:

        def make(name: str = "test.pair", *, legacy, optimized, **options) -> Pair:
            stack.enter_context(ROLLOUT_FLAGS.temporarily(RolloutFlag(name, "Test-only pair", owner="tests")))
            return stack.enter_context(registry.temporarily(Pair(name=name, legacy=legacy, optimized=optimized, **options)))

        yield make


@pytest.fixture
def sample_everything(settings):
    """Every call is a sampled call (SHADOW_DEFAULT_RATE = 1)."""
    settings.SHADOW_DEFAULT_RATE = 1


@pytest.fixture(autouse=True)
def _only_test_pairs():
    """The shadow machinery is tested with test-only pairs: the app's own pairs are set aside meanwhile.

    The app's pairs are registered at start-up (the metrics and integrations AppConfig.ready),
    so these tests would otherwise see them next to their own.
    """
    saved = registry.all()
    for pair in saved:
        registry.unregister(pair.name)
    yield
    for pair in saved:
        if pair.name not in registry.names():
            registry.register(pair)
