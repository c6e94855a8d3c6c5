import pytest

from flags.registry import ROLLOUT_FLAGS, RolloutFlag

TEST_FLAG = "test.rollout"


@pytest.fixture
def rollout_flag():
    """A test-only rollout flag, declared in the registry for this test only. Yields its name."""
    with ROLLOUT_FLAGS.temporarily(RolloutFlag(TEST_FLAG, "Test-only flag", owner="tests")):
        yield TEST_FLAG
