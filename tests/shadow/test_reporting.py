"""Where comparisons go: one evidence upsert per sampled call, records of what went wrong, and Sentry events.

Sentry tests use the real SDK sending to a real loopback receiver
(`sentry_events`), so what is asserted is what would reach Sentry.
"""

from __future__ import annotations

import logging
import re
import socket
from collections import Counter

import pytest
import sentry_sdk
from django.db import connection

import flags
from apps.metrics.models import TeamMember
from shadow import sampling
from shadow.evidence import evidence_for, upsert_day
from shadow.measure import Measurement
from shadow.models import DailyEvidence, ShadowRecord
from shadow.testing import force_side
from tests.factories import TeamMemberFactory
from tests.shadow.sides import Side, make_queries

PAIR = "test.pair"
PERSONAL = (b"Ada Lovelace", b"ADA LOVELACE", b"ada@example.org")


def evidence(team) -> DailyEvidence:
    return DailyEvidence.objects.get(pair_name=PAIR, team=team)


def statement_kind(sql: str) -> str:
    """A statement without its savepoint name or column list, e.g. "SAVEPOINT" or "INSERT INTO shadow_shadowrecord"."""
    sql = " ".join(sql.split())
    for kind in ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "SET LOCAL statement_timeout"):
        if re.match(kind + r"\b", sql):
            return kind
    if "set_config('lock_timeout'" in sql:
        return "evidence timeouts"
    if sql.startswith("INSERT INTO "):
        return "INSERT INTO " + sql.split()[2].strip('"')
    # A SELECT: named by its table.
    return sql.split(" FROM ")[1].split()[0].strip('"')


def warm(team) -> None:
    """The rollout decision and the rate lookup are cached after one call: zero queries from here on."""
    flags.is_enabled(PAIR, team=team)
    sampling.should_sample(PAIR, team)


# --- database: evidence and records -------------------------------------------------------------


@pytest.mark.django_db
def test_a_sampled_matching_call_writes_one_upsert_and_nothing_else(
    make_pair, sample_everything, team, django_assert_num_queries
):
    """13 statements, every one accounted for (flag and rates warm, legacy serving):

    legacy served:     2 queries
    optimized shadow:  SAVEPOINT, SET LOCAL statement_timeout, 1 query, ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT
    evidence:          SAVEPOINT, short timeouts set, the upsert, the argument set's upsert, the caller's timeouts
                       put back, RELEASE SAVEPOINT
    """
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value=1, queries=2),
        optimized=Side("optimized", log, value=1, queries=1),
    )
    warm(team)

    with django_assert_num_queries(13) as captured:
        pair(team=team)

    assert Counter(statement_kind(query["sql"]) for query in captured.captured_queries) == {
        "teams_team": 3,
        "SAVEPOINT": 2,
        "SET LOCAL statement_timeout": 1,
        "ROLLBACK TO SAVEPOINT": 1,
        "RELEASE SAVEPOINT": 2,
        "evidence timeouts": 2,
        "INSERT INTO shadow_dailyevidence": 1,
        "INSERT INTO shadow_argumentset": 1,
    }


