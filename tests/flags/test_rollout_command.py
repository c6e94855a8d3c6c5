"""`manage.py rollout`: status, enable, disable, kill, restore and history, and their input errors."""

from __future__ import annotations

import getpass
import json
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError

import flags
from flags import services
from flags.models import Flag, FlagAudit
from flags.percent import team_bucket, team_in_percentage
from flags.registry import ROLLOUT_FLAGS
from tests.factories import FlagFactory, TeamFactory
from tests.support.commands import rollout, rollout_error

pytestmark = pytest.mark.django_db

FLAG = "metrics.team_breakdown"
ACTOR = f"cli:{getpass.getuser()}"
# Team ids whose stable buckets for FLAG put one inside 25 % and one outside it.
IN_QUARTER_ID = 900002
OUT_OF_QUARTER_ID = 900001
# The line every change ends with: when the change reaches every process (FLAGS_MAX_STALE_SECONDS defaults to 5).
REACHED = (
    "This process serves the change now; every other process within 5 s (FLAGS_MAX_STALE_SECONDS), "
    "whatever the cache server does.\n"
)


def audit_rows(name: str = FLAG) -> list[tuple]:
    return list(
        FlagAudit.objects.filter(flag_name=name)
        .order_by("created_at", "id")
        .values_list("team_slug", "before", "after", "actor", "reason")
    )


def table(output: str) -> list[list[str]]:
    """Rows of a text table, cells split on runs of two or more spaces."""
    return [re.split(r" {2,}", line) for line in output.splitlines()]


def cells(document: dict) -> list[tuple]:
    """(flag, team, state, since, by) for every cell of a `status --json` document."""
    return [
        (flag["name"], team["slug"], team["state"], team["since"], team["by"])
        for flag in document["flags"]
        for team in flag["teams"]
    ]


@pytest.fixture
def quarter_teams(db):
    """Two teams with fixed ids: one inside FLAG's 25 % of teams and one outside it."""
    inside = TeamFactory(pk=IN_QUARTER_ID, slug="inside", name="Inside")
    outside = TeamFactory(pk=OUT_OF_QUARTER_ID, slug="outside", name="Outside")
    assert team_bucket(FLAG, IN_QUARTER_ID) == 30
    assert team_bucket(FLAG, OUT_OF_QUARTER_ID) == 583
    return inside, outside


# --- status --------------------------------------------------------------------------


def test_status_lists_every_registered_flag_off_for_every_team_as_migrate_left_it(team, other_team):
    """Migrate gives each registered flag its row, off, without an audit entry: off for every team, no since/by."""
    document = json.loads(rollout("status", "--json"))

    assert sorted(Flag.objects.values_list("name", flat=True)) == ROLLOUT_FLAGS.names()
    assert FlagAudit.objects.count() == 0
    assert [flag["name"] for flag in document["flags"]] == ROLLOUT_FLAGS.names()
    assert cells(document) == [
        (name, slug, "off", None, None) for name in ROLLOUT_FLAGS.names() for slug in ("acme", "globex")
    ]
    assert {(flag["registered"], flag["exists"], flag["mode"]) for flag in document["flags"]} == {
        (True, True, "listed teams only")
    }


def test_status_lists_a_registered_flag_without_a_row_off_for_every_team(rollout_flag, team, other_team):
    """A flag registered since the last migrate has no row yet: listed, not existing, off for every team."""
    document = json.loads(rollout("status", "--json"))

    assert not Flag.objects.filter(name=rollout_flag).exists()
    test_flag = next(flag for flag in document["flags"] if flag["name"] == rollout_flag)
    assert (test_flag["registered"], test_flag["exists"], test_flag["mode"]) == (True, False, "listed teams only")
    assert [cell for cell in cells(document) if cell[0] == rollout_flag] == [
        (rollout_flag, "acme", "off", None, None),
        (rollout_flag, "globex", "off", None, None),
    ]


