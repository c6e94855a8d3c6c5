"""The flags admin: the flag list, the "Enable/Disable for teams…" actions, audited change form, read-only audit log."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

import flags
from apps.teams.models import Team
from flags import extensions, services
from flags.models import Flag, FlagAudit
from flags.registry import ROLLOUT_FLAGS
from tests.factories import FlagFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

FLAG = "metrics.team_breakdown"
TEAM_ACTION_TEMPLATE = "admin/flags/flag/team_action.html"
SETUP = "system:test-setup"
# What every change says about when it reaches every process (FLAGS_MAX_STALE_SECONDS defaults to 5).
REACHED = (
    "This process serves the change now; every other process within 5 s (FLAGS_MAX_STALE_SECONDS), "
    "whatever the cache server does."
)


def flags_url() -> str:
    return reverse("admin:flags_flag_changelist")


def run_action(client, action: str, selected: list[Flag], **data):
    """POST to the flag changelist as the action form does (no `confirm`: the first step)."""
    return client.post(flags_url(), {"action": action, "_selected_action": [flag.pk for flag in selected], **data})


def confirm_action(client, action: str, selected: list[Flag], *, teams, reason: str):
    """POST the confirmation page's form."""
    return run_action(client, action, selected, confirm="yes", teams=[team.pk for team in teams], reason=reason)


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def team_entries(name: str) -> list[tuple[str, str, str, str, str]]:
    """(team, actor, reason, before, after) of the flag's per-team audit entries, oldest first."""
    return list(
        FlagAudit.objects.filter(flag_name=name, team_id__isnull=False).values_list(
            "team_slug", "actor", "reason", "before", "after"
        )
    )


def cell(column: str, value: str) -> str:
    return f'<td class="field-{column}">{value}</td>'


@pytest.fixture
def flag(db):
    """The metrics.team_breakdown row as migrate creates it: off for every team (listed teams only, none listed)."""
    flag = Flag.objects.get(name=FLAG)
    assert (flag.everyone, flag.percent, flag.superusers, list(flag.teams.all())) == (None, None, False, [])
    return flag


@pytest.fixture
def viewer_client(client):
    """A staff login that may view flags but not change them."""
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="flags", codename="view_flag"))
    client.force_login(user)
    return client


# --- the flag list ---------------------------------------------------------------------


def test_the_list_shows_the_flag_its_description_and_the_teams_it_is_on_for(admin_client, flag, team, other_team):
    """Listed teams minus blocked ones are "On for teams"; blocked teams have their own column."""
    third = TeamFactory(slug="initech")
    services.enable_for_teams(name=FLAG, teams=[team, other_team, third], actor=SETUP)
    services.disable_for_teams(name=FLAG, teams=[other_team], actor=SETUP)

    page = admin_client.get(flags_url()).content.decode()

    assert FLAG in page
    assert cell("description", "Team breakdown: grouped queries instead of the per-member loop") in page
    assert cell("on_for_teams", "acme, initech") in page
    assert cell("blocked", "globex") in page


def test_the_list_summarises_everyone_on_killed_percentage_and_unregistered_flags(admin_client, team):
    """everyone=True reads "all teams", everyone=False "killed"; a percentage is added to the listed teams."""
    services.set_everyone(name="metrics.key_metrics", everyone=True, actor=SETUP)
    services.set_everyone(name="metrics.pr_export", everyone=False, actor=SETUP)
    services.enable_for_teams(name="metrics.copilot_by_member", teams=[team], actor=SETUP)
    services.set_percent(name="metrics.copilot_by_member", percent="20", actor=SETUP)
    FlagFactory(name="legacy.beta_banner")

    page = admin_client.get(flags_url()).content.decode()

    assert cell("on_for_teams", "all teams") in page
    assert cell("on_for_teams", "killed") in page
    assert cell("on_for_teams", "acme + 20.0% of teams") in page
    assert cell("description", "unregistered") in page


