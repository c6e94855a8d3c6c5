"""The performance plan's five composite indexes, built CONCURRENTLY so tables stay writable.

CREATE INDEX CONCURRENTLY cannot run inside a transaction, hence atomic = False.
Reversing drops them concurrently too.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("metrics", "0001_initial"),
        ("teams", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="pullrequest",
            index=models.Index(fields=["team", "state", "merged_at"], name="pr_team_state_merged_idx"),
        ),
        AddIndexConcurrently(
            model_name="pullrequest",
            index=models.Index(fields=["team", "author", "merged_at"], name="pr_team_author_merged_idx"),
        ),
        AddIndexConcurrently(
            model_name="pullrequest",
            index=models.Index(fields=["team", "pr_created_at"], name="pr_team_created_idx"),
        ),
        AddIndexConcurrently(
            model_name="teammember",
            index=models.Index(fields=["team", "github_username"], name="member_team_gh_username_idx"),
        ),
        AddIndexConcurrently(
            model_name="teammember",
            index=models.Index(fields=["team", "is_active"], name="member_team_active_idx"),
        ),
    ]