def test_status_text_is_a_flag_by_team_table_aligned_in_columns(team, other_team):
    """The text form has one row per flag and team, columns aligned, and ends with a newline."""
    output = rollout("status")

    assert output.endswith("\n")
    rows = table(output)
    assert rows[0] == ["FLAG", "TEAM", "STATE", "SINCE", "BY", "MODE"]
    assert rows[1:3] == [
        ["integrations.copilot_sync", "acme", "off", "—", "—", "listed teams only"],
        ["integrations.copilot_sync", "globex", "off", "—", "—", "listed teams only"],
    ]
    assert len(rows) == 1 + 2 * len(ROLLOUT_FLAGS.names())
    header, first, second = output.splitlines()[:3]
    assert (first.index("acme"), second.index("globex")) == (header.index("TEAM"), header.index("TEAM"))
    assert (first.index("off"), second.index("off")) == (header.index("STATE"), header.index("STATE"))
    assert (first.index("listed"), second.index("listed")) == (header.index("MODE"), header.index("MODE"))


def test_status_json_has_the_documented_keys(team):
    """`status --json` is one JSON document with the documented keys for flags and team cells."""
    document = json.loads(rollout("status", "--json"))

    assert set(document) == {"flags"}
    flag = document["flags"][0]
    assert set(flag) == {
        "name", "description", "owner", "lifetime", "registered", "exists", "everyone", "percent", "mode", "teams",
    }
    assert set(flag["teams"][0]) == {"slug", "name", "state", "since", "by"}
    breakdown = next(flag for flag in document["flags"] if flag["name"] == FLAG)
    assert breakdown == {
        "name": FLAG,
        "description": "Team breakdown: grouped queries instead of the per-member loop",
        "owner": "metrics",
        "lifetime": "temporary: remove when the rollout is complete",
        "registered": True,
        "exists": True,  # its row came with migrate
        "everyone": None,
        "percent": None,
        "mode": "listed teams only",
        "teams": [{"slug": "acme", "name": "Acme", "state": "off", "since": None, "by": None}],
    }


def test_status_since_and_by_come_from_the_latest_audit_entry_for_the_team_or_all_teams(team, other_team):
    """since/by: the latest audit entry of that flag for that team or for all teams, whoever made it.

    A team without one (globex: nobody has switched it, and migrate's row creation is not audited) has none.
    """
    rollout("enable", FLAG, "--team", "acme")
    (listed,) = FlagAudit.objects.filter(flag_name=FLAG).order_by("created_at", "id")

    after_enable = json.loads(rollout("status", "--json"))
    assert [cell for cell in cells(after_enable) if cell[0] == FLAG] == [
        (FLAG, "acme", "on", listed.created_at.isoformat(), ACTOR),
        (FLAG, "globex", "off", None, None),
    ]

    services.set_percent(name=FLAG, percent="10", actor="user:bob", reason="canary")
    percent_entry = FlagAudit.objects.filter(flag_name=FLAG).latest("created_at", "id")
    after_percent = json.loads(rollout("status", "--json"))
    breakdown = next(flag for flag in after_percent["flags"] if flag["name"] == FLAG)
    assert (breakdown["exists"], breakdown["percent"], breakdown["mode"]) == (
        True, "10.0", "listed teams + 10.0% of teams",
    )
    # Whether globex falls inside the 10 % depends on its id (the salted hash), not on this test.
    globex = "on" if team_in_percentage(FLAG, other_team.pk, Decimal("10")) else "off"
    assert [cell for cell in cells(after_percent) if cell[0] == FLAG] == [
        (FLAG, "acme", "on", percent_entry.created_at.isoformat(), "user:bob"),
        (FLAG, "globex", globex, percent_entry.created_at.isoformat(), "user:bob"),
    ]
    text_rows = [row for row in table(rollout("status")) if row[0] == FLAG]
    assert [row[:3] + row[4:] for row in text_rows] == [
        [FLAG, "acme", "on", "user:bob", "listed teams + 10.0% of teams"],
        [FLAG, "globex", globex, "user:bob", "listed teams + 10.0% of teams"],
    ]
    assert text_rows[0][3] == percent_entry.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def test_status_lists_unregistered_flag_rows_after_the_registered_ones(team):
    """A Flag row whose name the registry does not declare is listed last and marked unregistered."""
    FlagFactory(name="legacy.retired_flag")

    document = json.loads(rollout("status", "--json"))
    last = document["flags"][-1]
    assert (last["name"], last["registered"], last["exists"], last["description"], last["owner"]) == (
        "legacy.retired_flag", False, True, None, None,
    )
    created = FlagAudit.objects.get(flag_name="legacy.retired_flag")
    assert table(rollout("status"))[-1] == [
        "legacy.retired_flag", "acme", "off", created.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "system:unattributed", "unregistered: listed teams only",
    ]


