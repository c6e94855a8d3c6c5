"""Contract of the integrations.copilot_sync write pair, run against both sides.

Every behaviour test runs once with the legacy writer and once with the
optimized twin; both must return the same counts and leave exactly the
AIUsageDaily rows written here. Records are CopilotUsageRecord values as the
parser hands them over (the report download and parsing happen once, before
the pair). Registration, examples, demo-data agreement and query counts come
from the shared contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from decimal import Decimal

import pytest
from django.db import transaction

import shadow
from apps.integrations.github.stub_server import write_recorded_report
from apps.integrations.services import copilot_sync
from apps.integrations.services.copilot_sync import CopilotUsageRecord, legacy, optimized, sync_copilot_metrics
from apps.metrics.models import AIUsageDaily
from shadow import pairs as registry
from shadow.codec import describe_call
from shadow.models import DailyEvidence, ShadowRecord
from shadow.testing import force_side
from tests.factories import AIUsageDailyFactory, GitHubIntegrationFactory, TeamFactory, TeamMemberFactory
from tests.support.commands import rollout, rollout_failure
from tests.support.contracts import PairContract

PAIR = "integrations.copilot_sync"
DAY = dt.date(2025, 10, 1)
UTC = dt.UTC


def record(login: str, shown: int, accepted: int, day: dt.date = DAY) -> CopilotUsageRecord:
    return CopilotUsageRecord(login=login, day=day, shown=shown, accepted=accepted)


def usage_rows(team) -> list[tuple]:
    """(member id, date, source, shown, accepted, rate, active hours) of the team's rows, by member, date, source."""
    return list(
        AIUsageDaily.objects.filter(team=team)
        .order_by("member_id", "date", "source")
        .values_list(
            "member_id", "date", "source", "suggestions_shown", "suggestions_accepted", "acceptance_rate",
            "active_hours",
        )
    )


def report_for_new_members(team, users: int, days: int) -> list[CopilotUsageRecord]:
    """`users` members of the team, each with a record on each of `days` days from DAY."""
    members = TeamMemberFactory.create_batch(users, team=team)
    return [
        record(member.github_username, 10 + offset, 3, DAY + dt.timedelta(days=offset))
        for member in members
        for offset in range(days)
    ]


def write_report(report_root, team, users: int) -> None:
    members = TeamMemberFactory.create_batch(users, team=team)
    records = [
        {
            "user_login": member.github_username,
            "day": DAY.isoformat(),
            "code_generation_activity_count": 10,
            "code_acceptance_activity_count": 3,
        }
        for member in members
    ]
    write_recorded_report(report_root, org="acme", day=DAY, records=records)


def records_from_seeded_usage(team, day: dt.date, *, report_day: dt.date | None = None) -> list[CopilotUsageRecord]:
    """The team's seeded Copilot rows of `day` as report records (dated `report_day`), plus one unknown login."""
    rows = (
        AIUsageDaily.objects.filter(team=team, date=day, source="copilot")
        .order_by("member_id")
        .values_list("member__github_username", "suggestions_shown", "suggestions_accepted")
    )
    records = [record(login, shown + 1, accepted, report_day or day) for login, shown, accepted in rows]
    return records + [record("former-contractor", 12, 3, report_day or day)]


