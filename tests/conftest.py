from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import MembershipFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (shared Redis in CI, local memory otherwise)."""
    cache.clear()
    yield
    cache.clear()


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