def test_status_for_one_team_shows_only_that_team(team, other_team):
    """--team SLUG narrows the table to that team."""
    document = json.loads(rollout("status", "--json", "--team", "globex"))

    assert {team_cell["slug"] for flag in document["flags"] for team_cell in flag["teams"]} == {"globex"}
    assert len(document["flags"]) == len(ROLLOUT_FLAGS.names())


@pytest.mark.parametrize("team_count", [2, 6])
def test_status_takes_three_queries_whatever_the_number_of_flags_teams_and_entries(
    team_count, django_assert_num_queries
):
    """Teams, flag rows with both team lists, latest audit entries: three queries at any size."""
    teams = [TeamFactory() for _ in range(team_count)]
    for name in ROLLOUT_FLAGS.names()[:team_count]:
        services.enable_for_teams(name=name, teams=teams[:2], actor="user:bob")
        services.disable_for_teams(name=name, teams=teams[2:], actor="user:bob")
        services.set_percent(name=name, percent="30", actor="user:bob")
    FlagFactory(name="legacy.retired_flag")

    with django_assert_num_queries(3):
        rollout("status")
    with django_assert_num_queries(3):
        rollout("status", "--json", "--team", teams[0].slug)


def test_status_with_a_missing_row_takes_three_queries_too(rollout_flag, team, django_assert_num_queries):
    """A registered flag without a row (the test flag, registered since migrate) does not change the query count."""
    assert not Flag.objects.filter(name=rollout_flag).exists()
    with django_assert_num_queries(3):
        rollout("status", "--json")


# --- enable, disable, kill, restore --------------------------------------------------


def test_enable_for_a_team_turns_the_flag_on_for_that_team_only_and_audits_it(team, other_team):
    """enable --team: on for the listed team at the next evaluation (copy warmed before), audited with the reason."""
    assert flags.is_enabled(FLAG, team=team) is False

    output = rollout("enable", FLAG, "--team", "acme", "--reason", "pilot team")

    assert output == f"{FLAG}: on for acme (was off)\n" + REACHED
    assert flags.is_enabled(FLAG, team=team) is True
    assert flags.is_enabled(FLAG, team=other_team) is False
    # The row came with migrate, unaudited: the team's entry is the only one.
    assert audit_rows() == [("acme", "off", "on", ACTOR, "pilot team")]


def test_enable_for_several_teams_reports_each(team, other_team):
    """Repeating --team lists every team given; a repeated slug counts once."""
    output = rollout("enable", FLAG, "--team", "globex", "--team", "acme", "--team", "globex")

    assert output == f"{FLAG}: on for globex (was off)\n{FLAG}: on for acme (was off)\n" + REACHED
    assert (flags.is_enabled(FLAG, team=team), flags.is_enabled(FLAG, team=other_team)) == (True, True)


def test_enable_by_percentage_turns_the_flag_on_for_the_teams_inside_it(quarter_teams):
    """enable --percent 25: on for the team whose stable bucket is inside 25 %, off for the other."""
    inside, outside = quarter_teams
    assert flags.is_enabled(FLAG, team=inside) is False

    output = rollout("enable", FLAG, "--percent", "25", "--reason", "quarter")

    assert output == f"{FLAG}: listed teams + 25.0% of teams (was listed teams only); on for 1 of 2 teams\n" + REACHED
    assert flags.is_enabled(FLAG, team=inside) is True
    assert flags.is_enabled(FLAG, team=outside) is False
    assert audit_rows() == [("", "listed teams only", "listed teams + 25.0% of teams", ACTOR, "quarter")]


