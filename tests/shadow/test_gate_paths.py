"""The readiness gate on every change that switches teams on, not only on listing them.

Everyone on, a percentage that takes teams in, restoring a killed flag (its
listed and percentage teams come back), and the admin change form's
everyone, percentage and un-blocking are refused without evidence, changing
nothing; each goes through with force and a reason, audited as FORCED, and
without force once the teams it switches on have clean evidence. Switching
teams off (kill, disable, a lower percentage) is never gated, and a flag
without a pair is not gated at all.
"""

from __future__ import annotations

import getpass
from decimal import Decimal

import pytest
from django.urls import reverse

import shadow
from flags import services
from flags.errors import FlagError, GateRefusedError
from flags.models import Flag, FlagAudit
from flags.percent import team_bucket
from flags.registry import ROLLOUT_FLAGS, RolloutFlag
from flags.status import flag_statuses
from tests.factories import DailyEvidenceFactory, FlagFactory, TeamFactory
from tests.support.commands import rollout, rollout_error

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
ACTOR = f"cli:{getpass.getuser()}"
SETUP = "system:test-setup"
NO_EVIDENCE = "0 of 3 comparisons in the last 7 days"
FORCED = "FORCED past readiness gate"
# The line a change ends with: when it reaches every process (FLAGS_MAX_STALE_SECONDS defaults to 5).
REACHED = (
    "This process serves the change now; every other process within 5 s (FLAGS_MAX_STALE_SECONDS), "
    "whatever the cache server does.\n"
)


def legacy_total(*, team, n: int = 1) -> dict:
    return {"n": n, "total": n * 2}


def optimized_total(*, team, n: int = 1) -> dict:
    return {"n": n, "total": n * 2}


@pytest.fixture
def pair(make_pair, settings):
    """The test pair, with the gate asking for 3 clean comparisons in 7 days."""
    settings.SHADOW_MIN_COMPARISONS = 3
    settings.SHADOW_EVIDENCE_DAYS = 7
    return make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)


@pytest.fixture
def flag(pair):
    """The pair's flag row: listed teams only, none listed."""
    return FlagFactory(name=PAIR, superusers=False)


@pytest.fixture
def bucket_teams(db, settings):
    """early (bucket 22: in at 5 %), middle (109: in at 20 %, not at 5 %), late (552: out at 20 %)."""
    settings.FLAGS_PERCENT_SALT = "tformance-rollout"
    early = TeamFactory(pk=900020, slug="early", name="Early")
    middle = TeamFactory(pk=900004, slug="middle", name="Middle")
    late = TeamFactory(pk=900001, slug="late", name="Late")
    assert [team_bucket(PAIR, team.pk) for team in (early, middle, late)] == [22, 109, 552]
    return early, middle, late


def compare_clean(team, times: int = 3) -> None:
    """Clean evidence the way the runner stores it: real comparisons that match."""
    for _ in range(times):
        shadow.compare(PAIR, team=team, n=2)


def evidence_rows(*teams) -> None:
    """Clean evidence as stored rows: 3 matching comparisons today for each team."""
    for team in teams:
        DailyEvidenceFactory(pair_name=PAIR, team=team, runs=3, matches=3)


def flag_state(name: str = PAIR) -> tuple | None:
    """(everyone, percent, listed slugs, blocked slugs) as stored; None without a row."""
    flag = Flag.objects.filter(name=name).first()
    if flag is None:
        return None
    return (
        flag.everyone,
        flag.percent,
        sorted(flag.teams.values_list("slug", flat=True)),
        sorted(flag.blocked_teams.values_list("slug", flat=True)),
    )


def on_for(name: str = PAIR) -> list[str]:
    """Slugs of the teams the flag is on for, read from the database (not the cache)."""
    (status,) = flag_statuses(flag_names=[name])
    return [team.slug for team in status.teams if team.on]


def mode_entries() -> list[tuple]:
    """(actor, before, after, reason) of the flag-wide audit entries, oldest first."""
    return list(
        FlagAudit.objects.filter(flag_name=PAIR, team_id__isnull=True)
        .order_by("created_at", "id")
        .values_list("actor", "before", "after", "reason")
    )


