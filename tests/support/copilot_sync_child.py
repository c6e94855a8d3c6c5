"""One process of the write-pair concurrency test: run integrations.copilot_sync repeatedly, each report shuffled.

Usage: python -m tests.support.copilot_sync_child <team id> <runs> <seed>
Every process sends the same records (their counts derive from the login), in
its own random order each run; it prints a JSON line with the errors that
reached it as the caller.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys

import django

DAY = dt.date(2026, 11, 30)


def main(team_id: int, runs: int, seed: int) -> None:
    django.setup()
    from apps.integrations.services.copilot_sync import sync_copilot_usage
    from apps.metrics.models import TeamMember
    from apps.teams.models import Team

    team = Team.objects.get(pk=team_id)
    logins = TeamMember.objects.filter(team=team).order_by("id").values_list("github_username", flat=True)
    records = [expected_record(login, number) for number, login in enumerate(logins)]
    shuffle = random.Random(seed).shuffle
    errors = []
    for _ in range(runs):
        shuffle(records)
        try:
            sync_copilot_usage(team=team, records=list(records))
        except Exception as error:
            errors.append(f"{type(error).__name__}: {str(error)[:300]}")
    print(json.dumps({"errors": errors}))


def expected_record(login: str, number: int):
    from apps.integrations.services.copilot_sync import CopilotUsageRecord

    return CopilotUsageRecord(login=login, day=DAY, shown=10 + number, accepted=number % 7)


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:4]))
