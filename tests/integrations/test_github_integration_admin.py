"""The GitHubIntegration admin never shows the token and keeps it when the field is left blank."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.integrations.models import GitHubIntegration
from tests.factories import GitHubIntegrationFactory

pytestmark = pytest.mark.django_db

TOKEN = "ghp_adminsecret0000007"


@pytest.fixture
def integration(team):
    return GitHubIntegrationFactory(team=team, org_slug="acme", access_token=TOKEN)


def change_url(integration: GitHubIntegration) -> str:
    return reverse("admin:integrations_githubintegration_change", args=[integration.pk])


def test_the_change_page_does_not_contain_the_token(admin_client, integration):
    """The token field renders empty, with a hint that blank keeps the current one."""
    response = admin_client.get(change_url(integration))

    assert response.status_code == 200
    assert TOKEN not in response.content.decode()
    assert "Leave blank to keep the current token." in response.content.decode()


def test_the_list_page_shows_whether_a_token_is_set_but_not_the_token(admin_client, integration):
    """The list has a "Token set" column, never the value."""
    response = admin_client.get(reverse("admin:integrations_githubintegration_changelist"))

    assert response.status_code == 200
    assert "Token set" in response.content.decode()
    assert TOKEN not in response.content.decode()


def test_saving_with_a_blank_token_keeps_the_old_one(admin_client, integration, team):
    """Editing the org without retyping the token leaves the stored token as it was."""
    response = admin_client.post(
        change_url(integration), {"team": team.pk, "org_slug": "acme-renamed", "access_token": ""}
    )

    integration.refresh_from_db()
    assert response.status_code == 302
    assert (integration.org_slug, integration.access_token) == ("acme-renamed", TOKEN)


def test_saving_with_a_new_token_replaces_it(admin_client, integration, team):
    """A typed token is stored."""
    admin_client.post(change_url(integration), {"team": team.pk, "org_slug": "acme", "access_token": "ghp_rotated0001"})

    integration.refresh_from_db()
    assert integration.access_token == "ghp_rotated0001"
