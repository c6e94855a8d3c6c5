"""The staff console at /ops/shadow/: who may see it, what it shows, and its query count at two sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from flags import services
from shadow.models import MS_BUCKETS, QUERY_BUCKETS
from tests.factories import (
    DailyEvidenceFactory,
    SamplingRateFactory,
    ShadowRecordFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
OTHER_PAIR = "test.other_pair"
CONSOLE = "/ops/shadow/"


def legacy(*, team):
    return 1


def optimized(*, team):
    return 1


def one_bucket(buckets, bound, count: int) -> list[int]:
    values = [0] * (len(buckets) + 1)
    values[buckets.index(bound)] = count
    return values


@pytest.fixture
def pairs(make_pair, settings):
    """Two registered pairs; the gate needs 5 comparisons; rates default to 0.01."""
    settings.SHADOW_MIN_COMPARISONS = 5
    settings.SHADOW_DEFAULT_RATE = 0.01
    make_pair(PAIR, legacy=legacy, optimized=optimized, description="Test pair: counts")
    make_pair(OTHER_PAIR, legacy=legacy, optimized=optimized)


@pytest.fixture
def staff_client(client):
    """A staff operator with both console permissions (tests/shadow/test_console_permissions.py covers the others)."""
    operator = UserFactory(username="operator", is_staff=True)
    operator.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="shadow", codename__in=["view_evidence", "view_personal"])
    )
    client.force_login(operator)
    return client


def test_the_url_is_named():
    """The console is reachable as shadow:console."""
    assert reverse("shadow:console") == CONSOLE


# --- access -----------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, pairs):
    """Not logged in: redirected to the site's login page, coming back to the console afterwards."""
    response = client.get(CONSOLE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={CONSOLE}"


def test_a_logged_in_member_who_is_not_staff_gets_403(member_client, pairs):
    """A team member without is_staff is refused (403) and sees no evidence or records."""
    ShadowRecordFactory(pair_name=PAIR)

    response = member_client.get(CONSOLE)

    assert response.status_code == 403
    assert "Fix login" not in response.content.decode()


def test_staff_see_the_console(staff_client, pairs):
    """Staff with the permission (no superuser needed): the page renders from the console template on the site's base."""
    response = staff_client.get(CONSOLE)

    assert response.status_code == 200
    assert [template.name for template in response.templates][:2] == ["shadow/console.html", "base.html"]


def test_the_overview_changes_nothing_so_it_answers_get_only(staff_client, pairs):
    """POST to the overview is not allowed (405): actions have their own addresses."""
    assert staff_client.post(CONSOLE).status_code == 405


# --- content ----------------------------------------------------------------------------------


def test_each_pair_lists_every_team_with_evidence_rate_and_flag_state(staff_client, pairs, team, other_team):
    """One row per pair × team: state and cause, rate, counts, p50/p95 per side with units, queries, speed-up, readiness.

    A pair without a description of its own shows its rollout flag's.
    """
    services.enable_for_teams(name=PAIR, teams=[other_team], actor="system:test-setup", reason="setup", force=True)
    SamplingRateFactory(pair_name=PAIR, team=team, rate=Decimal("0.25"))
    DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=7, matches=4, mismatches=1, errors=1, timeouts=1,
        legacy_ms_histogram=one_bucket(MS_BUCKETS, 50, 5), optimized_ms_histogram=one_bucket(MS_BUCKETS, 5, 5),
        legacy_queries_histogram=one_bucket(QUERY_BUCKETS, 20, 5),
        optimized_queries_histogram=one_bucket(QUERY_BUCKETS, 3, 5),
        legacy_ms_total=200.0, optimized_ms_total=20.0, legacy_queries_total=100, optimized_queries_total=15,
        measured_runs=5,
    )
    DailyEvidenceFactory(pair_name=PAIR, team=other_team, runs=6, matches=6)

    response = staff_client.get(CONSOLE)

    [first, second] = response.context["pairs"]
    assert (first.name, first.description, first.flag_mode) == (OTHER_PAIR, "Test-only pair", "listed teams only")
    assert (second.name, second.description) == (PAIR, "Test pair: counts")
    acme, globex = second.teams
    assert (acme.team.slug, acme.on, acme.state, acme.rate, acme.ready) == ("acme", False, "off", "0.25", False)
    assert (globex.team.slug, globex.on, globex.state, globex.rate, globex.ready) == ("globex", True, "listed", "0.01", True)
    assert (globex.change.actor, globex.change.reason) == ("system:test-setup", "FORCED past readiness gate (globex: 0 of 5 "
                                                           "comparisons in the last 7 days): setup")
    today = acme.evidence.mismatch_days.copy().pop()
    assert acme.reasons == [
        f"1 mismatch on {today:%b} {today.day}", f"1 error and 1 timeout on {today:%b} {today.day}",
    ]
    assert (acme.evidence.comparisons, acme.evidence.mismatch_rate) == (5, 0.2)
    # Five samples in the (30, 50] bucket: p50 halfway, p95 near the top; the mean time and queries are exact.
    assert (acme.legacy.p50_ms, acme.legacy.p95_ms, acme.legacy.queries) == (40.0, 49.0, 20.0)
    assert (acme.optimized.p50_ms, acme.optimized.queries) == (4.0, 3.0)
    assert acme.evidence.speedup == 10.0
    page = response.content.decode()
    # The code the evidence is for, per pair.
    assert f"optimized <code>{second.revisions['optimized']}</code>" in page
    assert "<b>L</b> 40 ms / 49 ms" in page
    assert "<b>O</b> 4 ms / 4.9 ms" in page
    assert '<td data-label="Queries per call" class="num">20 → 3</td>' in page
    assert '<td data-label="Mismatch rate" class="num">20.0 %</td>' in page
    assert '<td data-label="Speed-up" class="num">10×</td>' in page
    assert '<span class="pill high">not ready</span>' in page
    assert '<span class="pill yes">ready</span>' in page
    assert f"<li>1 mismatch on {today:%b} {today.day}</li>" in page


