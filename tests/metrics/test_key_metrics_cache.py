"""The optimized key metrics' cache: scoped by team, range and side, keyed by the team's data version, Redis optional.

Every test reads the current period 2026-11-16..2026-11-22 (previous
2026-11-09..2026-11-15) unless it says otherwise. The query count tells a
hit (one query: the team's data stamp) from a miss (three: the stamp, then
the two aggregates). Each test runs in one transaction that is never
committed, so the stamps here carry this transaction's marks. Every write path, table and the version's
guarantees are in tests/metrics/test_team_data_version.py; here, the
service writers (Copilot sync, weekly aggregation, demo seeding) are seen
from the cache's side.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection

from apps.integrations.github.stub_server import StubGitHubServer, write_recorded_report
from apps.integrations.services.copilot_sync import sync_copilot_metrics
from apps.metrics import cache as metrics_cache_module
from apps.metrics.cache import METRICS_TTL_SECONDS, team_data_stamp
from apps.metrics.models import PullRequest
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from apps.metrics.tasks import aggregate_team_weekly_metrics_task
from apps.teams.models import Team
from shadow.testing import force_side
from tests.factories import GitHubIntegrationFactory, PullRequestFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db

PAIR = "metrics.key_metrics"
UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
CURRENT = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
TOKEN = "ghp_cachesecret0001"
SYNC_DAY = dt.date(2026, 11, 19)
HIT, MISS = 1, 3


def merged_pr(team, *, cycle: str = "10.00", merged_at=CURRENT, author=None):
    return PullRequestFactory(team=team, author=author, merged_at=merged_at, cycle_time_hours=Decimal(cycle))


def read(team, *, start_date=START, end_date=END) -> tuple[int, Decimal | None]:
    """The current period's merged PR count and mean cycle time, from the optimized side."""
    current = optimized.get_key_metrics_with_previous(team=team, start_date=start_date, end_date=end_date)["current"]
    return current["prs_merged"], current["avg_cycle_time"]


@pytest.fixture
def cached_team(team):
    """`team` with two merged PRs (cycles 10.00 and 20.00) and its key metrics cached."""
    merged_pr(team, cycle="10.00")
    merged_pr(team, cycle="20.00")
    assert read(team) == (2, Decimal("15.00"))
    return team


# --- hits, misses and key scope --------------------------------------------------------------


def test_a_hit_serves_the_entry_after_one_stamp_read(cached_team, django_assert_num_queries):
    """Within the TTL and without a write, the cached numbers serve after one query: the team's data stamp."""
    with django_assert_num_queries(HIT) as captured:
        assert read(cached_team) == (2, Decimal("15.00"))

    assert "metrics_teamdataversion" in captured.captured_queries[0]["sql"]


def test_entries_are_stored_for_five_minutes(team, monkeypatch):
    """The entry's timeout is METRICS_TTL_SECONDS, 300 seconds."""
    real_cache = caches["default"]
    timeouts = []

    class RecordingCache:
        def __getattr__(self, name):
            return getattr(real_cache, name)

        def set(self, key, value, timeout):
            timeouts.append(timeout)
            return real_cache.set(key, value, timeout)

    monkeypatch.setattr(metrics_cache_module, "metrics_cache", RecordingCache)

    read(team)

    assert (METRICS_TTL_SECONDS, timeouts) == (300, [300])


def test_the_key_carries_team_range_side_zone_and_data_stamp(cached_team):
    """The entry sits under a key naming the team, side, zone, range and the stamp it was computed at.

    The stamp is the committed version (none yet: v0) and, as this transaction wrote the PRs, its latest mark.
    """
    stamp = team_data_stamp(cached_team.pk)
    key = f"metrics:team:{cached_team.pk}:key_metrics:optimized:UTC:2026-11-16:2026-11-22:{stamp}"

    assert re.fullmatch(r"v0\.\d+", stamp)
    assert caches["default"].get(key)[0]["current"]["prs_merged"] == 2


def test_another_team_misses_and_gets_its_own_numbers(cached_team, other_team, django_assert_num_queries):
    """The key is scoped by team: a second team computes its own numbers, the first one's entry stays."""
    merged_pr(other_team, cycle="7.00")
    merged_pr(other_team, cycle="9.00")
    merged_pr(other_team, cycle="11.00")

    with django_assert_num_queries(MISS):
        assert read(other_team) == (3, Decimal("9.00"))
    with django_assert_num_queries(HIT):
        assert read(cached_team) == (2, Decimal("15.00"))


def test_another_range_misses(cached_team, django_assert_num_queries):
    """The key is scoped by range: the same team over another range is computed."""
    with django_assert_num_queries(MISS):
        assert read(cached_team, start_date=dt.date(2026, 11, 17), end_date=END) == (2, Decimal("15.00"))
    with django_assert_num_queries(MISS):
        assert read(cached_team, start_date=START, end_date=dt.date(2026, 11, 21)) == (2, Decimal("15.00"))