@pytest.mark.parametrize(
    "names",
    [
        ["metrics.key_metrics", "metrics.team_breakdown"],
        [
            "integrations.copilot_sync",
            "metrics.ai_adoption_trend",
            "metrics.copilot_by_member",
            "metrics.copilot_metrics",
            "metrics.cycle_time_trend",
            "metrics.key_metrics",
            "metrics.pr_export",
            "metrics.pr_size_distribution",
            "metrics.recent_prs",
            "metrics.review_time_trend",
            "metrics.reviewer_workload",
            "metrics.team_breakdown",
            "metrics.weekly_aggregation",
        ],
    ],
    ids=["2 flags", "13 flags"],
)
def test_the_list_makes_the_same_number_of_queries_for_2_and_13_flags(
    admin_client, django_assert_num_queries, team, other_team, names
):
    """Session, user, two counts, the flags, one prefetch per team list, and the teams for the readiness column: 8.

    However many flags: no pair is registered here, so the readiness gate makes no query.
    """
    # Migrate gave every registered flag a row: delete the others, so the page lists 2 or 13 rows.
    Flag.objects.exclude(name__in=names).delete()
    third = TeamFactory()
    for name in names:
        services.enable_for_teams(name=name, teams=[team, other_team], actor=SETUP)
        services.disable_for_teams(name=name, teams=[third], actor=SETUP)

    with django_assert_num_queries(8):
        response = admin_client.get(flags_url())

    assert response.status_code == 200
    assert [flag.name for flag in response.context["cl"].result_list] == names


# --- the readiness column --------------------------------------------------------------

NOT_READY = {"globex": "31 of 50 comparisons in the last 14 days", "initech": "2 mismatches"}


@pytest.fixture
def guard_calls(monkeypatch):
    """The only enable guard: one query per call, whatever the number of teams; globex and initech are not ready.

    Yields the calls it received, as (flag name, team slugs).
    """
    calls: list[tuple[str, list[str]]] = []

    def guard(flag_name: str, teams: list) -> list[str]:
        calls.append((flag_name, [team.slug for team in teams]))
        known = set(Team.objects.filter(pk__in=[team.pk for team in teams]).values_list("slug", flat=True))
        return [f"{slug}: {NOT_READY[slug]}" for slug in sorted(known) if slug in NOT_READY]

    monkeypatch.setattr(extensions, "_enable_guards", [guard])
    return calls


def readiness_cell(page: str, flag: Flag) -> str:
    """The readiness cell of the flag's row."""
    row = page[page.index(f'value="{flag.pk}"'):]
    start = row.index('<td class="field-readiness">')
    return row[start:row.index("</td>", start) + len("</td>")]


def test_the_list_shows_how_many_teams_are_ready_and_why_the_others_are_not(admin_client, guard_calls, team, other_team):
    """One guard call per registered flag with every team; unregistered flags read "—"."""
    TeamFactory(slug="initech")
    stale = FlagFactory(name="legacy.beta_banner")

    page = admin_client.get(flags_url()).content.decode()

    assert readiness_cell(page, Flag.objects.get(name=FLAG)) == cell(
        "readiness",
        "1 of 3 teams ready<ul><li>globex: 31 of 50 comparisons in the last 14 days</li><li>initech: 2 mismatches</li></ul>",
    )
    assert readiness_cell(page, stale) == cell("readiness", "—")
    assert sorted(guard_calls) == [(name, ["acme", "globex", "initech"]) for name in ROLLOUT_FLAGS.names()]


def test_the_list_says_all_teams_ready_when_no_guard_refuses(admin_client, flag, team, other_team):
    """No guard refuses (no pair is registered in these tests): every team is ready."""
    page = admin_client.get(flags_url()).content.decode()

    assert readiness_cell(page, flag) == cell("readiness", "all 2 teams ready")


def test_the_readiness_reasons_are_escaped_and_cut_short_in_the_list(admin_client, monkeypatch, flag):
    """A reason is text, never markup; past five reasons the list says how many more there are."""
    for number in range(7):
        TeamFactory(slug=f"team-{number}")
    monkeypatch.setattr(
        extensions, "_enable_guards", [lambda name, teams: [f"{team.slug}: <b>no evidence</b>" for team in teams]]
    )

    page = admin_client.get(flags_url()).content.decode()

    listed = "".join(f"<li>team-{number}: &lt;b&gt;no evidence&lt;/b&gt;</li>" for number in range(5))
    assert readiness_cell(page, flag) == cell("readiness", f"0 of 7 teams ready<ul>{listed}<li>…and 2 more</li></ul>")