def test_enable_for_everyone_turns_the_flag_on_for_every_team(team, other_team):
    """enable --everyone: on for all teams."""
    flags.is_enabled(FLAG, team=team)

    output = rollout("enable", FLAG, "--everyone", "--reason", "done")

    assert output == f"{FLAG}: on for everyone (was listed teams only); on for 2 of 2 teams\n" + REACHED
    assert (flags.is_enabled(FLAG, team=team), flags.is_enabled(FLAG, team=other_team)) == (True, True)
    assert audit_rows()[-1] == ("", "listed teams only", "on for everyone", ACTOR, "done")


def test_enable_takes_exactly_one_of_team_percent_and_everyone(team):
    """--team, --percent and --everyone exclude each other, and one of them is required."""
    with pytest.raises(CommandError, match="not allowed with argument"):
        rollout("enable", FLAG, "--team", "acme", "--percent", "10")
    with pytest.raises(CommandError, match="one of the arguments --team --percent --everyone is required"):
        rollout("enable", FLAG)
    assert FlagAudit.objects.count() == 0


def test_disable_turns_off_a_team_that_the_percentage_includes(quarter_teams):
    """disable --team: the per-team rollback wins over the percentage, at once, audited."""
    inside, outside = quarter_teams
    services.set_percent(name=FLAG, percent="25", actor="user:bob")
    assert flags.is_enabled(FLAG, team=inside) is True

    output = rollout("disable", FLAG, "--team", "inside", "--reason", "errors on the dashboard")

    assert output == f"{FLAG}: off for inside (was on)\n" + REACHED
    assert flags.is_enabled(FLAG, team=inside) is False
    assert flags.is_enabled(FLAG, team=outside) is False
    assert audit_rows()[-1] == ("inside", "on", "off", ACTOR, "errors on the dashboard")


def test_disable_turns_off_a_listed_team(team, other_team):
    """disable --team takes a listed team off."""
    services.enable_for_teams(name=FLAG, teams=[team, other_team], actor="user:bob")
    assert flags.is_enabled(FLAG, team=team) is True

    output = rollout("disable", FLAG, "--team", "acme")

    assert output == f"{FLAG}: off for acme (was on)\n" + REACHED
    assert (flags.is_enabled(FLAG, team=team), flags.is_enabled(FLAG, team=other_team)) == (False, True)
    assert audit_rows()[-1] == ("acme", "on", "off", ACTOR, "")


def test_kill_wins_over_listed_teams_and_restore_brings_them_back(team, other_team):
    """kill: off for everyone, listed teams included; restore: per-team rules apply again."""
    services.enable_for_teams(name=FLAG, teams=[team], actor="user:bob")
    assert flags.is_enabled(FLAG, team=team) is True

    killed = rollout("kill", FLAG, "--reason", "incident 42")

    assert killed == f"{FLAG}: off for everyone (killed) (was listed teams only); on for 0 of 2 teams\n" + REACHED
    assert flags.is_enabled(FLAG, team=team) is False

    restored = rollout("restore", FLAG, "--reason", "fixed")

    assert restored == f"{FLAG}: listed teams only (was off for everyone (killed)); on for 1 of 2 teams\n" + REACHED
    assert (flags.is_enabled(FLAG, team=team), flags.is_enabled(FLAG, team=other_team)) == (True, False)
    assert audit_rows()[-2:] == [
        ("", "listed teams only", "off for everyone (killed)", ACTOR, "incident 42"),
        ("", "off for everyone (killed)", "listed teams only", ACTOR, "fixed"),
    ]


def test_restore_undoes_everyone_on(team, other_team):
    """restore after enable --everyone: back to the listed teams."""
    services.enable_for_teams(name=FLAG, teams=[other_team], actor="user:bob")
    services.set_everyone(name=FLAG, everyone=True, actor="user:bob")
    assert flags.is_enabled(FLAG, team=team) is True

    rollout("restore", FLAG, "--reason", "back to the pilot teams")

    assert (flags.is_enabled(FLAG, team=team), flags.is_enabled(FLAG, team=other_team)) == (False, True)
    assert audit_rows()[-1] == ("", "on for everyone", "listed teams only", ACTOR, "back to the pilot teams")


