"""flags.extensions status notes: lines other apps add after the `rollout status` table, and its JSON "notes"."""

from __future__ import annotations

import json

import pytest

from flags import extensions
from tests.support.commands import rollout

pytestmark = pytest.mark.django_db


@pytest.fixture
def providers(monkeypatch):
    """Only this test's providers (the shadow app registers its own at start-up)."""
    monkeypatch.setattr(extensions, "_status_note_providers", [])


def test_registering_a_provider_again_is_a_no_op_and_notes_keep_the_registration_order(providers):
    def first() -> list[str]:
        return ["one", "two"]

    def second() -> list[str]:
        return ["three"]

    assert extensions.register_status_notes(first) is first
    extensions.register_status_notes(second)
    extensions.register_status_notes(first)

    assert extensions.status_notes() == ["one", "two", "three"]


def test_status_prints_the_notes_after_the_table_and_as_json_notes(providers, team):
    extensions.register_status_notes(lambda: ["metrics.example: ready to retire legacy"])

    output = rollout("status", "--team", "acme")
    document = json.loads(rollout("status", "--json"))

    assert output.endswith("\n\nmetrics.example: ready to retire legacy\n")
    assert output.startswith("FLAG")
    assert document["notes"] == ["metrics.example: ready to retire legacy"]


def test_without_notes_the_status_output_is_unchanged(providers, team):
    extensions.register_status_notes(list)

    assert not rollout("status").endswith("\n\n")
    assert set(json.loads(rollout("status", "--json"))) == {"flags"}