def team_entries() -> list[tuple]:
    """(team, actor, before, after, reason) of the per-team audit entries, oldest first."""
    return list(
        FlagAudit.objects.filter(flag_name=PAIR, team_id__isnull=False)
        .order_by("created_at", "id")
        .values_list("team_slug", "actor", "before", "after", "reason")
    )


# --- everyone on (services) ------------------------------------------------------------------


def test_everyone_on_is_refused_without_evidence_and_changes_nothing(flag, team, other_team):
    """set_everyone(True) with no evidence: GateRefusedError naming each team, the flag as it was, nothing audited."""
    audited = FlagAudit.objects.count()

    with pytest.raises(GateRefusedError) as caught:
        services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="launch")

    assert caught.value.problems == [f"acme: {NO_EVIDENCE}", f"globex: {NO_EVIDENCE}"]
    assert flag_state() == (None, None, [], [])
    assert on_for() == []
    assert FlagAudit.objects.count() == audited


def test_everyone_on_for_a_flag_without_a_row_is_refused_and_creates_no_row(pair, team):
    """The refusal comes before the row is created: no row, no "absent" entry."""
    with pytest.raises(GateRefusedError):
        services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="launch")

    assert flag_state() is None
    assert FlagAudit.objects.count() == 0


def test_everyone_on_forced_with_a_reason_is_audited_as_forced(flag, team, other_team):
    """force=True and a reason: on for every team; the flag-wide entry starts FORCED and names what was overridden."""
    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="launch day", force=True)

    assert on_for() == ["acme", "globex"]
    assert mode_entries()[-1] == (
        SETUP, "listed teams only", "on for everyone",
        f"{FORCED} (acme: {NO_EVIDENCE}; globex: {NO_EVIDENCE}): launch day",
    )


@pytest.mark.parametrize("reason", ["", "   "], ids=["no reason", "blank reason"])
def test_forcing_without_a_reason_is_refused_and_changes_nothing(flag, team, reason):
    """force=True with an empty or blank reason is a FlagError; the flag stays as it was."""
    audited = FlagAudit.objects.count()

    with pytest.raises(FlagError, match="^Forcing past the readiness gate needs a reason$"):
        services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason=reason, force=True)

    assert flag_state() == (None, None, [], [])
    assert FlagAudit.objects.count() == audited


def test_everyone_on_goes_through_once_every_team_has_clean_evidence(flag, team, other_team):
    """Three clean comparisons for each team: on for everyone without force, with the plain reason."""
    compare_clean(team)
    compare_clean(other_team)

    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="evidence is clean")

    assert on_for() == ["acme", "globex"]
    assert mode_entries()[-1] == (SETUP, "listed teams only", "on for everyone", "evidence is clean")


def test_everyone_on_asks_only_about_the_teams_it_switches_on(flag, team, other_team):
    """acme (already listed, so already on) and initech (blocked, so it stays off) need no evidence; globex has it."""
    services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="pilot", force=True)
    services.disable_for_teams(name=PAIR, teams=[TeamFactory(slug="initech")], actor=SETUP)
    evidence_rows(other_team)

    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="the rest")

    assert on_for() == ["acme", "globex"]
    assert mode_entries()[-1] == (SETUP, "listed teams only", "on for everyone", "the rest")


def test_a_refusal_names_only_the_teams_that_are_not_ready(flag, team, other_team):
    """acme is ready, globex is not: the refusal is about globex alone, and nobody is switched on."""
    evidence_rows(team)

    with pytest.raises(GateRefusedError) as caught:
        services.set_everyone(name=PAIR, everyone=True, actor=SETUP)

    assert caught.value.problems == [f"globex: {NO_EVIDENCE}"]
    assert on_for() == []


# --- the percentage (services) ---------------------------------------------------------------


