"""The optimized key metrics' cache: scoped by team, range and side, invalidated by the writers, Redis optional.

Every test reads the current period 2026-11-16..2026-11-22 (previous
2026-11-09..2026-11-15) unless it says otherwise. A PR created with a factory
does not tell the cache, so reading right after it shows whether an entry
served (stale numbers, no query) or the numbers were computed (two queries).
Writers run inside `django_capture_on_commit_callbacks(execute=True)` so their
invalidation happens as on a real commit.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import transaction

from apps.integrations.github.stub_server import StubGitHubServer, write_recorded_report
from apps.integrations.services.copilot_sync import sync_copilot_metrics
from apps.metrics import cache as metrics_cache_module
from apps.metrics.cache import METRICS_TTL_SECONDS, team_data_changed, team_generation_name
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from apps.metrics.tasks import aggregate_team_weekly_metrics_task
from apps.teams.models import Team
from shadow.testing import force_side
from tests.factories import GitHubIntegrationFactory, PullRequestFactory, TeamMemberFactory
from tformance import generations

pytestmark = pytest.mark.django_db

PAIR = "metrics.key_metrics"
UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
CURRENT = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
TOKEN = "ghp_cachesecret0001"
SYNC_DAY = dt.date(2026, 11, 19)


def merged_pr(team, *, cycle: str = "10.00", merged_at=CURRENT):
    return PullRequestFactory(team=team, author=None, merged_at=merged_at, cycle_time_hours=Decimal(cycle))


def read(team, *, start_date=START, end_date=END) -> tuple[int, Decimal | None]:
    """The current period's merged PR count and mean cycle time, from the optimized side."""
    current = optimized.get_key_metrics_with_previous(team=team, start_date=start_date, end_date=end_date)["current"]
    return current["prs_merged"], current["avg_cycle_time"]


@pytest.fixture
def cached_team(team):
    """`team` with one merged PR (cycle 10.00) and its key metrics cached.

    Then a second PR (cycle 20.00) lands without telling the cache.
    """
    merged_pr(team, cycle="10.00")
    assert read(team) == (1, Decimal("10.00"))
    merged_pr(team, cycle="20.00")
    return team


# --- hits, misses and key scope --------------------------------------------------------------


def test_a_hit_serves_the_entry_without_queries(cached_team, django_assert_num_queries):
    """Within the TTL and without invalidation, the cached numbers serve with zero queries."""
    with django_assert_num_queries(0):
        assert read(cached_team) == (1, Decimal("10.00"))


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


def test_another_team_misses_and_gets_its_own_numbers(cached_team, other_team, django_assert_num_queries):
    """The key is scoped by team: a second team computes its own numbers, the first one's entry stays."""
    merged_pr(other_team, cycle="7.00")
    merged_pr(other_team, cycle="9.00")
    merged_pr(other_team, cycle="11.00")

    with django_assert_num_queries(2):
        assert read(other_team) == (3, Decimal("9.00"))
    with django_assert_num_queries(0):
        assert read(cached_team) == (1, Decimal("10.00"))


def test_another_range_misses(cached_team, django_assert_num_queries):
    """The key is scoped by range: the same team over another range is computed (and sees the new PR)."""
    with django_assert_num_queries(2):
        assert read(cached_team, start_date=dt.date(2026, 11, 17), end_date=END) == (2, Decimal("15.00"))
    with django_assert_num_queries(2):
        assert read(cached_team, start_date=START, end_date=dt.date(2026, 11, 21)) == (2, Decimal("15.00"))


def test_a_changed_time_zone_misses(cached_team, django_assert_num_queries):
    """Day bounds move with the team's time zone, so the zone is part of the key."""
    cached_team.timezone = "Europe/Berlin"

    with django_assert_num_queries(2):
        assert read(cached_team) == (2, Decimal("15.00"))


def test_the_legacy_side_never_reads_the_entry(cached_team, django_assert_num_queries):
    """The key names the side that computed it: legacy recomputes (ten queries) even with a warm optimized entry."""
    with django_assert_num_queries(10):
        result = legacy.get_key_metrics_with_previous(team=cached_team, start_date=START, end_date=END)

    assert (result["current"]["prs_merged"], result["current"]["avg_cycle_time"]) == (2, Decimal("15.00"))


def test_the_pair_serving_optimized_uses_the_cache(cached_team):
    """Through the pair, the optimized side's cached numbers serve; the legacy side's are always fresh."""
    with force_side(PAIR, "optimized"):
        served_optimized = dashboard.get_key_metrics_with_previous(team=cached_team, start_date=START, end_date=END)
    with force_side(PAIR, "legacy"):
        served_legacy = dashboard.get_key_metrics_with_previous(team=cached_team, start_date=START, end_date=END)

    assert (served_optimized["current"]["prs_merged"], served_legacy["current"]["prs_merged"]) == (1, 2)