@pytest.mark.django_db
def test_a_sampled_mismatching_call_adds_one_record_insert(
    make_pair, sample_everything, team, django_assert_num_queries
):
    """A mismatch costs one more statement than a match: the ShadowRecord insert (14 in all)."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value=1, queries=2),
        optimized=Side("optimized", log, value=2, queries=1),
    )
    warm(team)

    with django_assert_num_queries(14) as captured:
        pair(team=team)

    kinds = Counter(statement_kind(query["sql"]) for query in captured.captured_queries)
    assert (kinds["INSERT INTO shadow_dailyevidence"], kinds["INSERT INTO shadow_shadowrecord"]) == (1, 1)


@pytest.mark.django_db
def test_a_sampled_call_with_optimized_serving_accounts_for_every_statement(
    make_pair, sample_everything, team, django_assert_num_queries
):
    """15 statements with optimized serving (flag on, warm):

    optimized served:  SAVEPOINT, 1 query, RELEASE SAVEPOINT
    legacy shadow:     SAVEPOINT, SET LOCAL statement_timeout, 2 queries, ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT
    evidence:          SAVEPOINT, short timeouts set, the upsert, the argument set's upsert, the caller's timeouts
                       put back, RELEASE SAVEPOINT
    (the guarded-rollback check needs no query below its threshold)
    """
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value=1, queries=2),
        optimized=Side("optimized", log, value=1, queries=1),
    )
    warm(team)

    with force_side(PAIR, "optimized"), django_assert_num_queries(15) as captured:
        pair(team=team)

    assert Counter(statement_kind(query["sql"]) for query in captured.captured_queries) == {
        "teams_team": 3,
        "SAVEPOINT": 3,
        "SET LOCAL statement_timeout": 1,
        "ROLLBACK TO SAVEPOINT": 1,
        "RELEASE SAVEPOINT": 3,
        "evidence timeouts": 2,
        "INSERT INTO shadow_dailyevidence": 1,
        "INSERT INTO shadow_argumentset": 1,
    }


def outcome_side(log: list[str]):
    """The optimized side of the counters test: agrees, disagrees, raises or sleeps past its budget on request."""

    def optimized(*, team, outcome):
        log.append("optimized")
        make_queries(team, 1)
        if outcome == "error":
            raise ValueError("optimized failed")
        if outcome == "timeout":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(2)")
        return "other" if outcome == "mismatch" else "same"

    return optimized


@pytest.mark.django_db
def test_counters_and_histograms_add_up_over_several_calls(make_pair, sample_everything, team):
    """3 matches, 2 mismatches, 1 error and 1 timeout: one row whose counters and histograms sum exactly.

    Legacy makes 2 queries per call, optimized 1. A side that failed has no
    timings in the histograms, so optimized is measured 5 times, legacy 7.
    """
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="same", queries=2), optimized=outcome_side(log), time_budget_ms=300
    )

    for outcome in ["match", "mismatch", "match", "error", "timeout", "mismatch", "match"]:
        pair(team=team, outcome=outcome)

    row = evidence(team)
    assert (row.runs, row.matches, row.mismatches, row.errors, row.timeouts) == (7, 3, 2, 1, 1)
    assert (row.optimized_served_mismatches, row.optimized_errors, row.measured_runs) == (0, 0, 5)
    assert (row.legacy_queries_total, row.optimized_queries_total) == (14, 5)
    assert row.legacy_queries_histogram[:4] == [0, 0, 7, 0]
    assert row.optimized_queries_histogram[:4] == [0, 5, 0, 0]
    assert (sum(row.legacy_queries_histogram), sum(row.optimized_queries_histogram)) == (7, 5)
    assert (sum(row.legacy_ms_histogram), sum(row.optimized_ms_histogram)) == (7, 5)
    assert Counter(ShadowRecord.objects.values_list("outcome", flat=True)) == {"mismatch": 2, "error": 1, "timeout": 1}


@pytest.mark.django_db
def test_a_side_that_failed_adds_no_timings(make_pair, sample_everything, team):
    """Legacy raised after 2 queries: its run says nothing about its speed, so only optimized's run is counted."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, error=LookupError("gone"), queries=2),
        optimized=Side("optimized", log, value=1, queries=1),
    )

    with pytest.raises(LookupError):
        pair(team=team)

    row = evidence(team)
    assert (row.runs, row.errors, row.measured_runs) == (1, 1, 0)
    assert (row.legacy_queries_total, sum(row.legacy_queries_histogram), sum(row.legacy_ms_histogram)) == (0, 0, 0)
    assert (row.optimized_queries_total, sum(row.optimized_queries_histogram)) == (1, 1)


