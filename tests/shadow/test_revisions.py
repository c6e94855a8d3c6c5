"""Evidence is tied to the code it judged: each side's revision, and a gate that counts only the current revisions."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from flags.errors import GateRefusedError
from flags.services import enable_for_teams
from shadow.models import DailyEvidence, ShadowRecord
from shadow.pairs import Pair
from shadow.revisions import fingerprint
from tests.factories import DailyEvidenceFactory

PAIR = "test.pair"

HELPERS = '''
LIMIT = 10

def clamp(value):
    return min(value, LIMIT)
'''

SIDE = '''
from revisionpkg import helpers
from revisionpkg.helpers import clamp


def total(*, team, values):
    """Sum, clamped."""
    return clamp(sum(values))


def via_module(*, team, values):
    return helpers.clamp(len(values))


def outside(*, team, values):
    return sorted(values)
'''


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package `revisionpkg` with a side module and a helper module; write(name, text) rewrites and reloads."""
    root = tmp_path / "revisionpkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, text: str):
        """Rewrite one module, then (re)load helpers and side in that order, as a new deploy would."""
        (root / f"{name}.py").write_text(textwrap.dedent(text))
        importlib.invalidate_caches()
        loaded = []
        for module_name in ("revisionpkg.helpers", "revisionpkg.side"):
            if not (root / f"{module_name.split('.')[1]}.py").exists():
                continue
            module = sys.modules.get(module_name)
            loaded.append(importlib.reload(module) if module else importlib.import_module(module_name))
        return loaded[-1]

    write("helpers", HELPERS)
    yield write
    for name in [name for name in sys.modules if name.startswith("revisionpkg")]:
        del sys.modules[name]


def revisions_of(side_module):
    return {name: fingerprint(getattr(side_module, name)) for name in ("total", "via_module", "outside")}


def test_docstrings_comments_and_line_numbers_do_not_change_a_revision(package):
    side = package("side", SIDE)
    before = revisions_of(side)

    side = package("side", "\n\n# moved down\n" + SIDE.replace('"""Sum, clamped."""', '"""Reworded."""'))

    assert revisions_of(side) == before


def test_changing_the_code_changes_the_revision(package):
    side = package("side", SIDE)
    before = revisions_of(side)

    side = package("side", SIDE.replace("return clamp(sum(values))", "return clamp(sum(values) + 1)"))

    after = revisions_of(side)
    assert after["total"] != before["total"]
    assert after["via_module"] == before["via_module"]


@pytest.mark.parametrize("change", [
    HELPERS.replace("min(value, LIMIT)", "max(value, LIMIT)"),
    HELPERS.replace("LIMIT = 10", "LIMIT = 11"),
])
def test_a_helper_of_the_same_package_is_part_of_the_revision(package, change):
    """Reached by name or through its module, a helper's code and the module-level values it reads count."""
    side = package("side", SIDE)
    before = revisions_of(side)

    side = package("helpers", change)

    after = revisions_of(side)
    assert after["total"] != before["total"]
    assert after["via_module"] != before["via_module"]
    # Code outside the package (builtins here) is not part of it, and this side calls no helper.
    assert after["outside"] == before["outside"]


def test_an_explicit_revision_is_carried_by_both_sides():
    def side(*, team):
        return 1

    assert Pair(name=PAIR, legacy=side, optimized=side, revision="v2.4").revisions() == {
        "legacy": "v2.4", "optimized": "v2.4"
    }


# --- evidence and the gate ------------------------------------------------------------------


def legacy_count(*, team):
    return 1


def optimized_count(*, team):
    return 1


def optimized_count_rewritten(*, team):
    return int("1")


@pytest.fixture
def gate(settings):
    settings.SHADOW_MIN_COMPARISONS = 5


@pytest.mark.django_db
def test_a_sampled_call_records_both_revisions_in_evidence_records_and_sentry(
    make_pair, sample_everything, team, sentry_events
):
    pair = make_pair(legacy=legacy_count, optimized=lambda *, team: 2)
    revisions = pair.revisions()

    pair(team=team)

    row = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    record = ShadowRecord.objects.get(pair_name=PAIR)
    assert (row.legacy_revision, row.optimized_revision) == (revisions["legacy"], revisions["optimized"])
    assert (record.legacy_revision, record.optimized_revision) == (revisions["legacy"], revisions["optimized"])
    assert len(revisions["optimized"]) == 12 and revisions["legacy"] != revisions["optimized"]
    [event] = sentry_events.wait_for_events(1)
    assert event["tags"]["shadow.optimized_revision"] == revisions["optimized"]
    assert event["tags"]["shadow.legacy_revision"] == revisions["legacy"]


@pytest.mark.django_db
def test_a_code_change_resets_readiness_and_the_gate_says_why(make_pair, gate, team):
    """Clean evidence for the old optimized code does not count for the new one."""
    old = make_pair(legacy=legacy_count, optimized=optimized_count)
    old_revisions = old.revisions()
    DailyEvidenceFactory(pair_name=PAIR, team=team, runs=8, matches=8)
    from shadow import pairs
    pairs.unregister(PAIR)
    pairs.register(Pair(name=PAIR, legacy=legacy_count, optimized=optimized_count_rewritten))

    with pytest.raises(GateRefusedError) as refused:
        enable_for_teams(name=PAIR, teams=[team], actor="tests")

    message = str(refused.value)
    assert "0 of 5 comparisons in the last 7 days for the current revision" in message
    assert f"evidence is for an older revision (8 comparisons before optimized {pairs.get(PAIR).revisions()['optimized']}" in message
    # Back to the old code: its evidence counts again.
    pairs.unregister(PAIR)
    pairs.register(old)
    assert old.revisions() == old_revisions
    enable_for_teams(name=PAIR, teams=[team], actor="tests")


@pytest.mark.django_db
def test_evidence_rows_of_two_revisions_on_one_day_are_kept_apart(make_pair, sample_everything, team):
    from shadow import pairs

    make_pair(legacy=legacy_count, optimized=optimized_count)
    pairs.get(PAIR)(team=team)
    pairs.unregister(PAIR)
    pairs.register(Pair(name=PAIR, legacy=legacy_count, optimized=optimized_count_rewritten))
    pairs.get(PAIR)(team=team)
    pairs.get(PAIR)(team=team)

    assert sorted(DailyEvidence.objects.filter(pair_name=PAIR).values_list("runs", flat=True)) == [1, 2]
