"""Running the `rollout` command in-process."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command


def rollout(*args: str) -> str:
    """Run `rollout` with these arguments; its standard output."""
    out = io.StringIO()
    call_command("rollout", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def rollout_failure(*args: str) -> tuple[CommandError, str]:
    """Run `rollout` expecting it to fail: (the error, what it printed before failing)."""
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("rollout", *args, stdout=out, stderr=io.StringIO())
    return caught.value, out.getvalue()


def rollout_error(*args: str) -> CommandError:
    return rollout_failure(*args)[0]
