"""The runner's guarantees to the caller: dispatch by flag, and a shadow that never breaks the call.

Every test pair here is built from tests/shadow/sides.py: sides log their
calls into a list, so "which side ran" is read from the log, not inferred.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection

import shadow
from apps.metrics.models import TeamMember
from flags.services import enable_for_teams
from shadow import evidence as evidence_store
from shadow import pairs as registry
from shadow.errors import ShadowMismatchError
from shadow.models import DailyEvidence, ShadowRecord
from shadow.testing import force_side
from tests.factories import TeamMemberFactory
from tests.shadow.sides import Side, invalid_sql, sleeper

PAIR = "test.pair"


def evidence(team) -> DailyEvidence:
    return DailyEvidence.objects.get(pair_name=PAIR, team=team)


def flip_on(team) -> None:
    enable_for_teams(name=PAIR, teams=[team], actor="tests", reason="testing dispatch", force=True)


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


# --- dispatch -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_flag_off_legacy_serves_and_an_unsampled_call_runs_only_legacy(make_pair, settings, team):
    """Flag off, rate 0: the legacy side answers, and the optimized side is never called."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="from legacy"),
        optimized=Side("optimized", log, value="from optimized"),
    )

    assert pair(team=team) == "from legacy"
    assert log == ["legacy"]


@pytest.mark.django_db
def test_flag_on_optimized_serves_and_an_unsampled_call_runs_only_optimized(make_pair, settings, team, other_team):
    """Flipping the flag on for one team makes the optimized side answer for that team only."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="from legacy"),
        optimized=Side("optimized", log, value="from optimized"),
    )
    flip_on(team)

    assert pair(team=team) == "from optimized"
    assert pair(team=other_team) == "from legacy"
    assert log == ["optimized", "legacy"]


@pytest.mark.django_db
def test_an_unsampled_call_records_no_evidence(make_pair, settings, team):
    """Without sampling nothing is compared, so nothing is stored."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value=1), optimized=Side("optimized", log, value=2))

    pair(team=team)

    assert DailyEvidence.objects.count() == 0
    assert ShadowRecord.objects.count() == 0


# --- the shadow side fails: the caller never notices ------------------------------------------------


@pytest.mark.django_db
def test_a_raising_shadow_side_leaves_the_served_result_and_records_an_error(make_pair, sample_everything, team):
    """Legacy serves; the optimized shadow raises: the caller gets legacy's value, the error is evidence."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value=["row"]), optimized=Side("optimized", log, error=ValueError("shadow broke"))
    )

    assert pair(team=team) == ["row"]

    row = evidence(team)
    assert (row.runs, row.matches, row.mismatches, row.errors, row.timeouts) == (1, 0, 0, 1, 0)
    assert (row.optimized_errors, row.optimized_served_mismatches) == (0, 0)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served, record.error) == ("error", "legacy", "optimized: ValueError: shadow broke")


@pytest.mark.django_db
def test_a_shadow_side_looping_over_slow_queries_is_cut_off_at_its_budget(make_pair, sample_everything, team):
    """100 queries of pg_sleep(0.05) against a 200 ms budget: stopped after at most 4, recorded as a timeout.

    Each sleep takes at least 50 ms, so after 4 the budget is spent and the
    meter refuses the next query: the caller waits for a handful of sleeps,
    never for 100 (5 s).
    """
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="served"),
        optimized=sleeper(log, seconds=0.05, times=100),
        time_budget_ms=200,
    )

    assert pair(team=team) == "served"

    sleeps = log.count("sleep")
    assert sleeps <= 4
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.error) == ("timeout", "optimized: timed out")
    # The meter counted exactly the sleeps that ran: the refused query never reached the server.
    assert record.optimized_measurement["queries"] == sleeps
    row = evidence(team)
    assert (row.runs, row.timeouts, row.errors, row.matches) == (1, 1, 0, 0)
    assert statement_timeout() == "0"


@pytest.mark.django_db
def test_a_single_slow_statement_in_the_shadow_is_cancelled_by_the_statement_timeout(
    make_pair, sample_everything, team
):
    """`SELECT pg_sleep(5)` against a 200 ms budget is cancelled by the server; the caller's session is unchanged."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="served"), optimized=sleeper(log, seconds=5, times=1), time_budget_ms=200
    )

    assert pair(team=team) == "served"

    assert log.count("sleep") == 0
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.error) == ("timeout", "optimized: timed out")
    assert evidence(team).timeouts == 1
    # SET LOCAL statement_timeout was undone with the shadow's savepoint.
    assert statement_timeout() == "0"
    assert TeamMemberFactory(team=team).pk is not None


@pytest.mark.django_db
def test_a_comparator_error_is_recorded_and_the_caller_gets_the_served_result(
    make_pair, sample_everything, team, monkeypatch
):
    """When comparing the two results raises, the call still returns the served value; the error is evidence."""

    def broken_compare(*args, **kwargs):
        raise RuntimeError("cannot compare")

    monkeypatch.setattr("shadow.judging.compare", broken_compare)
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value=7), optimized=Side("optimized", log, value=7))

    assert pair(team=team) == 7

    record = ShadowRecord.objects.get()
    assert (record.outcome, record.error) == ("error", "comparator: RuntimeError: cannot compare")
    row = evidence(team)
    assert (row.runs, row.errors, row.matches) == (1, 1, 0)


