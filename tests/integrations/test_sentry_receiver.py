"""The loopback Sentry receiver used by the task tests: envelope parsing and a real SDK round trip."""

from __future__ import annotations

import gzip
import json
import urllib.request

import sentry_sdk

from tests.support.sentry_receiver import SentryReceiver, parse_envelope


def test_parse_envelope_reads_sized_and_line_delimited_items():
    """An item with a `length` may contain newlines; an item without one ends at the next newline."""
    raw = (
        b'{"event_id":"abc"}\n'
        b'{"type":"attachment","length":11}\n'
        b"hello\nworld\n"
        b'{"type":"event"}\n'
        b'{"message":"boom"}\n'
    )

    envelope = parse_envelope(raw, project="7")

    assert envelope.header == {"event_id": "abc"}
    assert [(item.type, item.payload) for item in envelope.items] == [
        ("attachment", b"hello\nworld"),
        ("event", b'{"message":"boom"}'),
    ]


def test_a_gzipped_post_is_decompressed_and_kept():
    """The SDK gzips envelope bodies; the receiver stores them decompressed."""
    body = b'{}\n{"type":"event"}\n' + json.dumps({"message": "zipped"}).encode() + b"\n"
    with SentryReceiver() as receiver:
        request = urllib.request.Request(
            f"http://127.0.0.1:{receiver.port}/api/1/envelope/",
            data=gzip.compress(body),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/x-sentry-envelope"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            status = response.status

        assert status == 200
        assert receiver.events == [{"message": "zipped"}]
        assert receiver.raw_bytes == body


def test_the_fixture_receives_what_the_sdk_sends(sentry_events):
    """`sentry_events` initialises the project's Sentry set-up against the receiver."""
    sentry_sdk.capture_message("hello from the test")

    events = sentry_events.wait_for_events(1)

    assert [(event["message"], event["environment"]) for event in events] == [("hello from the test", "test")]
