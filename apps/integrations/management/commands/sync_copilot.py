"""Sync Copilot usage from GitHub now, for one team or every integrated team."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from apps.integrations.errors import IntegrationError
from apps.integrations.services.copilot_sync import sync_copilot_metrics, yesterday_utc
from apps.teams.models import Team


def iso_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--day must be a date in YYYY-MM-DD format, got {value!r}") from None


class Command(BaseCommand):
    help = (
        "Fetch the GitHub Copilot users-1-day report and store it as daily usage. "
        "Default: every team with a GitHub integration, for yesterday (UTC). Exits 1 if any team failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", metavar="SLUG", help="Only this team.")
        parser.add_argument("--day", metavar="YYYY-MM-DD", help="Report day (default: yesterday UTC).")

    def handle(self, *args, team: str | None, day: str | None, **options) -> None:
        report_day = iso_day(day) if day else yesterday_utc()
        if team:
            teams = list(Team.objects.filter(slug=team))
            if not teams:
                raise CommandError(f"No team with slug {team!r}")
        else:
            teams = list(
                Team.objects.filter(github_integration__isnull=False)
                .exclude(github_integration__org_slug="")
                .order_by("slug")
            )
            if not teams:
                self.stdout.write("No team has a GitHub integration; nothing to sync.")
                return

        failed = []
        for each in teams:
            try:
                summary = sync_copilot_metrics(team=each, day=report_day)
            except IntegrationError as exc:
                failed.append(each.slug)
                self.stderr.write(f"{each.slug} {report_day}: failed: {exc}")
                continue
            self.stdout.write(
                f"{each.slug} {report_day}: {summary.status}: {summary.records} records, {summary.stored} stored, "
                f"{summary.unmatched} unmatched, {summary.malformed} malformed"
            )
            for problem in summary.problems:
                self.stdout.write(f"  skipped {problem}")
        if failed:
            raise CommandError(f"Copilot sync failed for {len(failed)} of {len(teams)} teams: {', '.join(failed)}")