def test_a_percentage_is_refused_for_the_teams_it_takes_in(flag, bucket_teams):
    """20 % takes early and middle in, not late: the refusal names those two, and the percentage is not set."""
    audited = FlagAudit.objects.count()

    with pytest.raises(GateRefusedError) as caught:
        services.set_percent(name=PAIR, percent="20", actor=SETUP)

    assert caught.value.problems == [f"early: {NO_EVIDENCE}", f"middle: {NO_EVIDENCE}"]
    assert flag_state() == (None, None, [], [])
    assert FlagAudit.objects.count() == audited


def test_raising_the_percentage_asks_only_about_the_teams_it_adds(flag, bucket_teams):
    """From 5 % (early in, forced) to 20 %: only middle is new, so only middle is named."""
    services.set_percent(name=PAIR, percent="5", actor=SETUP, reason="canary", force=True)

    with pytest.raises(GateRefusedError) as caught:
        services.set_percent(name=PAIR, percent="20", actor=SETUP)

    assert caught.value.problems == [f"middle: {NO_EVIDENCE}"]
    assert flag_state() == (None, Decimal("5.0"), [], [])
    assert on_for() == ["early"]


def test_a_percentage_forced_with_a_reason_is_audited_as_forced(flag, bucket_teams):
    """force=True: 20 % is set, on for early and middle; the entry names both problems."""
    services.set_percent(name=PAIR, percent="20", actor=SETUP, reason="load test", force=True)

    assert on_for() == ["early", "middle"]
    assert mode_entries()[-1] == (
        SETUP, "listed teams only", "listed teams + 20.0% of teams",
        f"{FORCED} (early: {NO_EVIDENCE}; middle: {NO_EVIDENCE}): load test",
    )


def test_a_percentage_goes_through_once_the_teams_it_takes_in_are_ready(flag, bucket_teams):
    """Evidence for early and middle (late, which stays out, has none): 20 % without force, the plain reason."""
    early, middle, _ = bucket_teams
    evidence_rows(early, middle)

    services.set_percent(name=PAIR, percent="20", actor=SETUP, reason="evidence is clean")

    assert on_for() == ["early", "middle"]
    assert mode_entries()[-1] == (SETUP, "listed teams only", "listed teams + 20.0% of teams", "evidence is clean")


def test_lowering_the_percentage_is_never_gated(flag, bucket_teams):
    """20 % (forced) down to 5 % and then 0: no evidence needed, teams go off, plain reasons."""
    services.set_percent(name=PAIR, percent="20", actor=SETUP, reason="load test", force=True)

    services.set_percent(name=PAIR, percent="5", actor=SETUP, reason="too slow")
    assert on_for() == ["early"]
    services.set_percent(name=PAIR, percent="0", actor=SETUP, reason="stop")

    assert on_for() == []
    assert mode_entries()[-2:] == [
        (SETUP, "listed teams + 20.0% of teams", "listed teams + 5.0% of teams", "too slow"),
        (SETUP, "listed teams + 5.0% of teams", "listed teams only", "stop"),
    ]


# --- restore after a kill (services) ---------------------------------------------------------


@pytest.fixture
def killed_with_acme_listed(flag, team, other_team):
    """acme listed (forced, no evidence), then the flag killed: off for everyone."""
    services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="pilot", force=True)
    services.set_everyone(name=PAIR, everyone=False, actor=SETUP, reason="incident")
    return flag


def test_restore_after_a_kill_is_refused_for_the_listed_teams_it_brings_back(killed_with_acme_listed):
    """set_everyone(None) would switch acme back on: refused, still killed, nothing audited."""
    audited = FlagAudit.objects.count()

    with pytest.raises(GateRefusedError) as caught:
        services.set_everyone(name=PAIR, everyone=None, actor=SETUP, reason="fixed")

    assert caught.value.problems == [f"acme: {NO_EVIDENCE}"]
    assert flag_state() == (False, None, ["acme"], [])
    assert on_for() == []
    assert FlagAudit.objects.count() == audited