class TestCopilotSyncContract(PairContract):
    pair_name = PAIR
    entry_point = copilot_sync.sync_copilot_usage
    sides = (legacy.sync_copilot_usage, optimized.sync_copilot_usage)
    signature = "(*, team: 'Team', records: 'Sequence[CopilotUsageRecord]') -> 'dict[str, int]'"

    # Reports rebuilt from seeded usage (counts changed, an unknown login added) are written alike by both
    # sides: (seeded day, report day).
    demo_cases = {
        "changed-counts-over-existing-rows": (dt.date(2026, 11, 19), dt.date(2026, 11, 19)),
        "the-first-seeded-day": (dt.date(2026, 10, 22), dt.date(2026, 10, 22)),
        "a-day-after-the-history-every-row-new": (dt.date(2026, 11, 20), dt.date(2026, 11, 21)),
    }

    # Optimized: 4 queries at any report size, new rows and updated rows alike: savepoint, one member
    # lookup for every login, one INSERT … ON CONFLICT DO UPDATE, release.
    # Legacy (the "before"): 2 + 7 per record when every row is new (lookup, update_or_create with its
    # savepoints), 2 + 5 per record when every row exists. Sizes are (users, days), one record each.
    queries = {"legacy": {(3, 1): 23, (30, 7): 1472}, "optimized": {(3, 1): 4, (30, 7): 4}}
    rerun_queries = {"legacy": {(3, 1): 17, (30, 7): 1052}, "optimized": {(3, 1): 4, (30, 7): 4}}

    def build(self, team, size):
        users, days = size
        return {"records": report_for_new_members(team, users, days)}

    def check_measured_results(self, team, size, results):
        """Every record is stored, by the first run and again by the rerun, in one row each."""
        users, days = size
        created, updated = results
        assert created == updated == {"records": users * days, "stored": users * days, "unmatched": 0}
        assert AIUsageDaily.objects.filter(team=team).count() == users * days

    def demo_kwargs(self, team, case):
        seeded_day, report_day = case
        return {"records": records_from_seeded_usage(team, seeded_day, report_day=report_day)}

    def check_demo_comparisons(self, comparisons):
        """The optimized side takes 4 queries; the unknown login is unmatched on each team."""
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [4, 4]
        assert [comparison.legacy.value["unmatched"] for comparison in comparisons] == [1, 1]

    def build_for_examples(self, team):
        """Examples replay the team's last stored Copilot day, so the team needs one."""
        AIUsageDailyFactory(team=team, member=TeamMemberFactory(team=team, github_username="octocat"), date=DAY)

    # --- registration ----------------------------------------------------------------

    def test_registered_as_a_write_pair_with_a_snapshot(self):
        """The pair writes, and its snapshot takes the same arguments as the sides."""
        pair = registry.get(PAIR)

        assert (pair.writes, pair.snapshot, pair.rules.ignore) == (True, copilot_sync.stored_copilot_usage, ())
        assert list(inspect.signature(pair.snapshot).parameters) == ["team", "records"]

    @pytest.mark.django_db
    def test_stored_evidence_never_carries_the_logins(self, team):
        """Call arguments are stored with mismatches; the records are shown only as "<list>", so no login is kept."""
        assert describe_call({"team": team, "records": [record("octocat", 3, 1)]}) == {
            "team_id": team.pk,
            "records": "<list>",
        }

    @pytest.mark.django_db
    def test_snapshot_reads_back_the_rows_of_the_records_days(self, team, other_team):
        """The snapshot: the team's rows of every source on the records' days, by member id, date and source."""
        first = TeamMemberFactory(team=team)
        second = TeamMemberFactory(team=team)
        AIUsageDailyFactory(team=team, member=second, date=DAY, suggestions_shown=10, suggestions_accepted=5)
        AIUsageDailyFactory(team=team, member=first, date=DAY, source="cursor", suggestions_shown=0,
                            suggestions_accepted=0, active_hours=Decimal("1.50"))
        AIUsageDailyFactory(team=team, member=first, date=DAY - dt.timedelta(days=1))
        AIUsageDailyFactory(team=other_team, date=DAY)

        assert copilot_sync.stored_copilot_usage(team=team, records=[record("anyone", 1, 1)]) == [
            {"member_id": first.id, "date": DAY, "source": "cursor", "suggestions_shown": 0, "suggestions_accepted": 0,
             "acceptance_rate": None, "active_hours": Decimal("1.50")},
            {"member_id": second.id, "date": DAY, "source": "copilot", "suggestions_shown": 10,
             "suggestions_accepted": 5, "acceptance_rate": Decimal("50.00"), "active_hours": None},
        ]
        assert copilot_sync.stored_copilot_usage(team=team, records=[]) == []

    @pytest.mark.django_db
    def test_examples_replay_the_last_stored_copilot_day(self, team, other_team):
        """`rollout verify` replays the team's latest Copilot day: one record per login, by member id.

        Members without a login are left out; of two members sharing a login the
        first (lower id) row is kept; Cursor rows and other teams do not count.
        """
        ada = TeamMemberFactory(team=team, github_username="ada")
        nameless = TeamMemberFactory(team=team, github_username="")
        twin_a = TeamMemberFactory(team=team, github_username="twin")
        twin_b = TeamMemberFactory(team=team, github_username="twin")
        late = dt.date(2026, 11, 20)
        for member, shown, accepted in [(twin_b, 9, 9), (ada, 40, 10), (nameless, 5, 1), (twin_a, 8, 2)]:
            AIUsageDailyFactory(team=team, member=member, date=late, suggestions_shown=shown, suggestions_accepted=accepted)
        AIUsageDailyFactory(team=team, member=ada, date=late - dt.timedelta(days=1), suggestions_accepted=1)
        AIUsageDailyFactory(team=team, member=ada, date=late + dt.timedelta(days=1), source="cursor")
        AIUsageDailyFactory(team=other_team, date=late + dt.timedelta(days=2))

        assert registry.get(PAIR).examples(team) == [
            {"records": [record("ada", 40, 10, late), record("twin", 8, 2, late)]}
        ]
        assert registry.get(PAIR).examples(TeamFactory()) == []

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_new_rows_with_acceptance_rates(self, team, side):
        """Each matched record becomes a Copilot row: rate accepted ÷ shown × 100 half up, None when nothing shown."""
        octocat = TeamMemberFactory(team=team, github_username="octocat")
        hubot = TeamMemberFactory(team=team, github_username="hubot")
        monalisa = TeamMemberFactory(team=team, github_username="monalisa")
        mona_dev = TeamMemberFactory(team=team, github_username="mona-dev")
        dormant = TeamMemberFactory(team=team, github_username="dormant")

        result = side(
            team=team,
            records=[
                record("octocat", 120, 45),
                record("hubot", 3, 2),
                record("monalisa", 0, 0),
                record("mona-dev", 64, 71),
            ],
        )

        assert result == {"records": 4, "stored": 4, "unmatched": 0}
        assert usage_rows(team) == [
            (octocat.id, DAY, "copilot", 120, 45, Decimal("37.50"), None),
            (hubot.id, DAY, "copilot", 3, 2, Decimal("66.67"), None),
            (monalisa.id, DAY, "copilot", 0, 0, None, None),
            (mona_dev.id, DAY, "copilot", 64, 71, Decimal("110.94"), None),
        ]
        assert AIUsageDaily.objects.filter(member=dormant).count() == 0

    @pytest.mark.django_db
    def test_result_counts_are_ints(self, team, side):
        """The result is exactly three ints."""
        TeamMemberFactory(team=team, github_username="octocat")

        result = side(team=team, records=[record("octocat", 1, 1), record("nobody", 1, 1)])

        assert [(key, type(value)) for key, value in result.items()] == [
            ("records", int), ("stored", int), ("unmatched", int)
        ]
        assert result == {"records": 2, "stored": 1, "unmatched": 1}

    @pytest.mark.django_db
    def test_rerun_replaces_the_rows_in_place(self, team, side):
        """An existing row of the member and day is updated (same id and created_at), active_hours reset to None."""
        member = TeamMemberFactory(team=team, github_username="octocat")
        existing = AIUsageDailyFactory(
            team=team, member=member, date=DAY, suggestions_shown=100, suggestions_accepted=30,
            active_hours=Decimal("3.50"),
        )

        result = side(team=team, records=[record("octocat", 10, 0)])

        assert result == {"records": 1, "stored": 1, "unmatched": 0}
        assert usage_rows(team) == [(member.id, DAY, "copilot", 10, 0, Decimal("0.00"), None)]
        row = AIUsageDaily.objects.get(team=team)
        assert (row.pk, row.created_at) == (existing.pk, existing.created_at)
        assert row.updated_at >= existing.updated_at

    @pytest.mark.django_db
    def test_the_same_report_twice_leaves_the_same_rows(self, team, side):
        """Syncing a report again is idempotent: same rows, no duplicates."""
        first = TeamMemberFactory(team=team, github_username="octocat")
        second = TeamMemberFactory(team=team, github_username="hubot")
        records = [record("octocat", 7, 3), record("hubot", 0, 0)]

        side(team=team, records=records)
        result = side(team=team, records=records)

        assert result == {"records": 2, "stored": 2, "unmatched": 0}
        assert usage_rows(team) == [
            (first.id, DAY, "copilot", 7, 3, Decimal("42.86"), None),
            (second.id, DAY, "copilot", 0, 0, None, None),
        ]

    @pytest.mark.django_db
    def test_several_days_in_one_report(self, team, side):
        """Records of different days are stored on their own days; an existing row on one of them is updated."""
        octocat = TeamMemberFactory(team=team, github_username="octocat")
        hubot = TeamMemberFactory(team=team, github_username="hubot")
        AIUsageDailyFactory(team=team, member=hubot, date=DAY, suggestions_shown=1, suggestions_accepted=1)
        next_day = DAY + dt.timedelta(days=1)

        result = side(
            team=team,
            records=[
                record("hubot", 4, 1, next_day),
                record("octocat", 2, 1),
                record("hubot", 8, 2),
                record("octocat", 5, 5, next_day),
            ],
        )

        assert result == {"records": 4, "stored": 4, "unmatched": 0}
        assert usage_rows(team) == [
            (octocat.id, DAY, "copilot", 2, 1, Decimal("50.00"), None),
            (octocat.id, next_day, "copilot", 5, 5, Decimal("100.00"), None),
            (hubot.id, DAY, "copilot", 8, 2, Decimal("25.00"), None),
            (hubot.id, next_day, "copilot", 4, 1, Decimal("25.00"), None),
        ]

    @pytest.mark.django_db
    def test_inactive_members_are_matched(self, team, side):
        """A member who left the team still gets their usage stored."""
        former = TeamMemberFactory(team=team, github_username="octocat", is_active=False)

        result = side(team=team, records=[record("octocat", 10, 5)])

        assert result == {"records": 1, "stored": 1, "unmatched": 0}
        assert usage_rows(team) == [(former.id, DAY, "copilot", 10, 5, Decimal("50.00"), None)]

    @pytest.mark.django_db
    def test_a_login_shared_inside_the_team_goes_to_the_lowest_member_id(self, team, side):
        """Two members with the same login: the lower id (here inactive) gets the row, the other nothing."""
        lowest = TeamMemberFactory(team=team, github_username="hubot", is_active=False)
        TeamMemberFactory(team=team, github_username="hubot")

        result = side(team=team, records=[record("hubot", 8, 2)])

        assert result == {"records": 1, "stored": 1, "unmatched": 0}
        assert usage_rows(team) == [(lowest.id, DAY, "copilot", 8, 2, Decimal("25.00"), None)]

    @pytest.mark.django_db
    def test_duplicate_logins_across_teams_stay_apart(self, team, other_team, side):
        """Each team's sync writes only its own member's row; the other team's member with the same login is untouched."""
        # The other team's member is older (lower id): it must still never be picked for this team.
        theirs = TeamMemberFactory(team=other_team, github_username="octocat")
        ours = TeamMemberFactory(team=team, github_username="octocat")
        AIUsageDailyFactory(team=other_team, member=theirs, date=DAY, suggestions_shown=50, suggestions_accepted=5)

        ours_result = side(team=team, records=[record("octocat", 10, 1)])
        assert usage_rows(team) == [(ours.id, DAY, "copilot", 10, 1, Decimal("10.00"), None)]
        assert usage_rows(other_team) == [(theirs.id, DAY, "copilot", 50, 5, Decimal("10.00"), None)]

        theirs_result = side(team=other_team, records=[record("octocat", 20, 20)])
        assert usage_rows(team) == [(ours.id, DAY, "copilot", 10, 1, Decimal("10.00"), None)]
        assert usage_rows(other_team) == [(theirs.id, DAY, "copilot", 20, 20, Decimal("100.00"), None)]
        assert ours_result == theirs_result == {"records": 1, "stored": 1, "unmatched": 0}

    @pytest.mark.django_db
    def test_a_login_known_only_in_another_team_is_unmatched(self, team, other_team, side):
        """A login of another team's member matches nobody here."""
        TeamMemberFactory(team=other_team, github_username="octocat")

        result = side(team=team, records=[record("octocat", 10, 1)])

        assert result == {"records": 1, "stored": 0, "unmatched": 1}
        assert AIUsageDaily.objects.count() == 0

    @pytest.mark.django_db
    def test_matching_is_exact(self, team, side):
        """Case and surrounding spaces matter: "OctoCat" and " octocat" are not "octocat"."""
        TeamMemberFactory(team=team, github_username="octocat")

        records = [record("OctoCat", 1, 1), record(" octocat", 1, 1), record("octocat ", 1, 1)]

        result = side(team=team, records=records)

        assert result == {"records": 3, "stored": 0, "unmatched": 3}
        assert AIUsageDaily.objects.count() == 0

    @pytest.mark.django_db
    def test_unknown_logins_are_counted_and_logged_as_a_count_only(self, team, side, caplog):
        """Unmatched records are skipped; one INFO line gives their number, never the logins."""
        member = TeamMemberFactory(team=team, github_username="octocat")
        caplog.set_level(logging.INFO)

        result = side(
            team=team, records=[record("stranger-danger", 5, 5), record("octocat", 30, 10), record("ghost", 1, 0)]
        )

        assert result == {"records": 3, "stored": 1, "unmatched": 2}
        assert usage_rows(team) == [(member.id, DAY, "copilot", 30, 10, Decimal("33.33"), None)]
        assert caplog.messages == ["Copilot sync for team acme: 2 report logins matched no team member"]
        assert "stranger-danger" not in caplog.text

    @pytest.mark.django_db
    def test_nothing_is_logged_when_every_login_matches(self, team, side, caplog):
        """No unmatched record, no log line."""
        TeamMemberFactory(team=team, github_username="octocat")
        caplog.set_level(logging.INFO)

        side(team=team, records=[record("octocat", 1, 1)])

        assert caplog.messages == []

    @pytest.mark.django_db
    def test_zero_suggestions_store_no_acceptance_rate(self, team, side):
        """Nothing shown: the rate is None, not 0 and not an error; accepted without shown is kept as sent."""
        octocat = TeamMemberFactory(team=team, github_username="octocat")
        hubot = TeamMemberFactory(team=team, github_username="hubot")

        side(team=team, records=[record("octocat", 0, 0), record("hubot", 0, 3)])

        assert usage_rows(team) == [
            (octocat.id, DAY, "copilot", 0, 0, None, None),
            (hubot.id, DAY, "copilot", 0, 3, None, None),
        ]

    @pytest.mark.django_db
    def test_empty_report(self, team, side):
        """No records: nothing written, all counts 0."""
        TeamMemberFactory(team=team, github_username="octocat")

        assert side(team=team, records=[]) == {"records": 0, "stored": 0, "unmatched": 0}
        assert AIUsageDaily.objects.count() == 0

    @pytest.mark.django_db
    def test_rows_outside_the_report_are_untouched(self, team, side):
        """Members without a record, other days, and Cursor rows of the same member and day keep their values."""
        octocat = TeamMemberFactory(team=team, github_username="octocat")
        quiet = TeamMemberFactory(team=team, github_username="quiet")
        AIUsageDailyFactory(team=team, member=quiet, date=DAY, suggestions_shown=9, suggestions_accepted=9,
                            active_hours=Decimal("2.00"))
        AIUsageDailyFactory(team=team, member=octocat, date=DAY, source="cursor", suggestions_shown=6,
                            suggestions_accepted=3, active_hours=Decimal("1.25"))
        AIUsageDailyFactory(team=team, member=octocat, date=DAY - dt.timedelta(days=1), suggestions_shown=4,
                            suggestions_accepted=1)

        side(team=team, records=[record("octocat", 10, 2)])

        assert usage_rows(team) == [
            (octocat.id, DAY - dt.timedelta(days=1), "copilot", 4, 1, Decimal("25.00"), None),
            (octocat.id, DAY, "copilot", 10, 2, Decimal("20.00"), None),
            (octocat.id, DAY, "cursor", 6, 3, Decimal("50.00"), Decimal("1.25")),
            (quiet.id, DAY, "copilot", 9, 9, Decimal("100.00"), Decimal("2.00")),
        ]

    @pytest.mark.django_db
    def test_a_repeated_login_and_day_keeps_the_later_record(self, team, side):
        """Two records for one member and day (the parser never passes these on): the later one is stored, both counted."""
        member = TeamMemberFactory(team=team, github_username="octocat")

        result = side(team=team, records=[record("octocat", 10, 1), record("octocat", 20, 5)])

        assert result == {"records": 2, "stored": 2, "unmatched": 0}
        assert usage_rows(team) == [(member.id, DAY, "copilot", 20, 5, Decimal("25.00"), None)]

    # --- query budgets beyond the two sizes -------------------------------------------------

    @pytest.mark.django_db
    def test_optimized_query_count_when_nothing_matches(self, team, django_assert_num_queries):
        """No record matches a member: savepoint, the lookup, release; no write."""
        TeamMemberFactory(team=team, github_username="octocat")

        with django_assert_num_queries(3):
            result = optimized.sync_copilot_usage(team=team, records=[record("ghost", 1, 1), record("phantom", 2, 1)])

        assert result == {"records": 2, "stored": 0, "unmatched": 2}

    @pytest.mark.django_db
    @pytest.mark.parametrize("users", [3, 30])
    def test_a_full_sync_served_by_the_optimized_side_is_constant(
        self, team, settings, github_stub, report_root, django_assert_num_queries, users
    ):
        """sync_copilot_metrics with the optimized side serving: 9 queries at any report size.

        Load the integration, the pair's sampling rates (the forced side skips the
        flag), the runner's savepoint around the optimized side and its release,
        the writer's 4 queries, save the sync status.
        """
        settings.SHADOW_DEFAULT_RATE = 0
        GitHubIntegrationFactory(team=team, org_slug="acme")
        write_report(report_root, team, users)

        with force_side(PAIR, "optimized"), django_assert_num_queries(9):
            summary = sync_copilot_metrics(team=team, day=DAY)

        assert (summary.records, summary.stored, summary.unmatched) == (users, users, 0)

    # --- the shadow runner ------------------------------------------------------------------

    @pytest.mark.django_db
    @pytest.mark.parametrize("served", ["legacy", "optimized"])
    def test_a_sampled_sync_downloads_once_and_leaves_the_rows_of_an_unshadowed_sync(
        self, settings, team, other_team, github_stub, report_root, served
    ):
        """Whichever side serves, a sampled sync fetches the report once and leaves the table of an unshadowed sync.

        The report covers a new row (hubot), an update of a row with active hours
        (octocat), a login shared by two members, an unknown login, and zero
        suggestions; another team's member with the same login keeps their row.
        """
        GitHubIntegrationFactory(team=team, org_slug="acme")
        octocat = TeamMemberFactory(team=team, github_username="octocat")
        hubot = TeamMemberFactory(team=team, github_username="hubot")
        twin = TeamMemberFactory(team=team, github_username="twin", is_active=False)
        TeamMemberFactory(team=team, github_username="twin")
        AIUsageDailyFactory(team=team, member=octocat, date=DAY, active_hours=Decimal("4.00"))
        theirs = AIUsageDailyFactory(team=other_team, member__github_username="octocat", date=DAY)
        write_recorded_report(
            report_root,
            org="acme",
            day=DAY,
            records=[
                {"user_login": login, "day": "2025-10-01", "code_generation_activity_count": shown,
                 "code_acceptance_activity_count": accepted}
                for login, shown, accepted in [("octocat", 50, 20), ("hubot", 0, 0), ("twin", 9, 3), ("ghost", 1, 1)]
            ],
        )

        def table() -> list[tuple]:
            return usage_rows(team) + usage_rows(other_team)

        settings.SHADOW_DEFAULT_RATE = 0
        with force_side(PAIR, served):
            with transaction.atomic():
                unshadowed_summary = sync_copilot_metrics(team=team, day=DAY)
                unshadowed = table()
                transaction.set_rollback(True)
            github_stub.clear_requests()
            settings.SHADOW_DEFAULT_RATE = 1
            shadowed_summary = sync_copilot_metrics(team=team, day=DAY)

        assert table() == unshadowed == [
            (octocat.id, DAY, "copilot", 50, 20, Decimal("40.00"), None),
            (hubot.id, DAY, "copilot", 0, 0, None, None),
            (twin.id, DAY, "copilot", 9, 3, Decimal("33.33"), None),
            (theirs.member_id, DAY, "copilot", 100, 30, Decimal("30.00"), None),
        ]
        assert shadowed_summary == unshadowed_summary
        assert (shadowed_summary.stored, shadowed_summary.unmatched) == (3, 1)
        assert [request.kind for request in github_stub.requests] == ["api", "download"]
        evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
        assert (evidence.runs, evidence.matches, evidence.mismatches, evidence.errors) == (1, 1, 0, 0)
        assert ShadowRecord.objects.count() == 0

    # --- demo data --------------------------------------------------------------------------

    @pytest.mark.django_db
    def test_shadow_comparison_matches_on_the_demo_replay_examples(self, demo_teams):
        """The pair's own examples (the last seeded day replayed) match on both demo teams: every row updated in place.

        The optimized side takes 4 queries; legacy 2 + 5 per record (all rows exist).
        """
        comparisons = [
            shadow.compare(PAIR, team=team, **example)
            for team in demo_teams
            for example in registry.get(PAIR).examples(team)
        ]

        assert [(comparison.team_slug, comparison.outcome, comparison.diff) for comparison in comparisons] == [
            ("demo-1", "match", []),
            ("demo-2", "match", []),
        ]
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [4, 4]
        assert [
            comparison.legacy.measurement.queries == 2 + 5 * comparison.legacy.value["records"]
            for comparison in comparisons
        ] == [True, True]
        assert [comparison.legacy.value["stored"] > 5 for comparison in comparisons] == [True, True]

    @pytest.mark.django_db
    def test_rollout_verify_replays_the_last_seeded_day(self, demo_teams):
        """`rollout verify` runs the replay example on demo-1 and it matches."""
        output = rollout("verify", PAIR, "--team", "demo-1", "--runs", "1")

        assert "1 of 1 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in output.splitlines()

    @pytest.mark.django_db
    def test_rollout_verify_exits_2_for_a_team_without_copilot_usage(self, team):
        """Without stored Copilot usage there is nothing to replay: verify refuses with exit status 2."""
        error, _ = rollout_failure("verify", PAIR, "--team", "acme")

        assert (error.returncode, str(error)) == (2, "integrations.copilot_sync has no examples for team acme")