# --- invalidation ----------------------------------------------------------------------------


def test_a_committed_data_change_makes_the_next_read_miss(
    cached_team, other_team, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """team_data_changed moves the team's generation on commit; other teams' entries stay."""
    merged_pr(other_team, cycle="5.00")
    assert read(other_team) == (1, Decimal("5.00"))
    merged_pr(other_team, cycle="7.00")

    with django_capture_on_commit_callbacks(execute=True):
        team_data_changed(cached_team.pk)

    with django_assert_num_queries(2):
        assert read(cached_team) == (2, Decimal("15.00"))
    with django_assert_num_queries(0):
        assert read(cached_team) == (2, Decimal("15.00"))
    with django_assert_num_queries(0):
        assert read(other_team) == (1, Decimal("5.00"))


def test_an_uncommitted_change_bypasses_the_cache(cached_team, django_assert_num_queries):
    """Until the writer commits, this connection reads fresh rows and caches none of them."""
    with transaction.atomic():
        team_data_changed(cached_team.pk)
        with django_assert_num_queries(2):
            assert read(cached_team) == (2, Decimal("15.00"))
        with django_assert_num_queries(2):
            assert read(cached_team) == (2, Decimal("15.00"))


@pytest.fixture
def github(settings, tmp_path):
    """A loopback GitHub serving reports from a temporary directory; returns that directory."""
    settings.GITHUB_MAX_ATTEMPTS = 1
    settings.GITHUB_RETRY_BACKOFF = 0
    settings.GITHUB_HTTP_TIMEOUT = 5.0
    with StubGitHubServer(tmp_path, expected_token=TOKEN) as stub:
        settings.GITHUB_API_URL = stub.base_url
        yield tmp_path


def test_copilot_sync_invalidates_after_storing(
    cached_team, github, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The real sync path (fetch, parse, store) moves the team's generation: the next read is computed."""
    GitHubIntegrationFactory(team=cached_team, org_slug="acme", access_token=TOKEN)
    TeamMemberFactory(team=cached_team, github_username="octocat")
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

    with django_capture_on_commit_callbacks(execute=True):
        summary = sync_copilot_metrics(team=cached_team, day=SYNC_DAY)

    assert summary.stored == 1
    with django_assert_num_queries(2):
        assert read(cached_team) == (2, Decimal("15.00"))


def test_weekly_aggregation_invalidates(cached_team, django_assert_num_queries, django_capture_on_commit_callbacks):
    """The weekly aggregation task moves the team's generation after writing its rows."""
    with django_capture_on_commit_callbacks(execute=True):
        aggregate_team_weekly_metrics_task.delay(cached_team.pk, "2026-11-16")

    with django_assert_num_queries(2):
        assert read(cached_team) == (2, Decimal("15.00"))


def test_seed_demo_invalidates_each_seeded_team_on_commit(django_capture_on_commit_callbacks):
    """Seeding moves each demo team's data generation, and only once its transaction commits."""
    def generation(team: Team):
        return caches["default"].get(generations.GENERATION_KEY.format(team_generation_name(team.pk)))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command(
            "seed_demo", "--teams", "2", "--members", "3", "--prs", "20", "--days", "7", "--end-date", "2026-11-20",
            stdout=io.StringIO(),
        )
    teams = list(Team.objects.filter(slug__startswith="demo-").order_by("slug"))
    names = [team_generation_name(team.pk) for team in teams]

    assert [generation(team) for team in teams] == [None, None]
    assert [generations.cache_usable(name) for name in names] == [False, False]

    for callback in callbacks:
        callback()

    assert [isinstance(generation(team), int) for team in teams] == [True, True]
    assert [generations.cache_usable(name) for name in names] == [True, True]


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
    """No Redis: each read is computed (two queries), never an error, and gives the right numbers."""
    merged_pr(team, cycle="10.00")
    merged_pr(team, cycle="20.01")

    assert type(caches["default"]).__name__ == "GuardedRedisCache"
    with django_assert_num_queries(2):
        first = optimized.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)
    with django_assert_num_queries(2):
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


def test_redis_down_the_pair_still_serves(team, redis_down, django_capture_on_commit_callbacks):
    """The pair on the optimized side answers with the right numbers, and invalidating does not raise either."""
    merged_pr(team, cycle="4.00")

    with force_side(PAIR, "optimized"):
        result = dashboard.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)
    with django_capture_on_commit_callbacks(execute=True):
        team_data_changed(team.pk)

    assert (result["current"]["prs_merged"], result["current"]["avg_cycle_time"]) == (1, Decimal("4.00"))
