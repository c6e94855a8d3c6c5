"""Start-up checks on pairs (signatures, flags) and SHADOW_* settings; the registry's contract."""

from __future__ import annotations

import pytest

from shadow import pairs as registry
from shadow.checks import check_pairs, check_shadow_settings
from shadow.errors import UnknownPairError
from shadow.pairs import Pair


def legacy_side(*, team, start: int, end: int = 10) -> list:
    return []


def same_signature(*, team, start: int, end: int = 10) -> list:
    return []


def other_default(*, team, start: int, end: int = 11) -> list:
    return []


def positional(team, start: int, end: int = 10) -> list:
    return []


def no_team(*, start: int, end: int = 10) -> list:
    return []


def test_matching_keyword_only_signatures_pass(make_pair):
    """A pair whose sides share one keyword-only signature with team raises no error."""
    make_pair(legacy=legacy_side, optimized=same_signature)
    assert check_pairs() == []


def test_a_different_default_is_a_signature_error(make_pair):
    """Even a default value must match: both sides answer the same calls."""
    make_pair(legacy=legacy_side, optimized=other_default)
    [error] = check_pairs()
    assert error.id == "shadow.E001"
    assert "end: 'int' = 10" in error.msg and "end: 'int' = 11" in error.msg


def test_positional_parameters_are_refused(make_pair):
    """Pairs are called with keywords only, so a positional parameter is an error."""
    make_pair(legacy=positional, optimized=positional)
    assert {error.msg.split(": ", 1)[1] for error in check_pairs()} == {
        "parameter 'team' is not keyword-only",
        "parameter 'start' is not keyword-only",
        "parameter 'end' is not keyword-only",
    }


def test_a_pair_needs_a_team_parameter(make_pair):
    """Every pair is scoped by team."""
    make_pair(legacy=no_team, optimized=no_team)
    assert [error.msg for error in check_pairs()] == ["Pair 'test.pair': no keyword-only 'team' parameter"]


def test_a_pair_needs_a_rollout_flag_of_its_name():
    """A pair whose name is not a registered flag cannot be switched: shadow.E002."""
    with registry.temporarily(Pair(name="test.flagless", legacy=legacy_side, optimized=same_signature)):
        assert [error.id for error in check_pairs()] == ["shadow.E002"]


def test_the_registry_lists_and_finds_pairs(make_pair):
    """all() lists pairs by name, get() returns one with its callables, an unknown name lists the known ones."""
    pair = make_pair(legacy=legacy_side, optimized=same_signature)
    assert pair in registry.all()
    assert (registry.get("test.pair").legacy, registry.get("test.pair").optimized) == (legacy_side, same_signature)
    with pytest.raises(UnknownPairError, match="test.pair"):
        registry.get("test.nope")


def test_registering_a_name_twice_is_refused(make_pair):
    """One pair per name."""
    make_pair(legacy=legacy_side, optimized=same_signature)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Pair(name="test.pair", legacy=legacy_side, optimized=same_signature))


def test_bad_settings_are_reported(settings):
    """Out-of-range or mistyped SHADOW_* settings fail the start-up check."""
    settings.SHADOW_DEFAULT_RATE = 1.5
    settings.SHADOW_TIME_BUDGET_MS = 0
    settings.SHADOW_RAISE_ON_MISMATCH = "yes"
    assert sorted(error.id for error in check_shadow_settings()) == ["shadow.E003", "shadow.E003", "shadow.E004"]


def test_default_settings_pass():
    """The shipped defaults are valid."""
    assert check_shadow_settings() == []