@pytest.mark.django_db
def test_percentiles_come_from_the_histograms(team):
    """18 legacy runs of 4 ms / 2 queries and 2 of 40 ms / 12 queries: p50 5 ms, p95 50 ms (bucket upper bounds)."""
    fast = Measurement(wall_ms=4.0, cpu_ms=1.0, queries=2, query_ms=1.0)
    slow = Measurement(wall_ms=40.0, cpu_ms=1.0, queries=12, query_ms=30.0)
    optimized = Measurement(wall_ms=0.4, cpu_ms=0.2, queries=1, query_ms=0.1)
    for legacy in [fast] * 18 + [slow] * 2:
        upsert_day(pair_name=PAIR, team_id=team.pk, runs=1, matches=1, legacy=legacy, optimized=optimized)

    item = evidence_for(PAIR, [team.pk])[team.pk]

    assert (item.runs, item.comparisons) == (20, 20)
    assert (item.p50_ms("legacy"), item.p95_ms("legacy")) == (5, 50)
    assert (item.p50_queries("legacy"), item.p95_queries("legacy")) == (2, 12)
    assert (item.p50_ms("optimized"), item.p95_ms("optimized")) == (0.5, 0.5)
    assert (item.p50_queries("optimized"), item.p95_queries("optimized")) == (1, 1)
    # 4 ms falls in the bucket up to 5 ms (index 4), 40 ms in the one up to 50 ms (index 10).
    assert (item.legacy_ms[4], item.legacy_ms[10], sum(item.legacy_ms)) == (18, 2, 20)


@pytest.mark.django_db
def test_a_time_above_every_bucket_lands_in_the_last_one(team):
    """A 20 s run is counted in the overflow bucket; the percentile says "above the last bound"."""
    upsert_day(
        pair_name=PAIR, team_id=team.pk, runs=1, matches=1,
        legacy=Measurement(wall_ms=20_000.0, cpu_ms=1.0, queries=2000, query_ms=1.0),
        optimized=Measurement(wall_ms=1.0, cpu_ms=1.0, queries=1, query_ms=1.0),
    )

    row = evidence(team)
    item = evidence_for(PAIR, [team.pk])[team.pk]

    assert (row.legacy_ms_histogram[-1], row.legacy_queries_histogram[-1]) == (1, 1)
    assert (item.p50_ms("legacy"), item.p50_queries("legacy")) == (float("inf"), float("inf"))


@pytest.mark.django_db
def test_evidence_for_a_team_without_runs_is_empty(team):
    """No rows: zero counts and no percentile."""
    item = evidence_for(PAIR, [team.pk])[team.pk]

    assert (item.runs, item.comparisons, item.p50_ms("legacy"), item.p95_queries("optimized")) == (0, 0, None, None)


def personal_pair(make_pair, log: list[str], *, optimized_value=None, optimized_error=None, **options):
    """legacy lists the team's members by name; optimized shouts the names (or raises)."""

    def names(*, team):
        return [{"member_name": member.display_name, "prs": 1} for member in TeamMember.objects.filter(team=team)]

    def shouted(*, team):
        return [{"member_name": row["member_name"].upper(), "prs": 2} for row in names(team=team)]

    return make_pair(
        legacy=Side("legacy", log, value=names),
        optimized=Side("optimized", log, value=optimized_value or shouted, error=optimized_error),
        **options,
    )


