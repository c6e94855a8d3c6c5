"""A test-only Celery task that evaluates a flag for a team id, as real tasks do."""

from celery import shared_task

import flags
from apps.teams.models import Team


@shared_task(name="tests.flags.tasks.flag_state_task")
def flag_state_task(flag_name: str, team_id: int) -> bool:
    return flags.is_enabled(flag_name, team=Team.objects.get(pk=team_id))
