"""Team percentage: stable across processes, salted per flag, monotone as it grows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flags.percent import team_bucket, team_in_percentage
from tests.support.processes import ROOT

TEAM_IDS = range(1, 401)


def teams_in(flag_name: str, percent) -> set[int]:
    return {team_id for team_id in TEAM_IDS if team_in_percentage(flag_name, team_id, percent)}


def test_buckets_are_the_same_in_another_process():
    """A fresh interpreter with another hash seed computes the same buckets (no reliance on hash())."""
    code = (
        "import django, json; django.setup(); from flags.percent import team_bucket; "
        "print(json.dumps([team_bucket('metrics.team_breakdown', i) for i in range(1, 401)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": "tformance.settings"}
    # The child needs no database: point it at one it will never open.
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/unused"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [team_bucket("metrics.team_breakdown", i) for i in TEAM_IDS]


def test_buckets_are_the_same_on_every_call():
    """Repeated calls give the same bucket."""
    assert [team_bucket("x.flag", 7) for _ in range(5)] == [team_bucket("x.flag", 7)] * 5


def test_two_flags_at_the_same_percentage_pick_different_teams():
    """The flag name is part of the hash, so rollouts do not all land on the same teams."""
    assert teams_in("metrics.team_breakdown", 50) != teams_in("metrics.key_metrics", 50)


def test_the_salt_reshuffles_the_teams(settings):
    """FLAGS_PERCENT_SALT is mixed in: another salt, another selection."""
    before = teams_in("metrics.team_breakdown", 50)
    settings.FLAGS_PERCENT_SALT = "another-salt"
    assert teams_in("metrics.team_breakdown", 50) != before


def test_growing_the_percentage_keeps_every_team_already_in():
    """10 % ⊆ 20 % ⊆ … ⊆ 90 %: a team never drops out as the rollout widens."""
    selections = [teams_in("metrics.team_breakdown", p) for p in (10, 20, 30, 50, 70, 90, "99.9")]
    assert all(smaller <= larger for smaller, larger in zip(selections, selections[1:]))


def test_the_share_of_teams_tracks_the_percentage():
    """Over 400 teams, 25 % selects roughly a quarter (the buckets are evenly spread)."""
    assert 70 <= len(teams_in("metrics.team_breakdown", 25)) <= 130


def test_zero_or_no_percentage_selects_nobody():
    """0 and None both mean no team by percentage."""
    assert teams_in("metrics.team_breakdown", 0) == teams_in("metrics.team_breakdown", None) == set()
