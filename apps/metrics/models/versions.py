from django.db import models


class TeamDataVersion(models.Model):
    """The version of a team's metrics rows, moved by PostgreSQL itself (migration 0003), never by the app.

    Statement-level triggers on every table the dashboard reads note each team
    a statement writes rows of; when the writing transaction commits, each of
    those teams gets one new version from the `metrics_teamdataversion_seq`
    sequence. A TRUNCATE of one of those tables moves every team's. Cached
    metrics carry the version in their key (apps.metrics.cache). A team
    without a row has version 0. The foreign key is PostgreSQL's own, ON
    DELETE CASCADE, so the ORM leaves the row to the database when a team is
    deleted.
    """

    team = models.OneToOneField(
        "teams.Team", primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"team {self.team_id} data version {self.version}"