def test_restore_after_a_kill_forced_with_a_reason_is_audited_as_forced(killed_with_acme_listed):
    """force=True: acme is on again; the entry starts FORCED."""
    services.set_everyone(name=PAIR, everyone=None, actor=SETUP, reason="fixed upstream", force=True)

    assert on_for() == ["acme"]
    assert mode_entries()[-1] == (
        SETUP, "off for everyone (killed)", "listed teams only", f"{FORCED} (acme: {NO_EVIDENCE}): fixed upstream"
    )


def test_restore_after_a_kill_goes_through_once_the_listed_teams_are_ready(killed_with_acme_listed, team):
    """Clean comparisons for acme (globex, not listed, stays off and needs none): restored without force."""
    compare_clean(team)

    services.set_everyone(name=PAIR, everyone=None, actor=SETUP, reason="fixed")

    assert on_for() == ["acme"]
    assert mode_entries()[-1] == (SETUP, "off for everyone (killed)", "listed teams only", "fixed")


def test_restore_after_a_kill_asks_about_the_percentage_teams_too(flag, bucket_teams):
    """Killed at 20 % (forced): restoring brings early and middle back, so both are asked about."""
    services.set_percent(name=PAIR, percent="20", actor=SETUP, reason="load test", force=True)
    services.set_everyone(name=PAIR, everyone=False, actor=SETUP, reason="incident")

    with pytest.raises(GateRefusedError) as caught:
        services.set_everyone(name=PAIR, everyone=None, actor=SETUP)

    assert caught.value.problems == [f"early: {NO_EVIDENCE}", f"middle: {NO_EVIDENCE}"]
    assert flag_state() == (False, Decimal("20.0"), [], [])


def test_restore_after_everyone_on_is_never_gated(flag, team, other_team):
    """Undoing "everyone on" only switches teams off: no evidence needed."""
    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="launch", force=True)

    services.set_everyone(name=PAIR, everyone=None, actor=SETUP, reason="too early")

    assert on_for() == []
    assert mode_entries()[-1] == (SETUP, "on for everyone", "listed teams only", "too early")


# --- switching off, flags without a pair, queries (services) ----------------------------------


@pytest.mark.parametrize("team_count", [2, 6])
def test_the_kill_switch_is_never_gated_and_reads_no_teams_or_evidence(flag, team_count, django_assert_num_queries):
    """Everyone on (forced), then killed without evidence: seven queries at any size (savepoint, locked row read,
    previous mode, update, audit entry, new version, release), none of them for teams or evidence."""
    teams = [TeamFactory() for _ in range(team_count)]
    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="launch", force=True)

    with django_assert_num_queries(7):
        services.set_everyone(name=PAIR, everyone=False, actor=SETUP, reason="incident")

    assert on_for() == []
    assert len(teams) == team_count
    assert mode_entries()[-1] == (SETUP, "on for everyone", "off for everyone (killed)", "incident")


def test_disabling_a_team_that_everyone_on_covers_is_never_gated(flag, team, other_team):
    """The per-team rollback needs no evidence, whatever turned the team on."""
    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="launch", force=True)

    services.disable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="errors")

    assert on_for() == ["globex"]
    assert team_entries()[-1] == ("acme", SETUP, "on", "off", "errors")


@pytest.mark.parametrize("team_count", [2, 6])
def test_everyone_on_with_clean_evidence_takes_ten_queries_at_any_size(flag, team_count, django_assert_num_queries):
    """Savepoint, locked row read, all teams with their list places, the evidence (days, distinct argument sets),
    previous mode, update, audit entry, new version, release: ten, whatever the number of teams."""
    evidence_rows(*[TeamFactory() for _ in range(team_count)])

    with django_assert_num_queries(10):
        services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="evidence is clean")

    assert len(on_for()) == team_count


