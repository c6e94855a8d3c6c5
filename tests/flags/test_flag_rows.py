"""Every registered rollout flag has its row once migrate has run (flags.signals.create_flag_rows)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate

from flags import signals
from flags.models import Flag, FlagAudit
from flags.registry import ROLLOUT_FLAGS

pytestmark = pytest.mark.django_db

FLAG = "metrics.team_breakdown"


def rows() -> list[tuple]:
    return list(
        Flag.objects.order_by("name").values_list("name", "everyone", "percent", "superusers", "teams", "blocked_teams")
    )


def send_post_migrate(**kwargs) -> None:
    """post_migrate as migrate sends it to the flags app."""
    post_migrate.send(
        sender=apps.get_app_config("flags"), app_config=apps.get_app_config("flags"),
        verbosity=0, interactive=False, using=DEFAULT_DB_ALIAS, **kwargs,
    )


def test_migrate_created_every_registered_flag_off_and_audited_nothing():
    """As services.get_or_create_flag creates them: off for every team, superusers nothing special, no entry."""
    assert rows() == [(name, None, None, False, None, None) for name in ROLLOUT_FLAGS.names()]
    assert FlagAudit.objects.count() == 0


def test_migrating_again_creates_nothing_and_audits_nothing(team):
    """Idempotent: existing rows keep their state (listed teams, the kill switch), no row or entry is added."""
    flag = Flag.objects.get(name=FLAG)
    flag.teams.add(team)
    Flag.objects.filter(name="metrics.pr_export").update(everyone=False)
    before_rows, before_entries = rows(), list(FlagAudit.objects.values_list("pk", flat=True))

    call_command("migrate", verbosity=0, interactive=False)

    assert rows() == before_rows
    assert list(FlagAudit.objects.values_list("pk", flat=True)) == before_entries


def test_a_missing_row_is_created_again_off_on_the_next_migrate():
    """A registered flag whose row was deleted gets it back, off, and only the deletion is in the audit log."""
    Flag.objects.get(name=FLAG).delete()

    call_command("migrate", verbosity=0, interactive=False)

    assert Flag.objects.filter(name=FLAG).values_list("everyone", "percent", "superusers").get() == (None, None, False)
    assert list(FlagAudit.objects.values_list("flag_name", "before", "after")) == [
        (FLAG, "listed teams only", "deleted"),
    ]


def test_a_row_created_by_a_service_is_still_audited(rollout_flag, team):
    """Only migrate's own creation goes unaudited: a flag registered since migrate gets its "absent" entry on first use."""
    from flags import services

    services.enable_for_teams(name=rollout_flag, teams=[team], actor="user:bob")

    assert list(FlagAudit.objects.filter(flag_name=rollout_flag).values_list("team_slug", "before", "after")) == [
        ("", "absent", "listed teams only"),
        ("acme", "off", "on"),
    ]


def test_nothing_is_created_while_the_latest_flags_migration_is_not_applied(monkeypatch, rollout_flag):
    """A partial migrate that stops short of the flags tables' current schema leaves them alone, without an error."""
    from django.db.migrations.recorder import MigrationRecorder

    assert signals.flags_migrated(DEFAULT_DB_ALIAS) is True
    recorded = MigrationRecorder.applied_migrations

    def without_the_latest_flags_migration(recorder):
        applied = recorded(recorder)
        latest = max(key for key in applied if key[0] == "flags")
        return {key: value for key, value in applied.items() if key != latest}

    monkeypatch.setattr(MigrationRecorder, "applied_migrations", without_the_latest_flags_migration)

    assert signals.flags_migrated(DEFAULT_DB_ALIAS) is False
    send_post_migrate()
    assert not Flag.objects.filter(name=rollout_flag).exists()


def test_a_post_migrate_for_another_app_does_nothing(rollout_flag):
    """The handler listens to the flags app's post_migrate only: once per migrate, not once per app."""
    post_migrate.send(
        sender=apps.get_app_config("teams"), app_config=apps.get_app_config("teams"),
        verbosity=0, interactive=False, using=DEFAULT_DB_ALIAS,
    )

    assert not Flag.objects.filter(name=rollout_flag).exists()


def test_post_migrate_for_flags_creates_a_newly_registered_flag_without_an_entry(rollout_flag):
    """A flag registered since the last migrate gets its row, off, on the next one; nothing is audited."""
    send_post_migrate()

    assert Flag.objects.filter(name=rollout_flag).values_list("everyone", "percent", "superusers").get() == (
        None, None, False,
    )
    assert FlagAudit.objects.count() == 0
