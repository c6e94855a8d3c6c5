"""The console's pages beyond the overview: each team's state named with its cause, one pair and team
(charts, audit history, records), the records list (filters, paging) and one record (both sides labelled)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from flags import services
from shadow import sampling
from shadow.gate import Failures, roll_back_if_needed
from shadow.models import MS_BUCKETS
from tests.factories import DailyEvidenceFactory, ShadowRecordFactory, TeamFactory
from tests.shadow.sides import constant_legacy, constant_optimized
from tests.support.operators import operator

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
SETUP = "system:test-setup"



@pytest.fixture
def pair(make_pair, settings):
    settings.SHADOW_MIN_COMPARISONS = 5
    settings.SHADOW_ROLLBACK_THRESHOLD = 2
    return make_pair(PAIR, legacy=constant_legacy, optimized=constant_optimized)



@pytest.fixture
def ops_client(client):
    client.force_login(operator("shadow.view_personal"))
    return client


def states(client) -> dict[str, tuple[str, str]]:
    """team slug → (state, its cause line) on the overview, for PAIR."""
    [row] = [pair for pair in client.get("/ops/shadow/").context["pairs"] if pair.name == PAIR]
    return {
        team.team.slug: (team.state, f"{team.change.actor}: {team.change.reason}" if team.change else "")
        for team in row.teams
    }


# --- state and its cause --------------------------------------------------------------------------


def test_every_state_is_named_with_its_cause(ops_client, pair):
    """off, listed, in percentage, on for everyone, blocked, killed, auto-rolled back: each with who and why."""
    never, listed, blocked, rolled_back = (TeamFactory(slug=slug) for slug in ("a-never", "b-listed", "c-blocked", "d-auto"))
    services.enable_for_teams(name=PAIR, teams=[listed, blocked, rolled_back], actor=SETUP, reason="first teams", force=True)
    services.disable_for_teams(name=PAIR, teams=[blocked], actor="user:olga", reason="slower than legacy")
    assert roll_back_if_needed(PAIR, rolled_back.pk, Failures(mismatches=2, errors=0))

    found = states(ops_client)

    assert found["a-never"] == ("off", "")
    assert found["b-listed"][0] == "listed"
    assert found["b-listed"][1].startswith(f"{SETUP}: FORCED past readiness gate")
    assert found["c-blocked"] == ("blocked", "user:olga: slower than legacy")
    assert found["d-auto"] == (
        "auto-rolled back",
        "system:auto-rollback: 2 mismatches and 0 optimized errors today while optimized served (threshold 2)",
    )
    page = ops_client.get("/ops/shadow/").content.decode()
    assert '<span class="pill state high">auto-rolled back</span>' in page

    services.set_everyone(name=PAIR, everyone=False, actor="user:olga", reason="incident 42")
    assert {state for state, _ in states(ops_client).values()} == {"killed"}
    assert states(ops_client)["b-listed"] == ("killed", "user:olga: incident 42")

    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="all in", force=True)
    found = states(ops_client)
    assert found["a-never"][0] == "on for everyone"
    # A team's own block still wins over "everyone on", and keeps its own cause.
    assert found["c-blocked"] == ("blocked", "user:olga: slower than legacy")


def test_a_team_inside_the_percentage_says_so(ops_client, pair):
    """With 99.9 % every team not listed is on "in percentage"; a rate change is not mistaken for the cause."""
    team = TeamFactory(slug="p-team")
    services.set_percent(name=PAIR, percent="99.9", actor="user:olga", reason="wide", force=True)
    sampling.set_rate(pair_name=PAIR, rate="0.5", team=team, actor="user:olga", reason="denser")
    assert ops_client.get("/ops/shadow/").context["pairs"][0].teams[0].rate == "0.5"

    state, cause = states(ops_client)[team.slug]

    assert state == "in percentage"
    assert cause.startswith("user:olga: FORCED past readiness gate")


# --- one pair and team ------------------------------------------------------------------------------


def test_the_pair_team_page_draws_the_window_and_lists_history_and_records(ops_client, pair, team, other_team):
    """Three SVG charts over the window (7 days here), the day table, this team's and flag-wide audit entries
    newest first (not other teams'), and this pair and team's records only."""
    today = timezone.now().date()
    histogram = [0] * (len(MS_BUCKETS) + 1)
    histogram[MS_BUCKETS.index(50)] = 4
    DailyEvidenceFactory(pair_name=PAIR, team=team, day=today - dt.timedelta(days=2), matches=3, mismatches=1,
                         runs=4, legacy_ms_histogram=histogram)
    DailyEvidenceFactory(pair_name=PAIR, team=team, day=today, matches=5, runs=5)
    services.enable_for_teams(name=PAIR, teams=[other_team], actor=SETUP, reason="other team", force=True)
    services.disable_for_teams(name=PAIR, teams=[team], actor="user:olga", reason="mine")
    services.set_everyone(name=PAIR, everyone=False, actor="user:olga", reason="flag-wide")
    mine = ShadowRecordFactory(pair_name=PAIR, team=team)
    ShadowRecordFactory(pair_name=PAIR, team=other_team)
    ShadowRecordFactory(pair_name="other.pair", team=team)

    response = ops_client.get(f"/ops/shadow/pairs/{PAIR}/teams/{team.slug}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<svg class="chart"') == 3
    assert "<title>Comparisons per day</title>" in page
    assert f"<title>{today - dt.timedelta(days=2):%b} {(today - dt.timedelta(days=2)).day}: 1 mismatches</title>" in page
    assert [day.comparisons for day in response.context["days"]] == [0, 0, 0, 0, 4, 0, 5]
    assert [day.mismatch_rate for day in response.context["days"]][4] == 25.0
    # The first change created the flag's row: a flag-wide entry of its own.
    assert [(entry.scope, entry.reason) for entry in response.context["history"]] == [
        ("all", "flag-wide"), (team.slug, "mine"), ("all", "FORCED past readiness gate (globex: 0 of 5 comparisons "
                                                   "in the last 7 days): other team"),
    ]
    assert [item.record.pk for item in response.context["records"]] == [mine.pk]
    assert f'href="/ops/shadow/records/{mine.pk}/"' in page


def test_the_pair_team_page_answers_404_for_an_unknown_pair_or_team(ops_client, pair, team):
    assert ops_client.get(f"/ops/shadow/pairs/no.such/teams/{team.slug}/").status_code == 404
    assert ops_client.get(f"/ops/shadow/pairs/{PAIR}/teams/nobody/").status_code == 404


@pytest.mark.parametrize("history", [1, 6])
def test_the_pair_team_page_makes_the_same_number_of_queries_whatever_the_history(
    ops_client, pair, team, history, django_assert_num_queries
):
    """Session, user, permissions (user, groups), team, flag rows, latest audit entries, last state changes,
    rates, evidence (days, argument sets), the window's days, the history and the records: 14."""
    for number in range(history):
        services.disable_for_teams(name=PAIR, teams=[team], actor="user:olga", reason=f"change {number}")
        ShadowRecordFactory(pair_name=PAIR, team=team)

    with django_assert_num_queries(14):
        response = ops_client.get(f"/ops/shadow/pairs/{PAIR}/teams/{team.slug}/")

    # Each rollback of the team, and the flag row's creation.
    assert len(response.context["history"]) == history + 1


# --- the records list -------------------------------------------------------------------------------


def test_records_filter_by_pair_team_outcome_and_day(ops_client, pair, make_pair, team, other_team):
    make_pair("test.second", legacy=constant_legacy, optimized=constant_optimized)
    first = ShadowRecordFactory(pair_name=PAIR, team=team)
    second = ShadowRecordFactory(pair_name="test.second", team=team, outcome="error", diff=[], error="boom")
    third = ShadowRecordFactory(pair_name=PAIR, team=other_team, outcome="timeout", diff=[])
    old = ShadowRecordFactory(pair_name=PAIR, team=team)
    old.created_at = timezone.now() - dt.timedelta(days=3)
    old.save(update_fields=["created_at"])

    def shown(query: str) -> list[int]:
        response = ops_client.get(f"/ops/shadow/records/?{query}")
        assert response.status_code == 200
        return [item.record.pk for item in response.context["records"]]

    assert shown("pair=test.second") == [second.pk]
    assert shown(f"team={other_team.slug}") == [third.pk]
    assert shown("outcome=mismatch") == [first.pk, old.pk]
    assert shown(f"day={old.created_at.date().isoformat()}") == [old.pk]
    assert shown(f"pair={PAIR}&team={team.slug}&outcome=mismatch&day={timezone.now().date().isoformat()}") == [first.pk]
    assert shown("") == [third.pk, second.pk, first.pk, old.pk]


@pytest.mark.parametrize(("query", "message"), [
    ("team=nobody", "No team has the slug &#x27;nobody&#x27;."),
    ("outcome=explosion", "Select a valid choice. explosion is not one of the available choices."),
    ("day=yesterday", "Enter a valid date."),
    ("pair=no.such", "Select a valid choice. no.such is not one of the available choices."),
])
def test_a_bad_filter_is_answered_400_with_its_reason_and_no_records(ops_client, pair, team, query, message):
    ShadowRecordFactory(pair_name=PAIR, team=team)

    response = ops_client.get(f"/ops/shadow/records/?{query}")

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "These filters cannot be applied" in page
    assert 'class="shadow-record"' not in page


def test_records_are_paged_25_at_a_time_keeping_the_filters(ops_client, pair, team):
    ShadowRecordFactory.create_batch(27, pair_name=PAIR, team=team)

    first = ops_client.get(f"/ops/shadow/records/?pair={PAIR}")
    second = ops_client.get(f"/ops/shadow/records/?pair={PAIR}&page=2")

    assert len(first.context["records"]) == 25
    assert len(second.context["records"]) == 2
    assert f'href="?pair={PAIR}&amp;page=2"' in first.content.decode()
    assert "page 2 of 2" in second.content.decode()
    assert {item.record.pk for item in first.context["records"]}.isdisjoint(
        item.record.pk for item in second.context["records"]
    )


# --- one record ---------------------------------------------------------------------------------------


SIDES_DIFF = [{
    "path": ".current.avg_cycle_time", "line": ".current.avg_cycle_time: 30.60 != 29.99",
    "redacted": ".current.avg_cycle_time: 30.60 != 29.99", "legacy": "30.60", "optimized": "29.99",
    "legacy_redacted": "30.60", "optimized_redacted": "29.99",
}, {
    "path": "[0].author", "line": "[0].author: 'Alice' != 'Bob'", "redacted": "[0].author: [redacted] != [redacted]",
    "legacy": "'Alice'", "optimized": "'Bob'", "legacy_redacted": "[redacted]", "optimized_redacted": "[redacted]",
}]


@pytest.fixture
def sided_record(pair, team):
    return ShadowRecordFactory(
        pair_name=PAIR, team=team, diff=SIDES_DIFF,
        call_arguments={"start": {"__date__": "2026-11-01"}, "author_name": "Alice"},
    )


def test_a_record_shows_both_sides_labelled_its_arguments_in_words_and_the_replay_command(ops_client, sided_record):
    page = ops_client.get(f"/ops/shadow/records/{sided_record.pk}/").content.decode()

    assert "<th>Legacy</th><th>Optimized</th>" in page
    assert '<td data-label="Legacy" class="value side-a">30.60</td>' in page
    assert '<td data-label="Optimized" class="value side-b">29.99</td>' in page
    assert "<code>.current.avg_cycle_time</code>" in page
    assert "start=2026-11-01" in page
    assert "__date__" not in page
    assert f"python manage.py rollout verify {PAIR} --record {sided_record.pk}" in page
    assert "&#x27;Alice&#x27;" in page


def test_without_view_personal_a_record_is_redacted(client, sided_record):
    client.force_login(operator())

    page = client.get(f"/ops/shadow/records/{sided_record.pk}/").content.decode()

    assert "Alice" not in page
    assert '<td data-label="Legacy" class="value side-a">[redacted]</td>' in page
    assert '<td data-label="Legacy" class="value side-a">30.60</td>' in page


def test_an_unknown_record_is_404(ops_client, pair):
    assert ops_client.get("/ops/shadow/records/999999/").status_code == 404