@pytest.mark.parametrize("team_count", [3, 12])
def test_the_list_makes_the_same_number_of_queries_for_3_and_12_teams(
    admin_client, django_assert_num_queries, guard_calls, team_count
):
    """The 7 queries of the list, one for the teams, and the guard's one per registered flag (13): 21 at any team count."""
    for number in range(team_count):
        TeamFactory(slug=f"team-{number:02d}")

    with django_assert_num_queries(7 + 1 + len(ROLLOUT_FLAGS.names())):
        response = admin_client.get(flags_url())

    assert response.status_code == 200
    assert len(guard_calls) == len(ROLLOUT_FLAGS.names())
    assert {len(slugs) for _, slugs in guard_calls} == {team_count}


def test_the_flag_page_shows_its_readiness_with_every_reason(admin_client, guard_calls, flag, team, other_team):
    """The change page shows the same summary, read-only, from one guard call for this flag."""
    TeamFactory(slug="initech")

    page = admin_client.get(change_url(flag)).content.decode()

    assert (
        "1 of 3 teams ready<ul><li>globex: 31 of 50 comparisons in the last 14 days</li>"
        "<li>initech: 2 mismatches</li></ul>"
    ) in page
    assert guard_calls == [(FLAG, ["acme", "globex", "initech"])]


# --- "Enable for teams…" / "Disable for teams…" ----------------------------------------


def test_the_enable_action_first_shows_a_confirmation_page(admin_client, flag, team):
    """Choosing the action shows the selected flags, a team multi-select and a reason field, with CSRF."""
    response = run_action(admin_client, "enable_for_teams", [flag])

    page = response.content.decode()
    assert response.status_code == 200
    assert TEAM_ACTION_TEMPLATE in [template.name for template in response.templates]
    assert "<strong>metrics.team_breakdown</strong>, now on for: none" in page
    assert 'name="teams"' in page
    assert 'name="reason"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    # The row came with migrate, whose creation is not audited; showing the page records nothing.
    assert FlagAudit.objects.filter(flag_name=FLAG).count() == 0


def test_enabling_for_teams_turns_the_flag_on_for_them_only_and_audits_it(admin_client, flag, team, other_team):
    """The confirmed action enables the chosen team, not another, and records who, why, off → on."""
    response = confirm_action(admin_client, "enable_for_teams", [flag], teams=[team], reason="Pilot with Acme")

    assert response.status_code == 302
    assert flags.is_enabled(FLAG, team=team) is True
    assert flags.is_enabled(FLAG, team=other_team) is False
    assert team_entries(FLAG) == [("acme", "user:admin", "Pilot with Acme", "off", "on")]
    assert messages_of(response) == [f"Enabled metrics.team_breakdown for acme. {REACHED}"]


def test_one_confirmation_enables_every_selected_flag(admin_client, flag, team, other_team):
    """With two flags selected, both are enabled for both chosen teams."""
    second = FlagFactory(name="metrics.key_metrics")

    confirm_action(admin_client, "enable_for_teams", [flag, second], teams=[team, other_team], reason="Wave 1")

    assert [flags.is_enabled(name, team=team) for name in (FLAG, "metrics.key_metrics")] == [True, True]
    assert [flags.is_enabled(name, team=other_team) for name in (FLAG, "metrics.key_metrics")] == [True, True]
    assert len(team_entries(FLAG) + team_entries("metrics.key_metrics")) == 4


def test_disabling_for_a_team_wins_over_the_percentage(admin_client, flag, settings):
    """Team 900002 falls inside 50 % (its bucket is 30 of 1000); disabling blocks it, team 900001 is untouched."""
    settings.FLAGS_PERCENT_SALT = "tformance-rollout"
    inside = TeamFactory(pk=900002, slug="inside")
    outside = TeamFactory(pk=900001, slug="outside")
    services.set_percent(name=FLAG, percent="50", actor=SETUP)
    assert flags.is_enabled(FLAG, team=inside) is True

    response = confirm_action(admin_client, "disable_for_teams", [flag], teams=[inside], reason="Rollback: slow page")

    flag.refresh_from_db()
    assert response.status_code == 302
    assert flags.is_enabled(FLAG, team=inside) is False
    assert flags.is_enabled(FLAG, team=outside) is False
    assert flag.percent == Decimal("50.0")
    assert [team.slug for team in flag.blocked_teams.all()] == ["inside"]
    assert team_entries(FLAG) == [("inside", "user:admin", "Rollback: slow page", "on", "off")]
    assert messages_of(response) == [f"Disabled metrics.team_breakdown for inside. {REACHED}"]


