import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.teams.models import Membership, Team


class Command(BaseCommand):
    help = "Create or reset the demo admin login, make it a member of every team, and print it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=options["username"])
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        for team in Team.objects.all():
            Membership.objects.get_or_create(user=user, team=team, defaults={"role": Membership.Role.ADMIN})
        self.stdout.write(f"Log in at http://127.0.0.1:8000/login/ as {user.username} / {password}")
