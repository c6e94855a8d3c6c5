"""A per-team data version kept by PostgreSQL: cached metrics follow every write, whatever path made it.

Statement-level AFTER INSERT / UPDATE / DELETE triggers with transition
tables on every table whose rows feed the dashboard find the teams a
statement touched (an update counts the teams of the old and of the new
rows), however it was sent: ORM save, QuerySet.update(), bulk operations,
the admin, raw SQL, COPY. A TRUNCATE of one of those tables (it fires no
row or transition-table trigger) counts as touching every team.

Each touched team gets a row in metrics_teamdatapending, keyed by team and
transaction, with a fresh *mark* for every statement. Only the writing
transaction can see it: a cached read there is keyed by the committed
version and that mark, so the writer reads its own rows, and nobody else
ever reads that entry. At commit a deferred constraint trigger deletes the
transaction's pending rows and gives each of its teams a new version, in
team id order, with INSERT … ON CONFLICT DO UPDATE on
metrics_teamdataversion: the new version becomes visible with the rows.

Why not update the version row in every statement: the row lock would then
be held from a transaction's first write to its commit, so every two writers
of a team would queue on it, and two multi-statement writers touching the
same rows in opposite orders would deadlock where they now do not. Here a
team's writers only queue on it between their commit triggers and commit.

Marks and versions come from one sequence, so they only grow, and a number
handed out in a transaction that rolls back is never handed out again. The
version is taken after the team's row is locked (the DO UPDATE expression),
so a team's versions grow in commit order. A team deleted in the
transaction is skipped (its version row goes with it, ON DELETE CASCADE).
"""

from django.db import migrations, models

# Every table the dashboard reads, all with a team_id column (TeamOwnedModel).
TABLES = [
    "metrics_pullrequest",
    "metrics_prreview",
    "metrics_commit",
    "metrics_prsurvey",
    "metrics_prsurveyreview",
    "metrics_aiusagedaily",
    "metrics_teammember",
    "metrics_weeklymetrics",
]

FUNCTIONS = """
CREATE SEQUENCE metrics_teamdataversion_seq;

ALTER TABLE metrics_teamdataversion
    ADD CONSTRAINT metrics_teamdataversion_team_id_fk
    FOREIGN KEY (team_id) REFERENCES teams_team (id) ON DELETE CASCADE;

CREATE TABLE metrics_teamdatapending (
    team_id bigint NOT NULL,
    xact xid8 NOT NULL,
    mark bigint NOT NULL,
    PRIMARY KEY (team_id, xact)
);
CREATE INDEX metrics_teamdatapending_xact ON metrics_teamdatapending (xact);

-- Every statement: the touched teams' pending rows of this transaction get a new mark.
CREATE FUNCTION metrics_team_data_written(team_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO metrics_teamdatapending (team_id, xact, mark)
    SELECT touched.team_id, pg_current_xact_id(), nextval('metrics_teamdataversion_seq')
    FROM unnest(team_ids) AS touched (team_id)
    ON CONFLICT (team_id, xact) DO UPDATE SET mark = nextval('metrics_teamdataversion_seq')
$$;

CREATE FUNCTION metrics_team_data_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT team_id) INTO touched FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT team_id) INTO touched FROM old_rows;
    ELSE
        SELECT array_agg(team_id) INTO touched
        FROM (SELECT team_id FROM old_rows UNION SELECT team_id FROM new_rows) AS changed;
    END IF;
    IF touched IS NOT NULL THEN
        PERFORM metrics_team_data_written(touched);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION metrics_team_data_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM metrics_team_data_written(ARRAY(SELECT id FROM teams_team));
    RETURN NULL;
END
$$;

-- At commit (deferred): every pending team of this transaction gets one new version, in team id order.
-- The first of the transaction's events does it all; the others find nothing left.
CREATE FUNCTION metrics_team_data_committing() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH done AS (
        DELETE FROM metrics_teamdatapending WHERE xact = pg_current_xact_id() RETURNING team_id
    )
    INSERT INTO metrics_teamdataversion (team_id, version)
    SELECT team.id, nextval('metrics_teamdataversion_seq')
    FROM teams_team AS team
    WHERE team.id IN (SELECT team_id FROM done)
    ORDER BY team.id
    ON CONFLICT (team_id) DO UPDATE SET version = nextval('metrics_teamdataversion_seq');
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER team_data_version_at_commit AFTER INSERT ON metrics_teamdatapending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION metrics_team_data_committing();
"""

TRIGGERS = """
CREATE TRIGGER team_data_version_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_team_data_changed();
CREATE TRIGGER team_data_version_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_team_data_changed();
CREATE TRIGGER team_data_version_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_team_data_changed();
CREATE TRIGGER team_data_version_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_team_data_truncated();
"""

DROP_TRIGGERS = """
DROP TRIGGER team_data_version_insert ON {table};
DROP TRIGGER team_data_version_update ON {table};
DROP TRIGGER team_data_version_delete ON {table};
DROP TRIGGER team_data_version_truncate ON {table};
"""

DROP_FUNCTIONS = """
DROP TABLE metrics_teamdatapending;
DROP FUNCTION metrics_team_data_committing();
DROP FUNCTION metrics_team_data_truncated();
DROP FUNCTION metrics_team_data_changed();
DROP FUNCTION metrics_team_data_written(bigint[]);
ALTER TABLE metrics_teamdataversion DROP CONSTRAINT metrics_teamdataversion_team_id_fk;
DROP SEQUENCE metrics_teamdataversion_seq;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_performance_plan_indexes"),
        ("teams", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="TeamDataVersion",
            fields=[
                (
                    "team",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=models.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="teams.team",
                    ),
                ),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(
            sql=FUNCTIONS + "".join(TRIGGERS.format(table=table) for table in TABLES),
            reverse_sql="".join(DROP_TRIGGERS.format(table=table) for table in TABLES) + DROP_FUNCTIONS,
        ),
    ]