@pytest.mark.parametrize("team_count", [2, 6])
def test_the_gate_check_takes_three_queries_at_any_size(flag, team_count, django_assert_num_queries):
    """enable_gate_check: one query for the teams with their list places, two for the evidence of those switched on
    (days, distinct argument sets)."""
    teams = [TeamFactory(slug=f"team-{index}") for index in range(team_count)]
    evidence_rows(*teams[1:])

    with django_assert_num_queries(3):
        check = services.enable_gate_check(name=PAIR, flag=flag, everyone=True, percent=None)

    assert check.teams == [team.slug for team in teams]
    assert check.refusals == [f"team-0: {NO_EVIDENCE}"]


def test_the_gate_check_asks_no_guard_when_nothing_is_switched_on(flag, team, django_assert_num_queries):
    """Keeping the state as it is switches nobody on: one query for the teams, none for evidence."""
    with django_assert_num_queries(1):
        check = services.enable_gate_check(name=PAIR, flag=flag, everyone=None, percent=None)

    assert (check.teams, check.refusals) == ([], [])


def test_a_flag_without_a_pair_is_not_gated_on_any_path(team):
    """A rollout flag that no pair uses: percentage, everyone and restore after a kill need no evidence."""
    with ROLLOUT_FLAGS.temporarily(RolloutFlag("test.unpaired", "Test-only flag without a pair", owner="tests")):
        services.enable_for_teams(name="test.unpaired", teams=[team], actor=SETUP)
        services.set_percent(name="test.unpaired", percent="50", actor=SETUP)
        services.set_everyone(name="test.unpaired", everyone=True, actor=SETUP)
        services.set_everyone(name="test.unpaired", everyone=False, actor=SETUP)
        services.set_everyone(name="test.unpaired", everyone=None, actor=SETUP)

        assert on_for("test.unpaired") == ["acme"]
        assert flag_state("test.unpaired") == (None, Decimal("50.0"), ["acme"], [])


# --- the `rollout` command ---------------------------------------------------------------------


def test_cli_enable_everyone_is_refused_with_exit_1_and_changes_nothing(flag, team):
    """`enable --everyone` without evidence: exit 1, the problems printed, nothing changed or audited."""
    audited = FlagAudit.objects.count()

    error = rollout_error("enable", PAIR, "--everyone", "--reason", "launch")

    assert error.returncode == 1
    assert str(error) == (
        f"{PAIR}: not enabled, the readiness gate refuses:\n"
        f"  acme: {NO_EVIDENCE}\n"
        "Nothing was changed. To override, repeat with --force --reason TEXT (audited)."
    )
    assert flag_state() == (None, None, [], [])
    assert FlagAudit.objects.count() == audited


def test_cli_enable_everyone_forced_warns_and_is_audited_as_forced(flag, team):
    """`enable --everyone --force --reason`: a warning with what was overridden, then the change, audited FORCED."""
    output = rollout("enable", PAIR, "--everyone", "--force", "--reason", "launch day")

    assert output == (
        f"{PAIR}: FORCED past the readiness gate, which refused:\n"
        f"  acme: {NO_EVIDENCE}\n"
        f"{PAIR}: on for everyone (was listed teams only); on for 1 of 1 teams\n"
        + REACHED
    )
    assert mode_entries()[-1] == (
        ACTOR, "listed teams only", "on for everyone", f"{FORCED} (acme: {NO_EVIDENCE}): launch day"
    )


def test_cli_enable_everyone_with_clean_evidence_needs_no_force(flag, team):
    """Clean comparisons for every team: `enable --everyone` goes through with the plain reason."""
    compare_clean(team)

    output = rollout("enable", PAIR, "--everyone", "--reason", "evidence is clean")

    assert output == f"{PAIR}: on for everyone (was listed teams only); on for 1 of 1 teams\n" + REACHED
    assert mode_entries()[-1] == (ACTOR, "listed teams only", "on for everyone", "evidence is clean")


def test_cli_enable_percent_is_refused_for_the_teams_it_takes_in(flag, bucket_teams):
    """`enable --percent 20`: exit 1 naming early and middle; the percentage is not set."""
    error = rollout_error("enable", PAIR, "--percent", "20")

    assert error.returncode == 1
    assert str(error) == (
        f"{PAIR}: not enabled, the readiness gate refuses:\n"
        f"  early: {NO_EVIDENCE}\n"
        f"  middle: {NO_EVIDENCE}\n"
        "Nothing was changed. To override, repeat with --force --reason TEXT (audited)."
    )
    assert flag_state() == (None, None, [], [])


