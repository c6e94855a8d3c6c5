"""The operators' permissions: who may open the console, and who sees personal values in records (console and admin).

shadow.view_evidence opens the console (with is_staff); shadow.view_personal shows differences,
errors and call arguments in full, else as Sentry gets them. flags.change_rollout and
flags.force_rollout exist for the rollout actions. Superusers hold every permission.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from shadow.models import ShadowRecord
from shadow.outcome import Comparison, SideRun, error_kinds
from shadow.reporters import store_serving_error
from tests.factories import ShadowRecordFactory, UserFactory

pytestmark = pytest.mark.django_db

CONSOLE = "/ops/shadow/"
PERSONAL_LINE = "[0].title: 'Fix Alice's login' != 'Fix Bob's login'"
REDACTED_LINE = "[0].title: [redacted] != [redacted]"
PERMISSIONS = {
    "view_evidence": "shadow.view_evidence",
    "view_personal": "shadow.view_personal",
    "change_rollout": "flags.change_rollout",
    "force_rollout": "flags.force_rollout",
}


def staff(*codenames: str, is_staff: bool = True):
    user = UserFactory(username=f"operator-{'-'.join(codenames) or 'none'}-{is_staff}", is_staff=is_staff)
    for codename in codenames:
        app_label, name = PERMISSIONS[codename].split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    return user


@pytest.fixture
def record(team):
    return ShadowRecordFactory(
        team=team,
        diff=[{"path": "[0].title", "line": PERSONAL_LINE, "redacted": REDACTED_LINE}],
        outcome="error",
        error="optimized: ValueError: no author named Alice",
        error_redacted="optimized: ValueError",
        call_arguments={"team_id": team.pk, "author_name": "Alice", "filters": {"login": "alice", "repo": "web"}},
    )


def console_as(client, user):
    client.force_login(user)
    return client.get(CONSOLE)


# --- the permissions ----------------------------------------------------------------------


def test_the_four_permissions_exist_after_migrate():
    """Each codename is a Permission row, in the app that checks it."""
    found = {
        f"{app_label}.{codename}"
        for app_label, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    assert set(PERMISSIONS.values()) <= found


@pytest.mark.parametrize("codename", sorted(PERMISSIONS))
def test_each_permission_is_granted_one_by_one_and_superusers_hold_all(codename):
    """A user holds only what was given to them; a superuser holds every one."""
    user = staff(codename)
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)

    assert {name for name, perm in PERMISSIONS.items() if user.has_perm(perm)} == {codename}
    assert all(superuser.has_perm(perm) for perm in PERMISSIONS.values())


# --- who may open the console -------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, record):
    response = client.get(CONSOLE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={CONSOLE}"


@pytest.mark.parametrize(
    ("codenames", "is_staff"),
    [((), True), (("view_personal",), True), (("change_rollout", "force_rollout"), True), (("view_evidence",), False)],
    ids=["staff-without-permissions", "staff-with-view_personal-only", "staff-with-rollout-permissions", "not-staff"],
)
def test_without_staff_and_view_evidence_the_console_answers_403(client, record, codenames, is_staff):
    """Staff AND view_evidence, nothing less: neither alone, nor the other permissions, open it."""
    response = console_as(client, staff(*codenames, is_staff=is_staff))

    assert response.status_code == 403
    assert "Alice" not in response.content.decode()


def test_view_evidence_alone_shows_records_redacted_as_in_sentry(client, record):
    """Differences with personal values [redacted], errors by exception type only, and the page says so."""
    response = console_as(client, staff("view_evidence"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Alice" not in page
    assert "<code>[0].title: [redacted] != [redacted]</code>" in page
    assert "<code>optimized: ValueError</code>" in page
    assert "personal values and error messages redacted, as in Sentry" in page


@pytest.mark.parametrize("user", ["view_personal", "superuser"])
def test_view_personal_or_a_superuser_see_records_unredacted(client, record, user):
    operator = (
        UserFactory(username="root", is_staff=True, is_superuser=True)
        if user == "superuser"
        else staff("view_evidence", "view_personal")
    )

    response = console_as(client, operator)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<code>[0].title: &#x27;Fix Alice&#x27;s login&#x27; != &#x27;Fix Bob&#x27;s login&#x27;</code>" in page
    assert "<code>optimized: ValueError: no author named Alice</code>" in page
    assert "unredacted" in page


def test_a_record_stored_before_redacted_forms_shows_redacted_placeholders(client, team):
    """Old rows carry only the full line and error: without view_personal, their values are hidden entirely."""
    ShadowRecordFactory(team=team, diff=[{"path": "[0].title", "line": PERSONAL_LINE}], error="optimized: ValueError: Alice")

    page = console_as(client, staff("view_evidence")).content.decode()

    assert "Alice" not in page
    assert "<code>[0].title: [redacted]</code>" in page
    assert "<code>[redacted]</code>" in page


def test_a_serving_error_record_keeps_its_error_as_sentry_gets_it(make_pair, team):
    """The reporter stores the exception type without its message next to the full error."""
    pair = make_pair("test.pair", legacy=lambda *, team: 1, optimized=lambda *, team: 1)

    store_serving_error(pair, team.pk, {"team": team}, ValueError("no author named Alice"))

    record = ShadowRecord.objects.get()
    assert record.error == "optimized (serving, fell back to legacy): ValueError: no author named Alice"
    assert record.error_shown(personal=False) == "optimized (serving, fell back to legacy): ValueError"


def test_error_kinds_name_no_message():
    """What the redacted error is built from: `rollout verify`'s and Sentry's form."""
    comparison = Comparison(
        pair="p", team_id=1, team_slug="t", served="legacy", outcome="error",
        legacy=SideRun("legacy"), optimized=SideRun("optimized", error=ValueError("Alice")),
    )
    assert error_kinds(comparison) == "optimized: ValueError"


# --- the admin's records ------------------------------------------------------------------


def admin_record_page(client, user, record):
    user.user_permissions.add(Permission.objects.get(content_type__app_label="shadow", codename="view_shadowrecord"))
    client.force_login(user)
    return client.get(reverse("admin:shadow_shadowrecord_change", args=[record.pk])).content.decode()


def test_the_admin_shows_a_record_redacted_without_view_personal(client, record):
    """Differences, error and call arguments as Sentry and `rollout verify` show them."""
    page = admin_record_page(client, staff("view_evidence"), record)

    assert "Alice" not in page
    assert "alice" not in page
    assert "[0].title: [redacted] != [redacted]" in page
    assert "optimized: ValueError" in page
    assert "author_name=[redacted], filters={&#x27;repo&#x27;: &#x27;web&#x27;, &#x27;login&#x27;: [redacted]}" in page


def test_the_admin_shows_a_record_in_full_with_view_personal(client, record):
    page = admin_record_page(client, staff("view_personal"), record)

    assert "[0].title: &#x27;Fix Alice&#x27;s login&#x27;" in page
    assert "optimized: ValueError: no author named Alice" in page
    assert "author_name=Alice, filters={&#x27;repo&#x27;: &#x27;web&#x27;, &#x27;login&#x27;: &#x27;alice&#x27;}" in page


def test_the_admin_record_list_is_redacted_and_not_searchable_by_error_text(client, record):
    """The list's first difference and error are redacted; searching the error's words finds nothing to probe with."""
    user = staff("view_evidence")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="shadow", codename="view_shadowrecord"))
    client.force_login(user)
    changelist = reverse("admin:shadow_shadowrecord_changelist")

    page = client.get(changelist).content.decode()
    searched = client.get(changelist, {"q": "Alice"})

    assert REDACTED_LINE in page
    assert "Alice" not in page
    assert list(searched.context["cl"].result_list) == []
