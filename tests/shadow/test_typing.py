"""A pair is typed like its legacy function: mypy checks calls of an entry point against that signature."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]


def test_calls_of_a_pair_type_check_against_the_legacy_signature(tmp_path):
    """A wrong argument type or name is a type error; the return type is the legacy function's."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent("""\
        import datetime as dt

        from apps.metrics.services.dashboard import get_team_breakdown
        from apps.teams.models import Team


        def call(team: Team) -> None:
            rows = get_team_breakdown(team=team, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 7))
            reveal_type(rows)
            get_team_breakdown(team=team, start_date=dt.date(2026, 1, 1), end_date="2026-01-07")
            get_team_breakdown(team=team, start=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 7))
    """))

    stdout, _, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )

    messages = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith(str(snippet))]
    assert messages == [
        'note: Revealed type is "list[dict[Any, Any]]"',
        'error: Argument "end_date" to "__call__" of "Pair" has incompatible type "str"; expected "date"  [arg-type]',
        'error: Unexpected keyword argument "start" for "__call__" of "Pair"  [call-arg]',
        'note: "__call__" defined in "shadow.pairs"',
    ]
    assert status == 1