def test_the_next_evaluation_after_an_action_sees_the_change_even_with_a_warm_copy(
    admin_client, django_assert_num_queries, flag, team
):
    """is_enabled answers from the process's copy once warm; after the admin action the next answer is the new state."""
    assert flags.is_enabled(FLAG, team=team) is False
    with django_assert_num_queries(0):
        assert flags.is_enabled(FLAG, team=team) is False

    confirm_action(admin_client, "enable_for_teams", [flag], teams=[team], reason="Pilot")
    assert flags.is_enabled(FLAG, team=team) is True

    confirm_action(admin_client, "disable_for_teams", [flag], teams=[team], reason="Rollback")
    assert flags.is_enabled(FLAG, team=team) is False


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_missing_reason_re_renders_the_page_with_an_error_and_changes_nothing(admin_client, flag, team, reason):
    """No reason (or only spaces): the page comes back with the error; no team is enabled, nothing is audited."""
    response = confirm_action(admin_client, "enable_for_teams", [flag], teams=[team], reason=reason)

    assert response.status_code == 200
    assert TEAM_ACTION_TEMPLATE in [template.name for template in response.templates]
    assert "Give a reason: it is recorded in the audit log." in response.content.decode()
    assert flags.is_enabled(FLAG, team=team) is False
    assert list(flag.teams.all()) == []
    assert FlagAudit.objects.count() == 0  # the row came with migrate, unaudited


def test_choosing_no_team_re_renders_the_page_with_an_error_and_changes_nothing(admin_client, flag, team):
    """At least one team is required."""
    response = confirm_action(admin_client, "disable_for_teams", [flag], teams=[], reason="Rollback")

    assert response.status_code == 200
    assert "Choose at least one team." in response.content.decode()
    assert list(flag.blocked_teams.all()) == []
    assert FlagAudit.objects.count() == 0


def test_an_unregistered_flag_in_the_selection_is_refused_and_nothing_changes(admin_client, flag, team):
    """Selecting a flag the registry does not declare refuses the whole action with a clear message."""
    stale = FlagFactory(name="legacy.beta_banner")

    response = confirm_action(admin_client, "enable_for_teams", [flag, stale], teams=[team], reason="Pilot")

    assert response.status_code == 302
    assert messages_of(response)[0].startswith("Not a registered rollout flag: legacy.beta_banner. Nothing was changed")
    assert flags.is_enabled(FLAG, team=team) is False
    assert list(stale.teams.all()) == []
    assert team_entries(FLAG) + team_entries("legacy.beta_banner") == []


def test_staff_without_the_change_permission_are_not_offered_the_actions(viewer_client, flag):
    """A view-only staff user sees the list but neither team action."""
    response = viewer_client.get(flags_url())

    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert "Enable for teams" not in response.content.decode()


def test_staff_without_the_change_permission_cannot_run_the_actions(viewer_client, flag, team):
    """Posting the action or its confirmation anyway changes nothing and shows no confirmation page."""
    first = run_action(viewer_client, "enable_for_teams", [flag])
    confirmed = confirm_action(viewer_client, "enable_for_teams", [flag], teams=[team], reason="Sneaky")

    assert TEAM_ACTION_TEMPLATE not in [template.name for template in first.templates + confirmed.templates]
    assert flags.is_enabled(FLAG, team=team) is False
    assert FlagAudit.objects.count() == 0


# --- the change form -------------------------------------------------------------------


def change_form_data(flag: Flag, **overrides) -> dict:
    data = {
        "note": flag.note,
        "everyone": {None: "unknown", True: "true", False: "false"}[flag.everyone],
        "percent": "" if flag.percent is None else str(flag.percent),
        "teams": [team.pk for team in flag.teams.all()],
        "blocked_teams": [team.pk for team in flag.blocked_teams.all()],
    }
    return {**data, **overrides}


def change_url(flag: Flag) -> str:
    return reverse("admin:flags_flag_change", args=[flag.pk])