def test_cli_enable_percent_forced_is_audited_as_forced(flag, bucket_teams):
    """`enable --percent 20 --force --reason`: set, on for early and middle, audited FORCED."""
    output = rollout("enable", PAIR, "--percent", "20", "--force", "--reason", "load test")

    assert output.endswith(
        f"{PAIR}: listed teams + 20.0% of teams (was listed teams only); on for 2 of 3 teams\n" + REACHED
    )
    assert mode_entries()[-1][3] == f"{FORCED} (early: {NO_EVIDENCE}; middle: {NO_EVIDENCE}): load test"


def test_cli_restore_after_a_kill_is_refused_with_exit_1(killed_with_acme_listed):
    """`restore` would switch acme back on: exit 1, "not restored", the flag stays killed."""
    error = rollout_error("restore", PAIR, "--reason", "fixed")

    assert error.returncode == 1
    assert str(error) == (
        f"{PAIR}: not restored, the readiness gate refuses:\n"
        f"  acme: {NO_EVIDENCE}\n"
        "Nothing was changed. To override, repeat with --force --reason TEXT (audited)."
    )
    assert flag_state() == (False, None, ["acme"], [])


def test_cli_restore_forced_brings_the_listed_teams_back_audited_as_forced(killed_with_acme_listed):
    """`restore --force --reason`: the warning, then per-team rules again; the entry starts FORCED."""
    output = rollout("restore", PAIR, "--force", "--reason", "fixed upstream")

    assert output == (
        f"{PAIR}: FORCED past the readiness gate, which refused:\n"
        f"  acme: {NO_EVIDENCE}\n"
        f"{PAIR}: listed teams only (was off for everyone (killed)); on for 1 of 2 teams\n"
        + REACHED
    )
    assert mode_entries()[-1][3] == f"{FORCED} (acme: {NO_EVIDENCE}): fixed upstream"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enable", PAIR, "--everyone", "--force"], "--force needs a --reason: it is recorded in the audit log"),
        (["enable", PAIR, "--percent", "20", "--force"], "--force needs a --reason: it is recorded in the audit log"),
        # restore needs a reason with or without --force, so its own check speaks first.
        (["restore", PAIR, "--force", "--reason", " "], "--reason must say why: it is recorded in the audit log"),
    ],
    ids=["everyone", "percent", "restore"],
)
def test_cli_force_without_a_reason_exits_2_and_changes_nothing(killed_with_acme_listed, args, message):
    """--force without a (non-blank) --reason is a usage error on every gated sub-command."""
    audited = FlagAudit.objects.count()

    error = rollout_error(*args)

    assert (error.returncode, str(error)) == (2, message)
    assert flag_state() == (False, None, ["acme"], [])
    assert FlagAudit.objects.count() == audited


def test_cli_kill_is_never_gated(flag, team):
    """`kill` of a flag that is on for a team without evidence: done, no refusal."""
    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="launch", force=True)

    output = rollout("kill", PAIR, "--reason", "incident")

    assert output == f"{PAIR}: off for everyone (killed) (was on for everyone); on for 0 of 1 teams\n" + REACHED


# --- the admin change form -----------------------------------------------------------------------


def change_url(flag: Flag) -> str:
    return reverse("admin:flags_flag_change", args=[flag.pk])


def change_form(**overrides) -> dict:
    """The change form's data for the flag as stored, with some fields changed."""
    flag = Flag.objects.get(name=PAIR)
    data = {
        "note": flag.note,
        "everyone": {None: "unknown", True: "true", False: "false"}[flag.everyone],
        "percent": "" if flag.percent is None else str(flag.percent),
        "teams": [team.pk for team in flag.teams.all()],
        "blocked_teams": [team.pk for team in flag.blocked_teams.all()],
    }
    return {**data, **overrides}