def test_a_changed_time_zone_misses(cached_team, django_assert_num_queries):
    """Day bounds move with the team's time zone, so the zone is part of the key."""
    cached_team.timezone = "Europe/Berlin"

    with django_assert_num_queries(MISS):
        assert read(cached_team) == (2, Decimal("15.00"))


def test_the_legacy_side_never_reads_the_entry(cached_team, django_assert_num_queries):
    """The key names the side that computed it: legacy recomputes (ten queries) even with a warm optimized entry."""
    with django_assert_num_queries(10):
        result = legacy.get_key_metrics_with_previous(team=cached_team, start_date=START, end_date=END)

    assert (result["current"]["prs_merged"], result["current"]["avg_cycle_time"]) == (2, Decimal("15.00"))


def test_the_pair_serving_optimized_uses_the_cache(cached_team):
    """Through the pair, the optimized side serves the entry under the current version; legacy always recomputes."""
    key = f"metrics:team:{cached_team.pk}:key_metrics:optimized:UTC:2026-11-16:2026-11-22:{team_data_stamp(cached_team.pk)}"
    planted = {"current": {"prs_merged": 99}, "previous": {"prs_merged": 98}}
    caches["default"].set(key, (planted, 0.0), 60)

    with force_side(PAIR, "optimized"):
        served_optimized = dashboard.get_key_metrics_with_previous(team=cached_team, start_date=START, end_date=END)
    with force_side(PAIR, "legacy"):
        served_legacy = dashboard.get_key_metrics_with_previous(team=cached_team, start_date=START, end_date=END)

    assert (served_optimized, served_legacy["current"]["prs_merged"]) == (planted, 2)


def test_a_sampled_call_compares_computations_and_reports_a_stale_entry_apart(cached_team, settings):
    """An entry that no longer matches the rows (planted here under the current stamp) is served unsampled; a
    sampled call computes both sides (they match), hands the caller the fresh value and reports the entry stale."""
    from shadow.models import DailyEvidence, ShadowRecord

    key = f"metrics:team:{cached_team.pk}:key_metrics:optimized:UTC:2026-11-16:2026-11-22:{team_data_stamp(cached_team.pk)}"
    planted = {"current": {"prs_merged": 99}, "previous": {"prs_merged": 98}}
    caches["default"].set(key, (planted, 0.0), 60)

    with force_side(PAIR, "optimized"):
        settings.SHADOW_DEFAULT_RATE = 1
        fresh = dashboard.get_key_metrics_with_previous(team=cached_team, start_date=START, end_date=END)

    assert fresh["current"]["prs_merged"] == 2
    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=cached_team)
    assert (evidence.matches, evidence.mismatches, evidence.stale_cache) == (1, 0, 1)
    record = ShadowRecord.objects.get(pair_name=PAIR)
    assert record.outcome == "stale_cache"
    assert re.fullmatch(r"the cached entry \(\d+ s old\) differs from a fresh computation of the same call", record.error)


@pytest.mark.django_db(transaction=True)
def test_an_active_team_whose_rows_change_between_calls_sees_no_false_mismatch(team, settings):
    """The issue's case: PRs changed by code the app does not know about (QuerySet.update, raw SQL) between
    sampled calls, with the team on optimized and every call compared: fresh numbers every time, no mismatch,
    no stale entry served, and every answer the same as legacy's."""
    from django.db import connection

    from shadow.models import DailyEvidence

    prs = [merged_pr(team, cycle=cycle) for cycle in ("10.00", "20.00", "30.00", "40.00", "50.00")]
    settings.SHADOW_DEFAULT_RATE = 1
    answers = []
    with force_side(PAIR, "optimized"):
        for step, pr in enumerate(prs):
            if step % 2:
                PullRequest.objects.filter(pk=pr.pk).update(cycle_time_hours=Decimal("99.00"))
            else:
                with connection.cursor() as cursor:
                    cursor.execute("UPDATE metrics_pullrequest SET cycle_time_hours = 1 WHERE id = %s", [pr.pk])
            served = dashboard.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)
            answers.append(served == legacy.get_key_metrics_with_previous(team=team, start_date=START, end_date=END))

    assert answers == [True] * 5
    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (evidence.matches, evidence.mismatches, evidence.stale_cache) == (5, 0, 0)


# --- invalidation (every write path: tests/metrics/test_team_data_version.py) ----------------


def test_a_write_makes_the_next_read_miss_and_other_teams_keep_their_entries(
    cached_team, other_team, django_assert_num_queries
):
    """A PR created with a factory moves the team's data stamp: the next read computes, the one after hits."""
    merged_pr(other_team, cycle="5.00")
    assert read(other_team) == (1, Decimal("5.00"))

    merged_pr(cached_team, cycle="30.00")

    with django_assert_num_queries(MISS):
        assert read(cached_team) == (3, Decimal("20.00"))
    with django_assert_num_queries(HIT):
        assert read(cached_team) == (3, Decimal("20.00"))
    with django_assert_num_queries(HIT):
        assert read(other_team) == (1, Decimal("5.00"))