def test_changing_the_percentage_in_the_change_form_is_audited_to_the_user(admin_client, flag):
    """The flag-wide entry records the user, the form as reason, and the mode before and after."""
    response = admin_client.post(change_url(flag), change_form_data(flag, percent="20"))

    flag.refresh_from_db()
    assert response.status_code == 302
    assert flag.percent == Decimal("20.0")
    assert list(FlagAudit.objects.filter(actor="user:admin").values_list("team_id", "reason", "before", "after")) == [
        (None, "admin change form", "listed teams only", "listed teams + 20.0% of teams")
    ]


def test_the_kill_switch_in_the_change_form_is_audited_and_seen_at_once(admin_client, flag, team):
    """everyone = No turns the flag off for every team, including listed ones, at the next evaluation.

    The page also says when every other process serves the change (an INFO message).
    """
    services.enable_for_teams(name=FLAG, teams=[team], actor=SETUP)
    assert flags.is_enabled(FLAG, team=team) is True

    response = admin_client.post(change_url(flag), change_form_data(flag, everyone="false"))

    assert flags.is_enabled(FLAG, team=team) is False
    assert [
        message.message for message in get_messages(response.wsgi_request) if message.level == messages.INFO
    ] == [REACHED]
    assert list(FlagAudit.objects.filter(actor="user:admin").values_list("team_id", "before", "after")) == [
        (None, "listed teams only", "off for everyone (killed)")
    ]


def test_changing_the_team_lists_in_the_change_form_gives_one_entry_per_touched_team(
    admin_client, flag, team, other_team
):
    """Listing Acme and blocking Globex: one entry each, attributed to the user; an untouched team gets none."""
    TeamFactory(slug="initech")

    response = admin_client.post(
        change_url(flag), change_form_data(flag, teams=[team.pk], blocked_teams=[other_team.pk])
    )

    assert response.status_code == 302
    assert flags.is_enabled(FLAG, team=team) is True
    assert sorted(team_entries(FLAG)) == [
        ("acme", "user:admin", "admin change form", "off", "on"),
        ("globex", "user:admin", "admin change form", "off", "off"),
    ]


def test_the_change_form_refuses_a_team_both_listed_and_blocked(admin_client, flag, team):
    """Blocked wins over listed, so asking for both is an error; nothing is saved or audited."""
    response = admin_client.post(change_url(flag), change_form_data(flag, teams=[team.pk], blocked_teams=[team.pk]))

    assert response.status_code == 200
    assert "A team cannot be both listed and blocked (blocked wins): acme." in response.content.decode()
    assert list(flag.teams.all()) == []
    assert FlagAudit.objects.count() == 0


def test_the_change_form_refuses_a_percentage_outside_0_to_99_9(admin_client, flag):
    """100 % is "everyone on", not a percentage; the services' rule applies to the form too."""
    response = admin_client.post(change_url(flag), change_form_data(flag, percent="100"))

    flag.refresh_from_db()
    assert response.status_code == 200
    assert flag.percent is None


@pytest.mark.parametrize("page", ["change", "add"])
def test_the_help_texts_speak_of_teams_not_users(admin_client, flag, rollout_flag, page):
    """waffle's help texts (a percentage of users, overriding all other settings…) give way to what each field does per team."""
    url = change_url(flag) if page == "change" else reverse("admin:flags_flag_add")

    content = admin_client.get(url).content.decode()

    for help_text in (
        "On for this share of teams besides the listed ones (0.1 to 99.9; empty or 0: none).",
        "No: the kill switch, off for every team, whatever else is set.",
        "On for these teams (unless blocked or killed).",
        "Off for these teams whatever the percentage or everyone = Yes says: the per-team rollback, never refused.",
        "For operators: where the flag is used, which teams pilot it, what to watch.",
        "Users, groups, staff, superusers, authenticated users, testing and languages (waffle's settings) play no part",
    ):
        assert help_text in content
    for waffle_text in ("percentage of users", "for everyone, overriding all other settings", "Note where this Flag is used"):
        assert waffle_text not in content
    assert 'name="users"' not in content
    assert 'name="superusers"' not in content


def test_the_add_form_offers_only_registered_flags_without_a_row(admin_client, rollout_flag):
    """Migrate gave every flag registered then a row, so only one registered since (the test flag) is offered."""
    response = admin_client.get(reverse("admin:flags_flag_add"))

    offered = [value for value, _ in response.context["adminform"].form.fields["name"].choices]
    assert offered == [rollout_flag]


