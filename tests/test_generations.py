"""Generation-stamped keys: a stale value stored after an invalidation is never read."""

from tformance import generations


def test_a_value_stored_under_an_old_generation_is_not_read_after_a_bump():
    """The race the stamps close: read old rows, writer invalidates, reader stores the old rows anyway."""
    cache = generations.default_cache()
    key_before = generations.stamped("rows", "flag:x")
    generations.bump("flag:x")  # the writer's on-commit invalidation
    cache.set(key_before, "stale rows")  # the slow reader stores what it read before the commit
    key_after = generations.stamped("rows", "flag:x")
    assert key_after != key_before
    assert cache.get(key_after) is None


def test_generations_are_per_name():
    """Invalidating one flag leaves the others' cached values in place."""
    untouched = generations.stamped("rows", "flag:y")
    generations.bump("flag:x")
    assert generations.stamped("rows", "flag:y") == untouched


def test_a_lost_counter_restarts_ahead_of_the_old_one():
    """If the counter is evicted, the new generation comes from the clock, past any handed out before."""
    before = generations.current("flag:z")
    generations.default_cache().delete(generations._generation_key("flag:z"))
    assert generations.current("flag:z") > before
