import pytest

from flags.registry import ROLLOUT_FLAGS, RolloutFlag

TEST_FLAG = "test.rollout"


@pytest.fixture
def rollout_flag():
    """A test-only rollout flag, declared in the registry for this test only. Yields its name."""
    with ROLLOUT_FLAGS.temporarily(RolloutFlag(TEST_FLAG, "Test-only flag", owner="tests")):
        yield TEST_FLAG


@pytest.fixture(autouse=True)
def _no_pairs():
    """Flags are tested on their own: no pair is registered, so no readiness gate applies here.

    The gate's interplay with flags is tested in tests/shadow/ with test-only pairs.
    """
    from shadow import pairs as registry

    saved = {pair.name: pair for pair in registry.all()}
    for name in saved:
        registry.unregister(name)
    yield
    for pair in saved.values():
        if pair.name not in registry.names():
            registry.register(pair)
