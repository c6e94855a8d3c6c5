import pytest
from waffle import get_waffle_flag_model

from flags.models import Flag
from tests.factories import FlagFactory, TeamFactory


def test_waffle_uses_the_team_aware_flag_model():
    """WAFFLE_FLAG_MODEL points at flags.Flag from the first migration on."""
    assert get_waffle_flag_model() is Flag


@pytest.mark.django_db
def test_a_flag_can_list_the_teams_it_is_on_for():
    """The teams many-to-many stores per-team switches (its rollout semantics come later)."""
    flag = FlagFactory(name="metrics.team_breakdown")
    acme, globex = TeamFactory(), TeamFactory()
    flag.teams.add(acme)
    assert list(flag.teams.all()) == [acme]
    assert list(globex.flags.all()) == []
