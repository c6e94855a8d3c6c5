import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

import shadow
from apps.metrics.demo import DemoSpec, demo_end_date, seed_demo, write_demo_reports

# The pair the demo's rollout plan is for: the console explains, team by team, what the autopilot would do.
SAMPLE_PLAN_PAIR = "metrics.team_breakdown"


class Command(BaseCommand):
    help = "Replace the demo teams (demo-1…demo-N) with deterministic demo data."

    def add_arguments(self, parser):
        parser.add_argument("--teams", type=int, default=3)
        parser.add_argument("--members", type=int, default=50, help="members per team")
        parser.add_argument("--prs", type=int, default=10_000, help="pull requests per team")
        parser.add_argument("--days", type=int, default=90, help="length of the history, ending at --end-date")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--end-date",
            type=dt.date.fromisoformat,
            default=None,
            help="last day of history, YYYY-MM-DD; default yesterday (UTC)",
        )
        parser.add_argument(
            "--reports-dir",
            type=Path,
            default=None,
            help="also record the Copilot reports of the last day here, for serve_github_stub",
        )

    def handle(self, *args, **options):
        for name in ("teams", "members", "days"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1")
        if options["prs"] < 0:
            raise CommandError("--prs must not be negative")
        spec = DemoSpec(
            teams=options["teams"],
            members=options["members"],
            prs=options["prs"],
            days=options["days"],
            seed=options["seed"],
            end_date=options["end_date"],
        )
        slugs = []
        for seeded in seed_demo(spec):
            slugs.append(seeded.team.slug)
            self.stdout.write(
                f"{seeded.team.slug} ({seeded.team.name}): {seeded.members} members, {seeded.prs} PRs, "
                f"{seeded.reviews} reviews, {seeded.commits} commits, {seeded.surveys} surveys, "
                f"{seeded.usage_rows} Copilot days"
            )
        # Dry run: the autopilot only explains the plan until someone starts it; a plan already there is kept.
        if shadow.sample_plan(SAMPLE_PLAN_PAIR, team_slugs=slugs):
            self.stdout.write(
                f"Created a rollout plan for {SAMPLE_PLAN_PAIR} in dry run: the console shows what the autopilot would do"
            )
        if options["reports_dir"] is not None:
            day = demo_end_date(spec)
            count = write_demo_reports(options["reports_dir"], day=day)
            self.stdout.write(f"Recorded {count} Copilot reports for {day} under {options['reports_dir']}")