def test_the_latest_records_are_shown_unredacted_newest_first(staff_client, pairs, team):
    """Records carry their full difference lines and errors; the newest comes first."""
    ShadowRecordFactory(pair_name=PAIR, team=team)
    ShadowRecordFactory(pair_name=OTHER_PAIR, team=team, outcome="error", diff=[], error="optimized: ValueError: boom")

    response = staff_client.get(CONSOLE)

    assert [(item.record.pair_name, item.record.outcome) for item in response.context["records"]] == [
        (OTHER_PAIR, "error"), (PAIR, "mismatch"),
    ]
    page = response.content.decode()
    assert "<code>[0].title: &quot;Fix login&quot; != &quot;Fix logout&quot;</code>" in page
    assert "<code>optimized: ValueError: boom</code>" in page


def test_only_the_newest_ten_records_are_shown(staff_client, pairs, team):
    """With 12 records, the overview lists 10 and links to the records page for the rest."""
    ShadowRecordFactory.create_batch(12, pair_name=PAIR, team=team)

    response = staff_client.get(CONSOLE)

    assert len(response.context["records"]) == 10
    assert '<a href="/ops/shadow/records/">all records</a>' in response.content.decode()


def test_without_pairs_the_console_says_so(staff_client):
    """No registered pair: an explanatory line instead of tables."""
    assert "No pairs are registered." in staff_client.get(CONSOLE).content.decode()


# --- queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("team_count", [2, 7])
def test_the_console_makes_the_same_number_of_queries_for_2_and_7_teams(
    staff_client, pairs, team_count, django_assert_num_queries
):
    """Session, user, the user's and its groups' permissions, teams, records, flag rows, latest audit entries,
    last state changes, rates, two evidence queries per pair (days, distinct argument sets), and the rollout
    plans (one query; no pair has a plan here: a plan's own explanation is counted in test_plan_console.py): 15."""
    teams = [TeamFactory() for _ in range(team_count)]
    services.enable_for_teams(name=PAIR, teams=teams[:1], actor="system:test-setup", reason="setup", force=True)
    for team in teams:
        DailyEvidenceFactory(pair_name=PAIR, team=team, runs=3, matches=3)
        DailyEvidenceFactory(pair_name=OTHER_PAIR, team=team, runs=1, mismatches=1)
        SamplingRateFactory(pair_name=PAIR, team=team)
        ShadowRecordFactory(pair_name=OTHER_PAIR, team=team)

    with django_assert_num_queries(15):
        response = staff_client.get(CONSOLE)

    assert len(response.context["pairs"][1].teams) == team_count