def test_enabling_a_team_of_a_killed_flag_lists_it_and_says_the_kill_still_holds(team):
    """enable --team while killed: the team is listed but stays off, and the output says why and what to run."""
    services.set_everyone(name=FLAG, everyone=False, actor="user:bob")

    output = rollout("enable", FLAG, "--team", "acme")

    assert output == (
        f"{FLAG}: off for acme (was off)\n"
        + REACHED
        + f"{FLAG} is off for everyone (killed), which overrides the team list; "
        f"`manage.py rollout restore {FLAG}` applies per-team rules again\n"
    )
    assert flags.is_enabled(FLAG, team=team) is False
    rollout("restore", FLAG, "--reason", "incident over")
    assert flags.is_enabled(FLAG, team=team) is True


def test_a_mode_change_that_changes_nothing_says_unchanged(team):
    """Restoring a flag that was never killed reports the mode as unchanged."""
    services.set_everyone(name=FLAG, everyone=None, actor="user:bob")

    assert rollout("restore", FLAG, "--reason", "never killed") == (
        f"{FLAG}: listed teams only (unchanged); on for 0 of 1 teams\n" + REACHED
    )


def test_commands_work_on_a_test_only_flag(rollout_flag, team):
    """Any registered flag works, not only the metrics ones."""
    rollout("enable", rollout_flag, "--team", "acme")

    assert flags.is_enabled(rollout_flag, team=team) is True
    assert audit_rows(rollout_flag)[-1] == ("acme", "off", "on", ACTOR, "")


# --- history -------------------------------------------------------------------------


def test_history_lists_the_flags_entries_oldest_first_with_reasons(team, other_team):
    """history: time, actor, scope, before → after and reason of each entry, in order."""
    rollout("enable", FLAG, "--team", "acme", "--reason", "pilot")
    services.set_percent(name=FLAG, percent="50", actor="user:bob", reason="half")
    rollout("disable", FLAG, "--team", "acme", "--reason", "slow\nqueries")
    rollout("enable", "metrics.key_metrics", "--everyone")

    rows = table(rollout("history", FLAG))

    assert rows[0] == ["TIME", "ACTOR", "SCOPE", "CHANGE", "REASON"]
    assert [row[1:] for row in rows[1:]] == [
        [ACTOR, "acme", "off → on", "pilot"],
        ["user:bob", "all", "listed teams only → listed teams + 50.0% of teams", "half"],
        [ACTOR, "acme", "on → off", "slow queries"],
    ]
    times = [row[0] for row in rows[1:]]
    assert times == sorted(times)


def test_history_json_parses_and_lists_the_entries_in_order(team):
    """history --json: one document with every entry, oldest first."""
    rollout("enable", FLAG, "--team", "acme", "--reason", "pilot")
    rollout("kill", FLAG, "--reason", "incident")
    entries = list(FlagAudit.objects.filter(flag_name=FLAG).order_by("created_at", "id"))

    document = json.loads(rollout("history", FLAG, "--json"))

    assert document == {
        "flag": FLAG,
        "registered": True,
        "entries": [
            {
                "time": entries[0].created_at.isoformat(), "actor": ACTOR, "scope": "acme", "team_id": team.pk,
                "before": "off", "after": "on", "reason": "pilot",
            },
            {
                "time": entries[1].created_at.isoformat(), "actor": ACTOR, "scope": "all", "team_id": None,
                "before": "listed teams only", "after": "off for everyone (killed)", "reason": "incident",
            },
        ],
    }


def test_history_of_a_registered_flag_without_entries_says_so():
    """No entries: one line saying no changes are recorded (JSON: an empty list)."""
    assert rollout("history", FLAG) == f"{FLAG}: no changes recorded\n"
    assert json.loads(rollout("history", FLAG, "--json"))["entries"] == []


def test_history_of_a_retired_flag_that_has_entries_is_shown(team):
    """A name no longer registered still shows its recorded history."""
    FlagFactory(name="legacy.retired_flag")

    document = json.loads(rollout("history", "legacy.retired_flag", "--json"))

    assert (document["registered"], [entry["after"] for entry in document["entries"]]) == (
        False, ["listed teams only"],
    )


def test_history_takes_one_query(team, django_assert_num_queries):
    """One query for the entries."""
    rollout("enable", FLAG, "--team", "acme")

    with django_assert_num_queries(1):
        rollout("history", FLAG)