def test_adding_a_flag_in_the_admin_creates_it_off_with_an_attributed_entry(admin_client, rollout_flag):
    """The new row (a flag registered since migrate) gives superusers nothing special; its creation is audited to the user."""
    response = admin_client.post(
        reverse("admin:flags_flag_add"),
        {"name": rollout_flag, "note": "", "everyone": "unknown", "percent": "", "teams": [], "blocked_teams": []},
    )

    created = Flag.objects.get(name=rollout_flag)
    assert response.status_code == 302
    assert (created.everyone, created.percent, created.superusers) == (None, None, False)
    assert list(FlagAudit.objects.values_list("flag_name", "actor", "before", "after")) == [
        (rollout_flag, "user:admin", "absent", "listed teams only")
    ]


def test_a_registered_flag_cannot_be_deleted(admin_client, flag):
    """Deleting would drop its per-team blocks; the kill switch is the way to turn it off everywhere."""
    response = admin_client.post(reverse("admin:flags_flag_delete", args=[flag.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Flag.objects.filter(name=FLAG).exists()


def test_deleting_an_unregistered_flag_is_audited_to_the_user(admin_client):
    """A stale row (no longer in the registry) can be deleted; the deletion is attributed like any change."""
    stale = FlagFactory(name="legacy.beta_banner")

    response = admin_client.post(reverse("admin:flags_flag_delete", args=[stale.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Flag.objects.filter(name="legacy.beta_banner").exists()
    entries = FlagAudit.objects.filter(actor="user:admin").values_list("flag_name", "reason", "before", "after")
    assert list(entries) == [("legacy.beta_banner", "admin delete", "listed teams only", "deleted")]


def test_the_list_offers_only_the_two_team_actions(admin_client, flag):
    """waffle's "everyone on/off" and delete actions would bypass the services: they are not offered."""
    response = admin_client.get(flags_url())

    assert [name for name, _ in response.context["action_form"].fields["action"].choices] == [
        "",
        "enable_for_teams",
        "disable_for_teams",
    ]


# --- the audit log ---------------------------------------------------------------------


@pytest.fixture
def entry(flag, team) -> FlagAudit:
    services.enable_for_teams(name=FLAG, teams=[team], actor="cli:ops", reason="Pilot with Acme")
    return FlagAudit.objects.get(flag_name=FLAG, team_slug="acme")


def test_the_audit_list_and_entry_pages_render_for_a_superuser(admin_client, entry):
    """The list shows the entry's fields; its page shows it read-only."""
    listing = admin_client.get(reverse("admin:flags_flagaudit_changelist"))
    detail = admin_client.get(reverse("admin:flags_flagaudit_change", args=[entry.pk]))

    assert listing.status_code == 200
    assert cell("scope", "acme") in listing.content.decode()
    assert cell("actor", "cli:ops") in listing.content.decode()
    assert detail.status_code == 200
    assert "Pilot with Acme" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()


def test_the_audit_log_has_no_actions_so_no_delete_action(admin_client, entry):
    """No action form at all on the audit list."""
    response = admin_client.get(reverse("admin:flags_flagaudit_changelist"))

    assert response.context["action_form"] is None
    assert "delete_selected" not in response.content.decode()


def test_audit_entries_cannot_be_added_in_the_admin(admin_client):
    """The add page is refused."""
    assert admin_client.get(reverse("admin:flags_flagaudit_add")).status_code == 403


def test_audit_entries_cannot_be_deleted_in_the_admin(admin_client, entry):
    """The delete page is refused, and the entry stays."""
    response = admin_client.post(reverse("admin:flags_flagaudit_delete", args=[entry.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert FlagAudit.objects.filter(pk=entry.pk).exists()


def test_audit_entries_cannot_be_changed_in_the_admin(admin_client, entry):
    """A POST to the entry's page is refused and the row keeps its values."""
    response = admin_client.post(
        reverse("admin:flags_flagaudit_change", args=[entry.pk]),
        {"flag_name": FLAG, "actor": "user:mallory", "before": "on", "after": "off", "reason": "rewritten"},
    )

    entry.refresh_from_db()
    assert response.status_code == 403
    assert (entry.actor, entry.before, entry.after, entry.reason) == ("cli:ops", "off", "on", "Pilot with Acme")