@pytest.mark.django_db
def test_a_mismatch_stores_a_record_with_the_unredacted_diff(make_pair, sample_everything, team):
    """Staff-only records keep the real values, so the difference can be understood."""
    TeamMemberFactory(team=team, display_name="Ada Lovelace")
    pair = personal_pair(make_pair, [])

    pair(team=team)

    record = ShadowRecord.objects.get()
    assert (record.pair_name, record.team_id, record.outcome, record.served, record.error) == (
        PAIR, team.pk, "mismatch", "legacy", ""
    )
    assert record.diff == [
        {"path": "[0].member_name", "line": "[0].member_name: 'Ada Lovelace' != 'ADA LOVELACE'",
         "redacted": "[0].member_name: [redacted] != [redacted]",
         "legacy": "'Ada Lovelace'", "optimized": "'ADA LOVELACE'",
         "legacy_redacted": "[redacted]", "optimized_redacted": "[redacted]"},
        {"path": "[0].prs", "line": "[0].prs: 1 != 2", "redacted": "[0].prs: 1 != 2",
         "legacy": "1", "optimized": "2", "legacy_redacted": "1", "optimized_redacted": "2"},
    ]
    assert (record.legacy_measurement["queries"], record.optimized_measurement["queries"]) == (1, 1)
    assert record.call_arguments == {"team_id": team.pk}


# --- Sentry --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_mismatch_sends_one_redacted_event_grouped_per_pair(make_pair, sample_everything, team, sentry_events):
    """One event: pair, team and served tags, the per-pair fingerprint, the redacted diff and both measurements."""
    TeamMemberFactory(team=team, display_name="Ada Lovelace", email="ada@example.org")
    pair = personal_pair(make_pair, [])

    pair(team=team)

    [event] = sentry_events.wait_for_events(1)
    assert event["message"] == "Shadow mismatch in test.pair"
    assert event["level"] == "warning"
    assert {key: event["tags"][key] for key in ("shadow.pair", "team", "served")} == {
        "shadow.pair": "test.pair", "team": "acme", "served": "legacy"
    }
    assert event["fingerprint"] == ["shadow-mismatch", "test.pair"]
    context = event["contexts"]["shadow"]
    assert context["diff"] == ["[0].member_name: [redacted] != [redacted]", "[0].prs: 1 != 2"]
    assert context["differences"] == 2
    assert (context["measurements"]["legacy"]["queries"], context["measurements"]["optimized"]["queries"]) == (1, 1)
    assert set(context["measurements"]["legacy"]) == {"wall_ms", "cpu_ms", "queries", "query_ms"}
    assert [value for value in PERSONAL if value in sentry_events.raw_bytes] == []


@pytest.mark.django_db
def test_mismatches_of_one_pair_for_two_teams_share_a_fingerprint(
    make_pair, sample_everything, team, other_team, sentry_events
):
    """Grouped per pair, told apart by the team tag."""
    TeamMemberFactory(team=team, display_name="Ada Lovelace")
    TeamMemberFactory(team=other_team, display_name="Grace Hopper")
    pair = personal_pair(make_pair, [])

    pair(team=team)
    pair(team=other_team)

    events = sentry_events.wait_for_events(2)
    assert [event["fingerprint"] for event in events] == [["shadow-mismatch", "test.pair"]] * 2
    assert sorted(event["tags"]["team"] for event in events) == ["acme", "globex"]
    assert b"Grace Hopper" not in sentry_events.raw_bytes