@pytest.mark.django_db
def test_a_failing_evidence_write_is_logged_and_leaves_the_caller_and_its_transaction_intact(
    make_pair, sample_everything, team, monkeypatch, caplog
):
    """The upsert fails in the database itself: logged, the call returns normally, and later queries still work."""
    monkeypatch.setattr(evidence_store, "UPSERT", "INSERT INTO shadow_no_such_table VALUES (%s)")
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value="served"), optimized=Side("optimized", log, value="served"))

    with caplog.at_level(logging.ERROR, logger="shadow.reporters"):
        assert pair(team=team) == "served"

    assert [record.getMessage() for record in caplog.records] == [
        "Shadow reporter could not store evidence for test.pair"
    ]
    assert caplog.records[0].exc_info[0].__name__ == "ProgrammingError"
    assert DailyEvidence.objects.count() == 0
    assert TeamMemberFactory(team=team).pk is not None


# --- the served side fails ----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, 1], ids=["unsampled", "sampled"])
@pytest.mark.django_db
def test_legacy_serving_and_raising_reaches_the_caller_as_the_same_exception(make_pair, settings, team, rate):
    """What legacy raises is what the caller gets: the very same exception object, sampled or not."""
    settings.SHADOW_DEFAULT_RATE = rate
    error = LookupError("no such report")
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, error=error), optimized=Side("optimized", log, value=[]))

    with pytest.raises(LookupError) as raised:
        pair(team=team)

    assert raised.value is error
    assert str(raised.value) == "no such report"


@pytest.mark.django_db
def test_legacy_raising_on_a_sampled_call_is_recorded_as_an_error(make_pair, sample_everything, team):
    """Sampled: legacy raises, optimized answers; the disagreement is an error in the evidence."""
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, error=LookupError("gone")), optimized=Side("optimized", log, value=[]))

    with pytest.raises(LookupError):
        pair(team=team)

    assert sorted(log) == ["legacy", "optimized"]
    assert (evidence(team).runs, evidence(team).errors) == (1, 1)
    assert ShadowRecord.objects.get().error == "legacy: LookupError: gone"


@pytest.mark.django_db
def test_optimized_serving_and_raising_falls_back_to_legacy_unsampled(make_pair, settings, team):
    """Unsampled, optimized serves and raises: legacy's answer is returned and the error is recorded."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="legacy answer"), optimized=Side("optimized", log, error=KeyError("member"))
    )

    with force_side(PAIR, "optimized"):
        assert pair(team=team) == "legacy answer"

    assert log == ["optimized", "legacy"]
    row = evidence(team)
    assert (row.runs, row.errors, row.optimized_errors, row.matches) == (0, 1, 1, 0)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served) == ("error", "optimized")
    assert record.error == "optimized (serving, fell back to legacy): KeyError: 'member'"


@pytest.mark.django_db
def test_optimized_serving_and_raising_falls_back_to_legacy_sampled(make_pair, sample_everything, team):
    """Sampled, optimized serves and raises: legacy (already run as the shadow) answers; the error is recorded once."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="legacy answer"), optimized=Side("optimized", log, error=KeyError("member"))
    )

    with force_side(PAIR, "optimized"):
        assert pair(team=team) == "legacy answer"

    assert sorted(log) == ["legacy", "optimized"]
    row = evidence(team)
    assert (row.runs, row.errors, row.optimized_errors, row.matches) == (1, 1, 1, 0)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served, record.error) == ("error", "optimized", "optimized: KeyError: 'member'")


@pytest.mark.parametrize("rate", [0, 1], ids=["unsampled", "sampled"])
@pytest.mark.django_db
def test_optimized_sql_failing_inside_the_callers_transaction_does_not_break_it(make_pair, settings, team, rate):
    """The optimized side's invalid SQL is rolled back to its savepoint: legacy queries, and so does the caller."""
    settings.SHADOW_DEFAULT_RATE = rate
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value="legacy answer", queries=2), optimized=invalid_sql(log))

    with force_side(PAIR, "optimized"):
        assert pair(team=team) == "legacy answer"

    assert sorted(log) == ["invalid-sql", "legacy"]
    assert TeamMemberFactory(team=team, display_name="After").display_name == "After"
    assert evidence(team).optimized_errors == 1


# --- test helpers ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_raise_on_mismatch_makes_a_mismatching_sampled_call_raise(make_pair, sample_everything, settings, team):
    """SHADOW_RAISE_ON_MISMATCH turns a recorded mismatch into ShadowMismatchError in the test, after storing it."""
    settings.SHADOW_RAISE_ON_MISMATCH = True
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value={"total": 3}),
        optimized=Side("optimized", log, value={"total": 4}),
    )

    with pytest.raises(ShadowMismatchError, match=r"^test\.pair: \.total: 3 != 4$"):
        pair(team=team)

    assert evidence(team).mismatches == 1