def refusal_text(problems: str) -> str:
    return f"The readiness gate refuses the teams this change switches on: {problems}. Nothing was changed."


@pytest.fixture
def everyone_on_but_acme_blocked(flag, team, other_team):
    """Everyone on (globex has clean evidence), acme blocked: on for globex only."""
    services.disable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="not yet")
    evidence_rows(other_team)
    services.set_everyone(name=PAIR, everyone=True, actor=SETUP, reason="the rest")
    return flag


def test_admin_everyone_on_is_refused_without_evidence(admin_client, flag, team):
    """Ticking everyone = Yes: the form comes back with the refusal, nothing saved or audited."""
    audited = FlagAudit.objects.count()

    response = admin_client.post(change_url(flag), change_form(everyone="true"))

    page = response.content.decode()
    assert response.status_code == 200
    assert refusal_text(f"acme: {NO_EVIDENCE}") in page
    assert "tick “Force past the readiness gate” and give the reason" in page
    assert flag_state() == (None, None, [], [])
    assert FlagAudit.objects.count() == audited


def test_admin_raising_the_percentage_is_refused_for_the_teams_it_takes_in(admin_client, flag, bucket_teams):
    """Percent 20: refused naming early and middle; the percentage is not saved."""
    audited = FlagAudit.objects.count()

    response = admin_client.post(change_url(flag), change_form(percent="20"))

    assert response.status_code == 200
    assert refusal_text(f"early: {NO_EVIDENCE}; middle: {NO_EVIDENCE}") in response.content.decode()
    assert flag_state() == (None, None, [], [])
    assert FlagAudit.objects.count() == audited


def test_admin_unblocking_a_team_that_everyone_on_covers_is_refused(admin_client, everyone_on_but_acme_blocked):
    """Removing acme from the blocked teams would switch it on: refused, acme stays blocked."""
    audited = FlagAudit.objects.count()

    response = admin_client.post(change_url(everyone_on_but_acme_blocked), change_form(blocked_teams=[]))

    assert response.status_code == 200
    assert refusal_text(f"acme: {NO_EVIDENCE}") in response.content.decode()
    assert flag_state() == (True, None, [], ["acme"])
    assert on_for() == ["globex"]
    assert FlagAudit.objects.count() == audited


def test_admin_restoring_a_killed_flag_is_refused_for_its_listed_teams(admin_client, killed_with_acme_listed):
    """everyone from No back to Unknown would switch acme on again: refused, still killed."""
    response = admin_client.post(change_url(killed_with_acme_listed), change_form(everyone="unknown"))

    assert response.status_code == 200
    assert refusal_text(f"acme: {NO_EVIDENCE}") in response.content.decode()
    assert flag_state() == (False, None, ["acme"], [])


def test_admin_adding_a_flag_that_is_on_for_everyone_is_refused(admin_client, pair, team):
    """The add form is gated too: a new row with everyone = Yes needs evidence; no row is created."""
    response = admin_client.post(
        reverse("admin:flags_flag_add"),
        {"name": PAIR, "note": "", "everyone": "true", "percent": "", "teams": [], "blocked_teams": []},
    )

    assert response.status_code == 200
    assert refusal_text(f"acme: {NO_EVIDENCE}") in response.content.decode()
    assert flag_state() is None
    assert FlagAudit.objects.count() == 0


def test_admin_everyone_on_forced_with_a_reason_is_saved_and_audited_as_forced(admin_client, flag, team):
    """Ticking force with a reason: saved, on for acme, the entry is the user's and starts FORCED."""
    response = admin_client.post(
        change_url(flag), change_form(everyone="true", force="on", force_reason="launch day")
    )

    assert response.status_code == 302
    assert on_for() == ["acme"]
    assert mode_entries()[-1] == (
        "user:admin", "listed teams only", "on for everyone", f"{FORCED} (acme: {NO_EVIDENCE}): launch day"
    )


