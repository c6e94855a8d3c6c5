"""TeamMember.is_bot: set for GitHub app logins when a member is created or its login changes, kept by hand."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from apps.metrics.models import TeamMember
from apps.metrics.models.members import is_bot_login
from tests.factories import TeamMemberFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("login", "bot"),
    [
        ("dependabot[bot]", True),
        ("renovate[bot]", True),
        ("Renovate[BOT]", True),
        (" github-actions[bot] ", True),
        ("hubot", False),
        ("bot", False),
        ("[bot]-fan", False),
        ("", False),
    ],
)
def test_bot_logins(login, bot):
    assert is_bot_login(login) is bot


def test_created_with_a_bot_login_is_a_bot(team):
    assert TeamMemberFactory(team=team, github_username="dependabot[bot]").is_bot is True
    assert TeamMemberFactory(team=team, github_username="octocat").is_bot is False


def test_a_changed_login_moves_the_automatic_flag(team):
    member = TeamMemberFactory(team=team, github_username="octocat")

    member.github_username = "Renovate[Bot]"
    member.save(update_fields=["github_username"])
    assert TeamMember.objects.get(pk=member.pk).is_bot is True

    loaded = TeamMember.objects.get(pk=member.pk)
    loaded.github_username = "octocat"
    loaded.save()
    assert TeamMember.objects.get(pk=member.pk).is_bot is False


def test_a_flag_set_by_hand_stays(team):
    """An automation account without a [bot] login is flagged by hand, and stays flagged; a bot login can be
    unflagged by hand as long as the login does not change."""
    ci = TeamMemberFactory(team=team, github_username="ci-user", is_bot=True)
    ci.github_username = "ci-user-2"
    ci.save()
    assert TeamMember.objects.get(pk=ci.pk).is_bot is True

    bot = TeamMember.objects.get(pk=TeamMemberFactory(team=team, github_username="dependabot[bot]").pk)
    bot.is_bot = False
    bot.display_name = "Not a bot after all"
    bot.save()
    assert TeamMember.objects.get(pk=bot.pk).is_bot is False


def test_the_migration_flags_stored_bots(team):
    """Rows stored before the flag existed (written without save()) are flagged by the data migration."""
    stored = TeamMember.objects.bulk_create([
        TeamMember(team=team, display_name=name, github_username=login, github_id=str(number))
        for number, (name, login) in enumerate([("dependabot", "dependabot[bot]"), ("Ana", "ana"), ("R", "RENOVATE[BOT]")])
    ])
    assert [member.is_bot for member in stored] == [False, False, False]

    migration = importlib.import_module("apps.metrics.migrations.0004_teammember_is_bot")
    migration.flag_existing_bots(django_apps, None)

    assert list(TeamMember.objects.filter(team=team).order_by("github_id").values_list("is_bot", flat=True)) == [
        True, False, True,
    ]


def test_the_admin_lists_filters_and_edits_the_flag(admin_client, team):
    bot = TeamMemberFactory(team=team, display_name="dependabot", github_username="dependabot[bot]")
    human = TeamMemberFactory(team=team, display_name="Ana Souza")

    listed = admin_client.get("/admin/metrics/teammember/?is_bot__exact=1")
    assert listed.status_code == 200
    assert "dependabot" in listed.content.decode()
    assert "Ana Souza" not in listed.content.decode()

    form = admin_client.get(f"/admin/metrics/teammember/{human.pk}/change/")
    assert 'name="is_bot"' in form.content.decode()
    response = admin_client.post(
        f"/admin/metrics/teammember/{human.pk}/change/",
        {
            "team": team.pk, "display_name": "Ana Souza", "github_username": human.github_username,
            "github_id": human.github_id, "email": human.email, "role": "developer", "is_active": "on",
            "is_bot": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TeamMember.objects.get(pk=human.pk).is_bot is True
    assert TeamMember.objects.get(pk=bot.pk).is_bot is True
