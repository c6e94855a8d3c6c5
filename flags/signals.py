"""Cache invalidation and audit entries for every change of a flag, and a row for every
registered flag after migrate (connected in FlagsConfig.ready)."""

from __future__ import annotations

from contextvars import ContextVar
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections, models, router, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from flags import audit, services
from flags.audit import by_flag, effective_states, team_slugs, write_entry
from flags.models import Flag
from flags.registry import ROLLOUT_FLAGS
from flags.rules import describe_flag_mode

if TYPE_CHECKING:
    from django.apps import AppConfig

# True while migrate creates the missing rows: their creation is not audited (see create_flag_rows).
_creating_rows_on_migrate: ContextVar[bool] = ContextVar("flags_creating_rows_on_migrate", default=False)


def flag_mode(everyone: bool | None, percent: Decimal | None) -> str:
    normalised = None if percent is None else Decimal(percent).quantize(Decimal("0.1"))
    return describe_flag_mode(everyone, normalised)


# --- the flag row: everyone / percent, creation, deletion ---------------------------


def remember_previous_mode(sender: type[Flag], instance: Flag, **kwargs: Any) -> None:
    previous = Flag.objects.filter(pk=instance.pk).values("everyone", "percent").first() if instance.pk else None
    instance._flags_previous_mode = flag_mode(previous["everyone"], previous["percent"]) if previous else None
    attribution = audit.current()
    if previous and attribution is not None:
        # Team entries of this block compare against the state before the block, not after this save.
        attribution.previous_modes.setdefault(instance.pk, (previous["everyone"], previous["percent"]))


def audit_flag_saved(sender: type[Flag], instance: Flag, created: bool, **kwargs: Any) -> None:
    if created and _creating_rows_on_migrate.get():
        return
    mode = flag_mode(instance.everyone, instance.percent)
    previous = getattr(instance, "_flags_previous_mode", None)
    if created or previous is None:
        before = "absent"
    elif previous == mode:
        return
    else:
        before = previous
    write_entry(flag_name=instance.name, team_id=None, team_slug="", before=before, after=mode)


def audit_flag_deleted(sender: type[Flag], instance: Flag, **kwargs: Any) -> None:
    write_entry(
        flag_name=instance.name,
        team_id=None,
        team_slug="",
        before=flag_mode(instance.everyone, instance.percent),
        after="deleted",
    )


# --- the team lists -----------------------------------------------------------------


# `instance` (Any) is the side the lists were changed from: a Flag, or a Team when `reverse`.
def _touched_pairs(instance: Any, relation: str, reverse: bool, pk_set: set[int] | None) -> list[tuple[Flag, int]]:
    if not reverse:  # flag.teams.add(team, …): pk_set holds team ids
        team_ids = pk_set if pk_set is not None else set(getattr(instance, relation).values_list("pk", flat=True))
        return [(instance, team_id) for team_id in sorted(team_ids)]
    reverse_name = "flags" if relation == "teams" else "blocked_flags"
    flags = Flag.objects.filter(pk__in=pk_set) if pk_set is not None else getattr(instance, reverse_name).all()
    return [(flag, instance.pk) for flag in flags]


def team_lists_changed(
    sender: type[models.Model], instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    relation = "teams" if sender is Flag.teams.through else "blocked_teams"
    if action.startswith("pre_"):
        pairs = _touched_pairs(instance, relation, reverse, pk_set)
        slugs = team_slugs({team_id for _, team_id in pairs})
        attribution = audit.current()
        previous_modes = attribution.previous_modes if attribution is not None else {}
        instance._flags_touched = []
        for flag, team_ids in by_flag(pairs).values():
            states = effective_states(flag, team_ids, previous_modes.get(flag.pk))
            instance._flags_touched += [(flag, team_id, slugs.get(team_id, ""), states[team_id]) for team_id in team_ids]
        if attribution is not None:
            for flag, team_id, slug, before in instance._flags_touched:
                attribution.pending.setdefault((flag.pk, team_id), (flag.name, slug, before))
        return
    touched = getattr(instance, "_flags_touched", [])
    instance._flags_touched = []
    grouped = by_flag((flag, team_id) for flag, team_id, *_ in touched)
    for flag, _ in grouped.values():
        flag.mark_changed()
    if audit.current() is None:
        after = {flag.pk: effective_states(flag, team_ids) for flag, team_ids in grouped.values()}
        for flag, team_id, slug, before in touched:
            write_entry(
                flag_name=flag.name,
                team_id=team_id,
                team_slug=slug,
                before=audit.on_off(before),
                after=audit.on_off(after[flag.pk][team_id]),
            )


# --- a row for every registered flag, on migrate --------------------------------------


def flags_migrated(using: str) -> bool:
    """Whether every migration of the flags app is applied on `using` (a partial migrate may stop short)."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    wanted = {node for node in loader.graph.leaf_nodes() if node[0] == Flag._meta.app_label}
    return bool(wanted) and wanted <= loader.applied_migrations.keys()


def create_flag_rows(sender: AppConfig, *, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs: Any) -> None:
    """post_migrate (also sent by `flush`): create the row of every registered flag that has none.

    Rows are created off, by services.get_or_create_flag. No audit entry: a
    missing row already reads as off for every team, so creating it changes
    no team's state, and `rollout status` keeps "—" as since/by for teams
    nobody has switched. Idempotent: existing rows are left as they are.
    """
    if not router.allow_migrate_model(using, Flag) or not flags_migrated(using):
        return
    existing = set(Flag.objects.using(using).filter(name__in=ROLLOUT_FLAGS.names()).values_list("name", flat=True))
    missing = [name for name in ROLLOUT_FLAGS.names() if name not in existing]
    token = _creating_rows_on_migrate.set(True)
    try:
        with transaction.atomic(using=using):
            for name in missing:
                services.get_or_create_flag(name, using=using)
                if verbosity >= 2:
                    print(f"Adding rollout flag row '{name}'")
    finally:
        _creating_rows_on_migrate.reset(token)


def connect() -> None:
    pre_save.connect(remember_previous_mode, sender=Flag, dispatch_uid="flags-remember-mode")
    post_save.connect(audit_flag_saved, sender=Flag, dispatch_uid="flags-audit-saved")
    post_delete.connect(audit_flag_deleted, sender=Flag, dispatch_uid="flags-audit-deleted")
    m2m_changed.connect(team_lists_changed, sender=Flag.teams.through, dispatch_uid="flags-teams")
    m2m_changed.connect(team_lists_changed, sender=Flag.blocked_teams.through, dispatch_uid="flags-blocked-teams")
