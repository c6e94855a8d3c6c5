"""Acting from the console: enable (gated, force with a reason and its own permission), roll back, kill,
restore and the sampling rate; each a confirmed POST with CSRF, audited with the user, reflected at once;
and every console address checks its permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

import flags
from flags import services
from flags.models import Flag, FlagAudit
from shadow.models import SamplingRate
from tests.factories import DailyEvidenceFactory, ShadowRecordFactory, UserFactory
from tests.shadow.sides import constant_legacy, constant_optimized
from tests.support.operators import operator

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
TEAM_PAGE = f"/ops/shadow/pairs/{PAIR}/teams/acme/"
ENABLE = TEAM_PAGE + "enable/"
DISABLE = TEAM_PAGE + "disable/"
RATE = TEAM_PAGE + "rate/"
KILL = f"/ops/shadow/pairs/{PAIR}/kill/"
RESTORE = f"/ops/shadow/pairs/{PAIR}/restore/"



@pytest.fixture
def pair(make_pair, settings):
    settings.SHADOW_MIN_COMPARISONS = 5
    return make_pair(PAIR, legacy=constant_legacy, optimized=constant_optimized)



@pytest.fixture
def changer(client):
    client.force_login(operator("flags.change_rollout"))
    return client


@pytest.fixture
def forcer(client):
    client.force_login(operator("flags.change_rollout", "flags.force_rollout"))
    return client


def audit() -> list[tuple[str, str, str, str, str]]:
    return list(FlagAudit.objects.filter(flag_name=PAIR).values_list("actor", "team_slug", "before", "after", "reason"))


def is_on(team) -> bool:
    return flags.is_enabled(PAIR, team=team)


# --- enable and the gate ------------------------------------------------------------------------


def test_the_confirmation_page_says_what_enable_does_and_why_the_gate_refuses(forcer, pair, team):
    page = forcer.get(ENABLE).content.decode()

    assert "Switch test.pair on for acme" in page
    assert "The readiness gate refuses now:" in page
    assert "<li>acme: 0 of 5 comparisons in the last 7 days</li>" in page
    assert 'name="force"' in page
    assert 'name="reason"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_enable_of_a_team_that_is_not_ready_is_refused_with_its_reasons_and_changes_nothing(changer, pair, team):
    DailyEvidenceFactory(pair_name=PAIR, team=team, runs=3, matches=3)

    response = changer.post(ENABLE, {"reason": "looks good"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "The readiness gate refused: nothing was changed." in page
    assert "<li>acme: 3 of 5 comparisons in the last 7 days</li>" in page
    assert "Forcing past it needs the <code>flags.force_rollout</code> permission." in page
    assert 'name="force"' not in page
    assert not is_on(team)
    assert audit() == []


def test_force_without_the_force_permission_is_403_and_changes_nothing(changer, pair, team):
    response = changer.post(ENABLE, {"reason": "trust me", "force": "on"})

    assert response.status_code == 403
    assert not is_on(team)
    assert audit() == []


def test_force_with_the_permission_and_a_reason_enables_and_is_audited_as_forced(forcer, pair, team):
    response = forcer.post(ENABLE, {"reason": "hotfix for the board", "force": "on"}, follow=True)

    assert response.redirect_chain == [(TEAM_PAGE, 303)]
    assert is_on(team)
    [(actor, slug, before, after, reason)] = audit()[-1:]
    assert (actor, slug, before, after) == ("user:olga", "acme", "off", "on")
    assert reason == "FORCED past readiness gate (acme: 0 of 5 comparisons in the last 7 days): hotfix for the board"
    page = response.content.decode()
    # Reflected at once: the message, the state, and the audit row on the page it lands on.
    assert "test.pair is on for acme: it serves the optimized side." in page
    assert '<span class="pill state yes" id="state">listed</span>' in page
    assert "hotfix for the board" in page


def test_a_ready_team_is_enabled_without_force(changer, pair, team):
    DailyEvidenceFactory(pair_name=PAIR, team=team, runs=5, matches=5)

    response = changer.post(ENABLE, {"reason": "clean for a week"})

    assert response.status_code == 303
    assert is_on(team)
    assert audit()[-1] == ("user:olga", "acme", "off", "on", "clean for a week")


def test_a_reason_is_required(forcer, pair, team):
    response = forcer.post(ENABLE, {"reason": "  ", "force": "on"})

    assert response.status_code == 400
    assert "Give a reason: it is recorded in the audit log." in response.content.decode()
    assert not is_on(team)
    assert audit() == []


# --- roll back, kill, restore, rate -----------------------------------------------------------------


def test_roll_back_switches_the_team_off_and_is_audited(changer, pair, team):
    services.enable_for_teams(name=PAIR, teams=[team], actor="system:test-setup", reason="setup", force=True)

    response = changer.post(DISABLE, {"reason": "p95 worse than legacy"}, follow=True)

    assert response.redirect_chain == [(TEAM_PAGE, 303)]
    assert not is_on(team)
    assert audit()[-1] == ("user:olga", "acme", "on", "off", "p95 worse than legacy")
    assert '<span class="pill state high" id="state">blocked</span>' in response.content.decode()


def test_kill_and_restore_from_the_console(forcer, pair, team, other_team):
    services.enable_for_teams(name=PAIR, teams=[team], actor="system:test-setup", reason="setup", force=True)

    killed = forcer.post(KILL, {"reason": "incident 7"}, follow=True)

    assert killed.redirect_chain == [("/ops/shadow/#pair-test-pair", 303)]
    assert not is_on(team)
    assert Flag.objects.get(name=PAIR).everyone is False
    assert "test.pair is killed" in killed.content.decode()
    assert audit()[-1][0::4] == ("user:olga", "incident 7")

    # Restoring switches acme on again: the gate asks, and refuses (no evidence).
    refused = forcer.post(RESTORE, {"reason": "incident over"})
    assert refused.status_code == 409
    assert "<li>acme: 0 of 5 comparisons in the last 7 days</li>" in refused.content.decode()
    assert Flag.objects.get(name=PAIR).everyone is False

    restored = forcer.post(RESTORE, {"reason": "incident over", "force": "on"})
    assert restored.status_code == 303
    assert is_on(team)
    assert not is_on(other_team)


def test_the_sampling_rate_is_changed_for_the_team_and_audited(changer, pair, team):
    response = changer.post(RATE, {"reason": "more evidence", "rate": "0.5"})

    assert response.status_code == 303
    assert SamplingRate.objects.get(pair_name=PAIR, team=team).rate == pytest.approx(0.5)
    assert audit()[-1] == ("user:olga", "acme", "sampling default", "sampling 0.5", "more evidence")


@pytest.mark.parametrize("rate", ["1.5", "-0.1", "abc", ""])
def test_a_bad_sampling_rate_is_refused_and_nothing_is_written(changer, pair, team, rate):
    response = changer.post(RATE, {"reason": "oops", "rate": rate})

    assert response.status_code == 400
    assert not SamplingRate.objects.exists()
    assert audit() == []


# --- CSRF, methods and addresses ------------------------------------------------------------------------


def test_actions_need_the_csrf_token(pair, team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator("flags.change_rollout", "flags.force_rollout"))

    assert client.post(DISABLE, {"reason": "no token"}).status_code == 403
    assert audit() == []

    token = client.get(DISABLE).context["csrf_token"]
    assert client.post(DISABLE, {"reason": "with token", "csrfmiddlewaretoken": token}).status_code == 303
    assert audit()[-1][-1] == "with token"


@pytest.mark.parametrize("url", [
    f"/ops/shadow/pairs/{PAIR}/teams/acme/explode/",
    f"/ops/shadow/pairs/{PAIR}/enable/",  # a team action without a team
    f"/ops/shadow/pairs/{PAIR}/teams/acme/kill/",  # a pair action on one team
    "/ops/shadow/pairs/no.such/teams/acme/enable/",
    f"/ops/shadow/pairs/{PAIR}/teams/nobody/enable/",
])
def test_unknown_actions_pairs_and_teams_are_404(forcer, pair, team, url):
    assert forcer.get(url).status_code == 404
    assert forcer.post(url, {"reason": "x"}).status_code == 404
    assert audit() == []


# --- permissions on every address ---------------------------------------------------------------------


def addresses(record_id: int) -> list[str]:
    return [
        "/ops/shadow/", TEAM_PAGE, "/ops/shadow/records/", f"/ops/shadow/records/{record_id}/",
        ENABLE, DISABLE, RATE, KILL, RESTORE,
    ]


ACTION_PAGES = {ENABLE, DISABLE, RATE, KILL, RESTORE}


def test_every_console_address_sends_anonymous_visitors_to_log_in(client, pair, team):
    record = ShadowRecordFactory(pair_name=PAIR, team=team)
    for url in addresses(record.pk):
        response = client.get(url)
        assert (url, response.status_code) == (url, 302)
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("who", ["member", "staff without view_evidence", "view_evidence without staff"])
def test_every_console_address_refuses_users_without_staff_and_view_evidence(client, pair, team, who):
    record = ShadowRecordFactory(pair_name=PAIR, team=team)
    if who == "member":
        user = UserFactory()
    elif who == "staff without view_evidence":
        user = UserFactory(is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=["change_rollout", "force_rollout"]))
    else:
        user = operator("flags.change_rollout")
        user.is_staff = False
        user.save()
    client.force_login(user)

    for url in addresses(record.pk):
        assert (url, client.get(url).status_code) == (url, 403)
    for url in ACTION_PAGES:
        assert (url, client.post(url, {"reason": "x", "rate": "0.5"}).status_code) == (url, 403)
    assert audit() == []


def test_viewers_without_change_rollout_see_no_buttons_and_get_403_on_actions(client, pair, team):
    client.force_login(operator())

    for url in ("/ops/shadow/", TEAM_PAGE):
        page = client.get(url).content.decode()
        assert "Enable for" not in page
        assert "Kill…" not in page
    assert "Changing a rollout needs the <code>flags.change_rollout</code> permission." in client.get(TEAM_PAGE).content.decode()
    for url in ACTION_PAGES:
        assert (url, client.get(url).status_code) == (url, 403)
        assert (url, client.post(url, {"reason": "x", "rate": "0.5"}).status_code) == (url, 403)
    assert audit() == []
    assert not SamplingRate.objects.exists()
