# Every change of a flag takes its next version from one sequence (flags.store), so versions only grow.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("flags", "0002_team_rollout_and_audit"),
    ]

    operations = [
        migrations.AddField(
            model_name="flag",
            name="version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunSQL(
            sql="CREATE SEQUENCE flags_flag_version_seq; "
            "UPDATE flags_flag SET version = nextval('flags_flag_version_seq');",
            reverse_sql="DROP SEQUENCE flags_flag_version_seq;",
        ),
    ]
