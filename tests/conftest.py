from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches

from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture(autouse=True, scope="session")
def _celery_tasks_run_in_process():
    """Tasks run eagerly in tests, also when REDIS_URL names a broker.

    The real-worker test (tests/integration/test_celery_worker.py) switches this off for itself.
    """
    from tformance.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def clear_caches() -> None:
    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _clear_caches():
    """Each test starts with empty caches (shared Redis in CI, local memory otherwise) and no flag states."""
    from flags.store import STORE
    from tformance.generations import forget_uncommitted

    clear_caches()
    forget_uncommitted()
    # Each test has its own flag rows: no flag state read in another test may answer here.
    STORE.forget()
    yield
    clear_caches()
    forget_uncommitted()
    STORE.forget()


@pytest.fixture(autouse=True)
def _unknown_flags_raise(settings):
    """In tests an unregistered flag name is an error, not a silent "off"."""
    settings.FLAGS_RAISE_ON_UNKNOWN = True


@pytest.fixture(autouse=True)
def _no_random_sampling(settings):
    """Pairs are not sampled unless a test asks for it, so query counts through a pair are exact."""
    settings.SHADOW_DEFAULT_RATE = 0


@pytest.fixture
def team(db):
    return TeamFactory(name="Acme", slug="acme")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Globex", slug="globex")


@pytest.fixture
def member_user(team):
    """A login that is a member of `team`."""
    user = UserFactory(username="alice")
    MembershipFactory(user=user, team=team)
    return user


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client