@pytest.fixture
def github(settings, tmp_path):
    """A loopback GitHub serving reports from a temporary directory; returns that directory."""
    settings.GITHUB_MAX_ATTEMPTS = 1
    settings.GITHUB_RETRY_BACKOFF = 0
    settings.GITHUB_HTTP_TIMEOUT = 5.0
    with StubGitHubServer(tmp_path, expected_token=TOKEN) as stub:
        settings.GITHUB_API_URL = stub.base_url
        yield tmp_path


def test_copilot_sync_makes_the_next_read_miss(cached_team, github, django_assert_num_queries):
    """The real sync path (fetch, parse, store) moves the team's data stamp by writing: the next read is computed."""
    GitHubIntegrationFactory(team=cached_team, org_slug="acme", access_token=TOKEN)
    TeamMemberFactory(team=cached_team, github_username="octocat")
    assert read(cached_team) == (2, Decimal("15.00"))  # cached again after the member was added
    write_recorded_report(
        github,
        org="acme",
        day=SYNC_DAY,
        records=[
            {
                "user_login": "octocat",
                "user_id": 1,
                "day": SYNC_DAY.isoformat(),
                "code_generation_activity_count": 40,
                "code_acceptance_activity_count": 10,
            }
        ],
    )
    before = team_data_stamp(cached_team.pk)

    summary = sync_copilot_metrics(team=cached_team, day=SYNC_DAY)

    assert summary.stored == 1
    assert team_data_stamp(cached_team.pk) != before
    with django_assert_num_queries(MISS):
        assert read(cached_team) == (2, Decimal("15.00"))


def test_weekly_aggregation_makes_the_next_read_miss(cached_team, django_assert_num_queries):
    """The weekly aggregation task's rows move the team's data stamp."""
    author = TeamMemberFactory(team=cached_team)
    merged_pr(cached_team, cycle="30.00", author=author)
    assert read(cached_team) == (3, Decimal("20.00"))
    before = team_data_stamp(cached_team.pk)

    assert aggregate_team_weekly_metrics_task.delay(cached_team.pk, "2026-11-16").get() == 1

    assert team_data_stamp(cached_team.pk) != before
    with django_assert_num_queries(MISS):
        assert read(cached_team) == (3, Decimal("20.00"))


def test_seed_demo_gives_each_seeded_team_a_data_version_of_its_own_at_commit():
    """Seeding writes each demo team's rows: marks while its transaction is open, a version each at commit."""
    call_command(
        "seed_demo", "--teams", "2", "--members", "3", "--prs", "20", "--days", "7", "--end-date", "2026-11-20",
        stdout=io.StringIO(),
    )
    teams = list(Team.objects.filter(slug__startswith="demo-").order_by("slug"))
    assert [re.fullmatch(r"v0\.\d+", team_data_stamp(team.pk)) is not None for team in teams] == [True, True]

    with connection.cursor() as cursor:  # the deferred triggers, fired as COMMIT fires them
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    stamps = [team_data_stamp(team.pk) for team in teams]
    assert len(set(stamps)) == 2
    assert all(re.fullmatch(r"v[1-9]\d*", stamp) for stamp in stamps)


# --- Redis unreachable -----------------------------------------------------------------------


@pytest.fixture
def redis_down(settings):
    """The default cache is Redis as production configures it, on a closed port: every cache call fails (ignored).

    The guarded backend (tformance/redis_cache.py) is what ignores the errors, as it does in production.
    """
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "tformance.redis_cache.GuardedRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
            },
        },
    }


def test_redis_down_computes_every_read(team, redis_down, django_assert_num_queries):
    """No Redis: each read is computed (the stamp, then two queries), never an error, and gives the right numbers."""
    merged_pr(team, cycle="10.00")
    merged_pr(team, cycle="20.01")

    assert type(caches["default"]).__name__ == "GuardedRedisCache"
    with django_assert_num_queries(MISS):
        first = optimized.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)
    with django_assert_num_queries(MISS):
        second = optimized.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)

    expected = {
        "current": {
            "prs_merged": 2,
            "avg_cycle_time": Decimal("15.01"),
            "avg_quality_rating": None,
            "ai_assisted_pct": Decimal("0.00"),
        },
        "previous": {
            "prs_merged": 0,
            "avg_cycle_time": None,
            "avg_quality_rating": None,
            "ai_assisted_pct": Decimal("0.00"),
        },
    }
    assert first == second == expected


def test_redis_down_the_pair_still_serves(team, redis_down):
    """The pair on the optimized side answers with the right numbers, before and after a write."""
    merged_pr(team, cycle="4.00")

    with force_side(PAIR, "optimized"):
        before = dashboard.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)
    merged_pr(team, cycle="6.00")
    with force_side(PAIR, "optimized"):
        after = dashboard.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)

    assert (before["current"]["prs_merged"], before["current"]["avg_cycle_time"]) == (1, Decimal("4.00"))
    assert (after["current"]["prs_merged"], after["current"]["avg_cycle_time"]) == (2, Decimal("5.00"))