@pytest.mark.django_db
def test_matched_runs_send_no_event(make_pair, sample_everything, team, sentry_events):
    """Three matching calls, then one mismatch: the mismatch is the only event that ever arrives."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value=lambda team, n: n),
        optimized=Side("optimized", log, value=lambda team, n: min(n, 3)),
    )

    for n in (1, 2, 3):
        pair(team=team, n=n)
    sentry_sdk.flush(timeout=5)
    assert sentry_events.events == []
    pair(team=team, n=4)

    events = sentry_events.wait_for_events(1)
    assert [event["message"] for event in events] == ["Shadow mismatch in test.pair"]
    assert len(log) == 8


@pytest.mark.django_db
def test_a_shadow_error_event_names_exception_types_only(make_pair, sample_everything, team, sentry_events):
    """A failing shadow side is reported by exception type: its message may quote personal data."""
    TeamMemberFactory(team=team, display_name="Ada Lovelace")
    pair = personal_pair(make_pair, [], optimized_error=ValueError("no avatar for Ada Lovelace"))

    pair(team=team)

    [event] = sentry_events.wait_for_events(1)
    assert event["fingerprint"] == ["shadow-error", "test.pair"]
    assert event["contexts"]["shadow"]["failed_sides"] == {"optimized": "ValueError"}
    assert b"Ada Lovelace" not in sentry_events.raw_bytes


@pytest.mark.django_db
def test_a_serving_error_event_keeps_the_stack_but_not_the_message(make_pair, settings, team, sentry_events):
    """Optimized serving and raising: an exception event (types and frames, its cause too) without their text."""
    settings.SHADOW_DEFAULT_RATE = 0
    TeamMemberFactory(team=team, display_name="Ada Lovelace", email="ada@example.org")
    error = ValueError("no avatar for Ada Lovelace")
    error.__cause__ = LookupError("ada@example.org")
    pair = personal_pair(make_pair, [], optimized_error=error)

    with force_side(PAIR, "optimized"):
        assert pair(team=team) == [{"member_name": "Ada Lovelace", "prs": 1}]

    [event] = sentry_events.wait_for_events(1)
    assert event["fingerprint"] == ["shadow-serving-error", "test.pair", "ValueError"]
    assert {key: event["tags"][key] for key in ("shadow.pair", "team", "served")} == {
        "shadow.pair": "test.pair", "team": "acme", "served": "optimized"
    }
    assert [(exception["type"], exception["value"]) for exception in event["exception"]["values"]] == [
        ("LookupError", ""), ("ValueError", "")
    ]
    assert event["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "__call__"
    assert [value for value in PERSONAL if value in sentry_events.raw_bytes] == []


@pytest.fixture
def unreachable_sentry():
    """The real SDK pointed at a loopback port nobody listens on."""
    from tformance.sentry import init_sentry

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    init_sentry(dsn=f"http://public@127.0.0.1:{port}/1", environment="test", traces_sample_rate=0)
    try:
        yield port
    finally:
        client = sentry_sdk.get_client()
        client.close()
        sentry_sdk.init(dsn=None)


@pytest.mark.django_db
def test_an_unreachable_sentry_leaves_the_caller_and_the_evidence_alone(
    make_pair, sample_everything, team, unreachable_sentry, caplog
):
    """Sending happens off the request: the call returns, evidence is stored, the refused connection is logged."""
    TeamMemberFactory(team=team, display_name="Ada Lovelace")
    pair = personal_pair(make_pair, [])

    with caplog.at_level(logging.WARNING):
        result = pair(team=team)
        sentry_sdk.flush(timeout=5)

    assert result == [{"member_name": "Ada Lovelace", "prs": 1}]
    assert evidence(team).mismatches == 1
    refused = [record for record in caplog.records if "Connection refused" in record.getMessage()]
    assert refused[0].levelno == logging.WARNING
    assert f"port={unreachable_sentry}" in refused[0].getMessage()


@pytest.mark.django_db
def test_a_raising_sentry_call_is_logged_and_the_caller_unaffected(
    make_pair, sample_everything, team, monkeypatch, caplog
):
    """Even a synchronous failure inside the SDK stays in the reporter: logged, evidence kept."""

    def broken(*args, **kwargs):
        raise RuntimeError("sdk broke")

    monkeypatch.setattr(sentry_sdk, "capture_message", broken)
    TeamMemberFactory(team=team, display_name="Ada Lovelace")
    pair = personal_pair(make_pair, [])

    with caplog.at_level(logging.ERROR, logger="shadow.reporters"):
        result = pair(team=team)

    assert result == [{"member_name": "Ada Lovelace", "prs": 1}]
    assert [record.getMessage() for record in caplog.records] == [
        "Shadow reporter could not report to Sentry for test.pair"
    ]
    assert evidence(team).mismatches == 1