@pytest.mark.django_db
def test_raise_on_mismatch_lets_matching_calls_through(make_pair, sample_everything, settings, team):
    """With SHADOW_RAISE_ON_MISMATCH, agreeing sides return normally."""
    settings.SHADOW_RAISE_ON_MISMATCH = True
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value={"total": 3}),
        optimized=Side("optimized", log, value={"total": 3}),
    )

    assert pair(team=team) == {"total": 3}


@pytest.mark.django_db
def test_force_side_overrides_the_flag_in_both_directions(make_pair, settings, team):
    """force_side serves the named side whatever the flag says, and only inside its block."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value="L"), optimized=Side("optimized", log, value="O"))

    with force_side(PAIR, "optimized"):
        forced_on = pair(team=team)
    flip_on(team)
    with force_side(PAIR, "legacy"):
        forced_off = pair(team=team)
    unforced = pair(team=team)

    assert (forced_on, forced_off, unforced) == ("O", "L", "O")


def test_force_side_rejects_an_unknown_side():
    """Only "legacy" and "optimized" can be forced."""
    with pytest.raises(ValueError, match="side must be 'legacy' or 'optimized'"), force_side(PAIR, "both"):
        pass


# --- shadow.compare: on demand ------------------------------------------------------------------


@pytest.mark.django_db
def test_compare_returns_the_verdict_diff_and_both_measurements_and_stores_evidence(make_pair, settings, team):
    """shadow.compare runs both sides now (whatever the rate) and records the run with served "none"."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    make_pair(
        legacy=Side("legacy", log, value={"prs": 2}, queries=3),
        optimized=Side("optimized", log, value={"prs": 5}, queries=1),
    )

    comparison = shadow.compare(PAIR, team=team)

    assert comparison.matched is False
    assert comparison.outcome == "mismatch"
    assert comparison.diff == [".prs: 2 != 5"]
    assert (comparison.legacy.measurement.queries, comparison.optimized.measurement.queries) == (3, 1)
    assert (comparison.legacy.value, comparison.optimized.value) == ({"prs": 2}, {"prs": 5})
    assert sorted(log) == ["legacy", "optimized"]
    row = evidence(team)
    assert (row.runs, row.mismatches, row.optimized_served_mismatches) == (1, 1, 0)
    record = ShadowRecord.objects.get()
    assert (record.served, record.outcome, record.call_arguments) == ("none", "mismatch", {"team_id": team.pk})


@pytest.mark.django_db
def test_compare_of_agreeing_sides_matches(make_pair, team):
    """Equal results: matched, an empty diff, one match in the evidence and no record."""
    log: list[str] = []
    make_pair(legacy=Side("legacy", log, value=[1, 2]), optimized=Side("optimized", log, value=(1, 2)))

    comparison = shadow.compare(PAIR, team=team)

    assert (comparison.matched, comparison.diff) == (True, [])
    assert (evidence(team).runs, evidence(team).matches) == (1, 1)
    assert ShadowRecord.objects.count() == 0


@pytest.mark.django_db
def test_both_sides_raising_the_same_error_is_a_match(make_pair, team):
    """Both sides refusing the same input with the same error agree."""
    log: list[str] = []
    make_pair(
        legacy=Side("legacy", log, error=ValueError("end before start")),
        optimized=Side("optimized", log, error=ValueError("end before start")),
    )

    comparison = shadow.compare(PAIR, team=team)

    assert comparison.outcome == "match"
    assert (evidence(team).matches, evidence(team).errors) == (1, 0)


@pytest.mark.django_db
def test_sides_raising_different_errors_is_an_error(make_pair, team):
    """Different exception messages are a disagreement, recorded as an error with both sides named."""
    log: list[str] = []
    make_pair(
        legacy=Side("legacy", log, error=ValueError("end before start")),
        optimized=Side("optimized", log, error=ValueError("bad range")),
    )

    comparison = shadow.compare(PAIR, team=team)

    assert comparison.outcome == "error"
    assert comparison.error_text == "legacy: ValueError: end before start; optimized: ValueError: bad range"


@pytest.mark.django_db
def test_a_sampled_call_whose_legacy_and_optimized_raise_alike_counts_a_match_and_still_raises(
    make_pair, sample_everything, team
):
    """The caller still gets legacy's exception; the evidence counts the agreement as a match."""
    log: list[str] = []
    make_pair(
        legacy=Side("legacy", log, error=ValueError("end before start")),
        optimized=Side("optimized", log, error=ValueError("end before start")),
    )

    with pytest.raises(ValueError, match="end before start"):
        registry.get(PAIR)(team=team)

    assert (evidence(team).runs, evidence(team).matches, evidence(team).errors) == (1, 1, 0)


@pytest.mark.django_db
def test_compare_runs_both_sides_isolated(make_pair, team):
    """shadow.compare leaves no trace of what either side did to the database."""
    def writes_a_member(*, team):
        return TeamMemberFactory(team=team, display_name="Temporary").pk is not None

    make_pair(legacy=writes_a_member, optimized=writes_a_member)

    comparison = shadow.compare(PAIR, team=team)

    assert comparison.matched is True
    assert TeamMember.objects.filter(team=team).count() == 0
