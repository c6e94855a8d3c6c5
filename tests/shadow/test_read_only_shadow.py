"""No shadow write ever persists: a read pair's shadow side is refused by PostgreSQL, stream or not,
in autocommit (how a streamed response is sent) and inside the caller's transaction alike.

Rows are counted from a second connection after the call, as another request would see them.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import transaction

from apps.metrics.models import TeamMember
from shadow.models import ShadowRecord
from tests.factories import TeamMemberFactory
from tests.support.processes import database_url

ROWS = [[number] for number in range(5)]


def members_seen_elsewhere(team) -> int:
    with psycopg.connect(database_url()) as other:
        return other.execute(
            f"SELECT count(*) FROM {TeamMember._meta.db_table} WHERE team_id = %s", [team.pk]
        ).fetchone()[0]


def count(*, team) -> int:
    return 3


def count_after_writing(*, team) -> int:
    TeamMemberFactory(team=team, display_name="Written by the shadow")
    return 3


def rows(*, team):
    yield from ROWS


def rows_after_writing(*, team):
    TeamMemberFactory(team=team, display_name="Written by the shadow")
    yield from ROWS


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_a_transaction", [False, True])
def test_a_read_pairs_shadow_side_cannot_write(make_pair, sample_everything, team, in_a_transaction):
    pair = make_pair(legacy=count, optimized=count_after_writing)

    if in_a_transaction:
        with transaction.atomic():
            answer = pair(team=team)
    else:
        answer = pair(team=team)

    assert answer == 3
    assert members_seen_elsewhere(team) == 0
    record = ShadowRecord.objects.get()
    assert record.outcome == "error"
    assert "read-only transaction" in record.error


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_a_transaction", [False, True])
def test_a_stream_pairs_shadow_side_cannot_write(make_pair, sample_everything, team, in_a_transaction):
    """In autocommit PostgreSQL refuses the write (read-only statements); in a transaction it is refused before it is sent."""
    pair = make_pair(legacy=rows, optimized=rows_after_writing, stream=True)

    if in_a_transaction:
        with transaction.atomic():
            served = list(pair(team=team))
    else:
        served = list(pair(team=team))

    assert served == ROWS
    assert members_seen_elsewhere(team) == 0
    record = ShadowRecord.objects.get()
    assert record.outcome == "error"
    assert ("read-only transaction" in record.error) or ("tried to write (INSERT)" in record.error)
