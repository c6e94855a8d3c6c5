"""Everything that changes a rollout says why: kill and restore need --reason, and history shows it."""

from __future__ import annotations

import getpass

import pytest
from django.core.management import CommandError

from tests.factories import TeamFactory
from tests.support.commands import rollout, rollout_error

pytestmark = pytest.mark.django_db

FLAG = "metrics.team_breakdown"


@pytest.mark.parametrize("subcommand", ["kill", "restore"])
def test_kill_and_restore_without_a_reason_are_refused_and_change_nothing(subcommand):
    with pytest.raises(CommandError, match="the following arguments are required: --reason"):
        rollout(subcommand, FLAG)
    error = rollout_error(subcommand, FLAG, "--reason", "   ")

    assert error.returncode == 2
    assert "--reason must say why" in str(error)
    assert rollout("history", FLAG) == f"{FLAG}: no changes recorded\n"


def test_history_shows_a_kill_and_a_restore_with_their_reasons():
    TeamFactory(slug="acme")
    rollout("kill", FLAG, "--reason", "mismatches on Nov 28")
    rollout("restore", FLAG, "--reason", "fix deployed")

    lines = rollout("history", FLAG).splitlines()

    actor = f"cli:{getpass.getuser()}"
    assert [line for line in lines if "mismatches on Nov 28" in line and actor in line and "killed" in line]
    assert [line for line in lines if "fix deployed" in line and "listed teams only" in line]


def test_a_change_says_when_every_process_serves_it(settings):
    settings.FLAGS_MAX_STALE_SECONDS = 5
    TeamFactory(slug="acme")

    output = rollout("disable", FLAG, "--team", "acme", "--reason", "rollback")

    assert output.splitlines()[-1] == (
        "This process serves the change now; every other process within 5 s (FLAGS_MAX_STALE_SECONDS), "
        "whatever the cache server does."
    )
