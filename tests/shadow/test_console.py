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


def test_the_console_changes_nothing_so_it_answers_get_only(staff_client, pairs):
    """POST is not allowed (405): there is no form on the page."""
    assert staff_client.post(CONSOLE).status_code == 405


# --- content ----------------------------------------------------------------------------------


def test_each_pair_lists_every_team_with_evidence_rate_and_flag_state(staff_client, pairs, team, other_team):
    """One row per pair × team: flag on/off, rate, counts, p50 ms and queries legacy → optimized, ready.

    A pair without a description of its own shows its rollout flag's.
    """
    services.enable_for_teams(name=PAIR, teams=[other_team], actor="system:test-setup", reason="setup", force=True)
    SamplingRateFactory(pair_name=PAIR, team=team, rate=Decimal("0.25"))
    DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=7, matches=4, mismatches=1, errors=1, timeouts=1,
        legacy_ms_histogram=one_bucket(MS_BUCKETS, 50, 5), optimized_ms_histogram=one_bucket(MS_BUCKETS, 5, 5),
        legacy_queries_histogram=one_bucket(QUERY_BUCKETS, 20, 5),
        optimized_queries_histogram=one_bucket(QUERY_BUCKETS, 3, 5),
    )
    DailyEvidenceFactory(pair_name=PAIR, team=other_team, runs=6, matches=6)

    response = staff_client.get(CONSOLE)

    [first, second] = response.context["pairs"]
    assert (first.name, first.description, first.flag_mode) == (OTHER_PAIR, "Test-only pair", "listed teams only")
    assert (second.name, second.description) == (PAIR, "Test pair: counts")
    assert [(row.team_slug, row.flag_on, row.rate, row.evidence) for row in second.rows] == [
        ("acme", False, "0.25", {
            "comparisons": 5, "mismatches": 1, "errors": 1, "timeouts": 1, "inconclusive": 0, "stale_cache": 0, "argument_sets": 0,
            "p50_ms": {"legacy": 50, "optimized": 5}, "p50_queries": {"legacy": 20, "optimized": 3},
            "revision": second.revisions, "ready": False,
        }),
        ("globex", True, "0.01", {
            "comparisons": 6, "mismatches": 0, "errors": 0, "timeouts": 0, "inconclusive": 0, "stale_cache": 0, "argument_sets": 0,
            "p50_ms": None, "p50_queries": None, "revision": second.revisions, "ready": True,
        }),
    ]
    page = response.content.decode()
    # The code the evidence is for, per pair.
    assert f"optimized <code>{second.revisions['optimized']}</code>" in page
    assert '<td class="num">50 → 5</td>' in page
    assert '<td class="num">20 → 3</td>' in page
    assert '<span class="pill high">not ready</span>' in page
    assert '<span class="pill yes">ready</span>' in page


def test_the_latest_records_are_shown_unredacted_newest_first(staff_client, pairs, team):
    """Records carry their full difference lines and errors; the newest comes first."""
    ShadowRecordFactory(pair_name=PAIR, team=team)
    ShadowRecordFactory(pair_name=OTHER_PAIR, team=team, outcome="error", diff=[], error="optimized: ValueError: boom")

    response = staff_client.get(CONSOLE)

    assert [(record.pair_name, record.outcome) for record in response.context["records"]] == [
        (OTHER_PAIR, "error"), (PAIR, "mismatch"),
    ]
    page = response.content.decode()
    assert "<code>[0].title: &quot;Fix login&quot; != &quot;Fix logout&quot;</code>" in page
    assert "<code>optimized: ValueError: boom</code>" in page


def test_only_the_newest_fifty_records_are_shown(staff_client, pairs, team):
    """With 52 records, the page lists 50."""
    ShadowRecordFactory.create_batch(52, pair_name=PAIR, team=team)

    assert len(staff_client.get(CONSOLE).context["records"]) == 50


def test_without_pairs_the_console_says_so(staff_client):
    """No registered pair: an explanatory line instead of tables."""
    assert "No pairs are registered." in staff_client.get(CONSOLE).content.decode()


# --- queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("team_count", [2, 7])
def test_the_console_makes_the_same_number_of_queries_for_2_and_7_teams(
    staff_client, pairs, team_count, django_assert_num_queries
):
    """Session, user, the user's and its groups' permissions, teams, records, flag rows, audit entries, rates,
    and two evidence queries per pair (days, distinct argument sets): 13."""
    teams = [TeamFactory() for _ in range(team_count)]
    services.enable_for_teams(name=PAIR, teams=teams[:1], actor="system:test-setup", reason="setup", force=True)
    for team in teams:
        DailyEvidenceFactory(pair_name=PAIR, team=team, runs=3, matches=3)
        DailyEvidenceFactory(pair_name=OTHER_PAIR, team=team, runs=1, mismatches=1)
        SamplingRateFactory(pair_name=PAIR, team=team)
        ShadowRecordFactory(pair_name=OTHER_PAIR, team=team)

    with django_assert_num_queries(13):
        response = staff_client.get(CONSOLE)

    assert len(response.context["pairs"][1].rows) == team_count