# --- input errors: exit status 2, nothing changed ------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enable", "no.such.flag", "--team", "acme"], "Unknown rollout flag 'no.such.flag'; registered flags: "),
        (["enable", "no.such.flag", "--percent", "10"], "Unknown rollout flag 'no.such.flag'; registered flags: "),
        (["disable", "no.such.flag", "--team", "acme"], "Unknown rollout flag 'no.such.flag'; registered flags: "),
        (["kill", "no.such.flag", "--reason", "incident"], "Unknown rollout flag 'no.such.flag'; registered flags: "),
        (["restore", "no.such.flag", "--reason", "fixed"], "Unknown rollout flag 'no.such.flag'; registered flags: "),
        (["history", "no.such.flag"], "Unknown rollout flag 'no.such.flag'; registered flags: "),
        (["enable", FLAG, "--team", "acme", "--team", "nope"], "Unknown team 'nope'; teams: acme, globex"),
        (["disable", FLAG, "--team", "nope"], "Unknown team 'nope'; teams: acme, globex"),
        (["status", "--team", "nope"], "Unknown team 'nope'; teams: acme, globex"),
        (["enable", FLAG, "--team", "acmee", "--team", "x"], "Unknown teams 'acmee', 'x'; did you mean acme?"),
        (["enable", FLAG, "--percent", "150"], "Percentage must be from 0 to 99.9 (use everyone on for 100), got 150"),
        (["enable", FLAG, "--percent", "-1"], "Percentage must be from 0 to 99.9 (use everyone on for 100), got -1"),
        (["enable", FLAG, "--percent", "abc"], "Percentage must be a number from 0 to 99.9, got 'abc'"),
        (["enable", FLAG, "--percent", "nan"], "Percentage must be a number from 0 to 99.9, got 'nan'"),
    ],
)
def test_bad_input_exits_with_status_2_and_changes_nothing(args, message, team, other_team):
    """Unknown flag or team, or a bad percentage: exit status 2, a message naming the valid values, no change."""
    services.enable_for_teams(name=FLAG, teams=[other_team], actor="user:bob")
    flags.is_enabled(FLAG, team=team)
    audit_count = FlagAudit.objects.count()

    error = rollout_error(*args)

    assert error.returncode == 2
    assert message in str(error)
    assert FlagAudit.objects.count() == audit_count
    # The rows migrate created, no other, all still off for everyone and without a percentage.
    assert sorted(Flag.objects.values_list("name", flat=True)) == ROLLOUT_FLAGS.names()
    assert (flags.is_enabled(FLAG, team=team), flags.is_enabled(FLAG, team=other_team)) == (False, True)
    assert set(Flag.objects.values_list("everyone", "percent")) == {(None, None)}


def test_unknown_flag_message_lists_every_registered_flag():
    """The message names each registered flag."""
    error = rollout_error("kill", "metrics.nope", "--reason", "incident")

    assert str(error) == f"Unknown rollout flag 'metrics.nope'; registered flags: {', '.join(ROLLOUT_FLAGS.names())}"


def test_unknown_team_message_lists_at_most_twenty_slugs():
    """With many teams the message lists the first twenty slugs and says how many more there are."""
    for number in range(25):
        TeamFactory(slug=f"team-{number:02d}")

    error = rollout_error("enable", FLAG, "--team", "zzz")

    listed = ", ".join(f"team-{number:02d}" for number in range(20))
    assert str(error) == f"Unknown team 'zzz'; teams: {listed} …and 5 more"
    assert FlagAudit.objects.count() == 0


def test_a_real_process_exits_with_status_2_and_prints_the_valid_flags_on_stderr():
    """`manage.py rollout enable no.such.flag --team x` run as a process: exit status 2, valid names on stderr."""
    result = subprocess.run(
        [sys.executable, "manage.py", "rollout", "enable", "no.such.flag", "--team", "x"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "Unknown rollout flag 'no.such.flag'; registered flags: " in result.stderr
    assert ", ".join(ROLLOUT_FLAGS.names()) in result.stderr
    assert result.stdout == ""
