from django.db import migrations, models
from django.db.models.functions import Lower, Trim

# The rule of apps.metrics.models.members.is_bot_login, in SQL: a GitHub app's login ends in "[bot]".
BOT_LOGIN_SUFFIX = "[bot]"


def flag_existing_bots(apps, schema_editor):
    TeamMember = apps.get_model("metrics", "TeamMember")
    TeamMember.objects.annotate(login=Lower(Trim("github_username"))).filter(
        login__endswith=BOT_LOGIN_SUFFIX
    ).update(is_bot=True)


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_team_data_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="teammember",
            name="is_bot",
            field=models.BooleanField(
                default=False, db_default=False, help_text="Automation account: left out of the per-person cards."
            ),
        ),
        # Members stored before the flag existed; the data version triggers move each team's version.
        migrations.RunPython(flag_existing_bots, migrations.RunPython.noop),
    ]
