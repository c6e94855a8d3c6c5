"""The flags admin checks the rollout permissions: changing a flag needs flags.change_rollout besides
Django's change_flag, and forcing past the readiness gate needs flags.force_rollout, in the team actions
and in the change form alike."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

import flags
from flags import extensions
from flags.models import Flag, FlagAudit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FLAG = "metrics.team_breakdown"


@pytest.fixture(autouse=True)
def refusing_gate(monkeypatch):
    """The only enable guard refuses every team."""
    monkeypatch.setattr(extensions, "_enable_guards", [lambda name, teams: [f"{team.slug}: not ready" for team in teams]])


def staff_with(client, *codenames: str):
    user = UserFactory(username="operator", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="flags", codename__in=codenames))
    client.force_login(user)
    return client


def force_enable(client, team):
    flag = Flag.objects.get(name=FLAG)
    return client.post(reverse("admin:flags_flag_changelist"), {
        "action": "enable_for_teams", "_selected_action": [flag.pk], "confirm": "yes",
        "teams": [team.pk], "reason": "hotfix", "force": "on",
    })


def force_in_change_form(client, *teams):
    """The change form's POST listing exactly these teams (the form replaces the list)."""
    flag = Flag.objects.get(name=FLAG)
    return client.post(reverse("admin:flags_flag_change", args=[flag.pk]), {
        "note": "", "everyone": "unknown", "percent": "", "teams": [team.pk for team in teams], "blocked_teams": [],
        "force": "on", "force_reason": "hotfix",
    })


def test_without_change_rollout_the_flag_cannot_be_changed(client, team):
    """change_flag alone: the flag's page is read-only, actions are not offered, a posted action changes nothing."""
    client = staff_with(client, "view_flag", "change_flag")
    flag = Flag.objects.get(name=FLAG)

    page = client.get(reverse("admin:flags_flag_change", args=[flag.pk])).content.decode()
    assert 'name="_save"' not in page
    assert "Enable for teams" not in client.get(reverse("admin:flags_flag_changelist")).content.decode()
    force_enable(client, team)
    assert force_in_change_form(client, team).status_code == 403
    assert not flags.is_enabled(FLAG, team=team)
    assert not FlagAudit.objects.filter(flag_name=FLAG).exists()


def test_forcing_in_a_team_action_needs_force_rollout(client, team):
    client = staff_with(client, "view_flag", "change_flag", "change_rollout")

    response = force_enable(client, team)

    assert response.status_code == 200
    assert "Forcing past the readiness gate needs the flags.force_rollout permission." in response.content.decode()
    assert not flags.is_enabled(FLAG, team=team)
    assert not FlagAudit.objects.filter(flag_name=FLAG).exists()


def test_forcing_in_the_change_form_needs_force_rollout(client, team):
    client = staff_with(client, "view_flag", "change_flag", "change_rollout")

    response = force_in_change_form(client, team)

    assert response.status_code == 200
    assert "Forcing past the readiness gate needs the flags.force_rollout permission." in response.content.decode()
    assert not flags.is_enabled(FLAG, team=team)


def test_with_force_rollout_both_paths_force(client, team, other_team):
    client = staff_with(client, "view_flag", "change_flag", "change_rollout", "force_rollout")

    assert force_enable(client, team).status_code == 302
    assert force_in_change_form(client, team, other_team).status_code == 302

    assert flags.is_enabled(FLAG, team=team)
    assert flags.is_enabled(FLAG, team=other_team)
    assert FlagAudit.objects.filter(flag_name=FLAG, reason__startswith="FORCED past readiness gate").count() == 2