def test_admin_unblocking_forced_with_a_reason_audits_the_team_as_forced(admin_client, everyone_on_but_acme_blocked):
    """Forced un-blocking: acme is on, and its team entry carries the FORCED reason."""
    response = admin_client.post(
        change_url(everyone_on_but_acme_blocked),
        change_form(blocked_teams=[], force="on", force_reason="customer asked"),
    )

    assert response.status_code == 302
    assert on_for() == ["acme", "globex"]
    assert team_entries()[-1] == ("acme", "user:admin", "off", "on", f"{FORCED} (acme: {NO_EVIDENCE}): customer asked")


def test_admin_forcing_without_a_reason_is_a_form_error_and_changes_nothing(admin_client, flag, team):
    """force ticked, reason empty: the form comes back with the reason error; nothing saved."""
    audited = FlagAudit.objects.count()

    response = admin_client.post(change_url(flag), change_form(everyone="true", force="on", force_reason=""))

    assert response.status_code == 200
    assert "Forcing past the readiness gate needs a reason" in response.content.decode()
    assert flag_state() == (None, None, [], [])
    assert FlagAudit.objects.count() == audited


def test_admin_changes_go_through_without_force_once_the_teams_are_ready(admin_client, flag, bucket_teams):
    """Evidence for early and middle: percent 20 is saved without force, audited with the form's plain reason."""
    early, middle, _ = bucket_teams
    evidence_rows(early, middle)

    response = admin_client.post(change_url(flag), change_form(percent="20"))

    assert response.status_code == 302
    assert on_for() == ["early", "middle"]
    assert mode_entries()[-1] == (
        "user:admin", "listed teams only", "listed teams + 20.0% of teams", "admin change form"
    )


def test_admin_unblocking_goes_through_once_the_team_is_ready(admin_client, everyone_on_but_acme_blocked, team):
    """Clean comparisons for acme: un-blocking it is saved without force."""
    compare_clean(team)

    response = admin_client.post(change_url(everyone_on_but_acme_blocked), change_form(blocked_teams=[]))

    assert response.status_code == 302
    assert on_for() == ["acme", "globex"]
    assert team_entries()[-1] == ("acme", "user:admin", "off", "on", "admin change form")


@pytest.mark.parametrize(
    ("overrides", "state", "on"),
    [
        ({"everyone": "false"}, (False, Decimal("20.0"), ["late"], []), []),
        ({"percent": "5"}, (None, Decimal("5.0"), ["late"], []), ["early", "late"]),
        ({"percent": ""}, (None, None, ["late"], []), ["late"]),
        ({"blocked_teams": [900020]}, (None, Decimal("20.0"), ["late"], ["early"]), ["late", "middle"]),
        ({"teams": []}, (None, Decimal("20.0"), [], []), ["early", "middle"]),
    ],
    ids=["kill", "lower percent", "no percent", "block", "unlist"],
)
def test_admin_switching_teams_off_is_never_gated(admin_client, flag, bucket_teams, overrides, state, on):
    """From 20 % plus late listed (forced, no evidence): kill, a lower or no percentage, blocking or un-listing saves."""
    services.set_percent(name=PAIR, percent="20", actor=SETUP, reason="load test", force=True)
    services.enable_for_teams(name=PAIR, teams=[bucket_teams[2]], actor=SETUP, reason="pilot", force=True)

    response = admin_client.post(change_url(flag), change_form(**overrides))

    assert response.status_code == 302
    assert flag_state() == state
    assert on_for() == on


def test_admin_change_and_add_pages_offer_the_force_box_and_its_reason(admin_client, flag):
    """Both pages render the "Readiness gate" fieldset with the force box and the reason for forcing."""
    change_page = admin_client.get(change_url(flag)).content.decode()
    add_page = admin_client.get(reverse("admin:flags_flag_add")).content.decode()

    assert ('name="force"' in change_page, 'name="force_reason"' in change_page) == (True, True)
    assert ('name="force"' in add_page, 'name="force_reason"' in add_page) == (True, True)
    assert "Readiness gate" in change_page
