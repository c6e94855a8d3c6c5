"""A loopback Sentry ingest endpoint: the SDK sends real envelopes over HTTP, tests read them back.

Accepts POST /api/<project>/envelope/ (gzip bodies included), keeps every raw
decompressed envelope and the parsed items, and exposes the "event" items as
dicts. Envelope format: a header JSON line, then for each item an item-header
JSON line followed by its payload, which is either `length` bytes (when the
item header says so) or the rest of the line.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import sentry_sdk

from tformance.loopback import LoopbackHTTPServer

ENVELOPE_PATH = re.compile(r"^/api/(?P<project>[^/]+)/envelope/?$")


@dataclass(frozen=True)
class EnvelopeItem:
    header: dict
    payload: bytes

    @property
    def type(self) -> str:
        return self.header.get("type", "")

    def json(self) -> dict:
        return json.loads(self.payload)


@dataclass(frozen=True)
class Envelope:
    project: str
    header: dict
    items: tuple[EnvelopeItem, ...]
    raw: bytes


def parse_envelope(raw: bytes, *, project: str = "") -> Envelope:
    """Split a decompressed envelope into its header and items."""
    header_line, _, rest = raw.partition(b"\n")
    items = []
    position = 0
    while position < len(rest):
        end_of_header = rest.find(b"\n", position)
        if end_of_header == -1:
            end_of_header = len(rest)
        item_header_line = rest[position:end_of_header]
        position = end_of_header + 1
        if not item_header_line.strip():
            continue
        item_header = json.loads(item_header_line)
        length = item_header.get("length")
        if length is not None:
            payload = rest[position : position + length]
            position += length
            # A newline after an explicitly sized payload is optional.
            if rest[position : position + 1] == b"\n":
                position += 1
        else:
            end_of_payload = rest.find(b"\n", position)
            if end_of_payload == -1:
                end_of_payload = len(rest)
            payload = rest[position:end_of_payload]
            position = end_of_payload + 1
        items.append(EnvelopeItem(header=item_header, payload=payload))
    return Envelope(project=project, header=json.loads(header_line), items=tuple(items), raw=raw)


class SentryReceiver(LoopbackHTTPServer):
    """A real HTTP server on 127.0.0.1 (ephemeral port) collecting Sentry envelopes."""

    thread_name = "sentry-receiver"

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._envelopes: list[Envelope] = []
        super().__init__(_handler_for(self))

    def dsn(self, project: str = "1") -> str:
        return f"http://public@127.0.0.1:{self.port}/{project}"

    @property
    def envelopes(self) -> list[Envelope]:
        with self._condition:
            return list(self._envelopes)

    @property
    def events(self) -> list[dict]:
        """Payloads of every "event" item received so far (errors and messages, not transactions)."""
        return [item.json() for envelope in self.envelopes for item in envelope.items if item.type == "event"]

    @property
    def raw_bytes(self) -> bytes:
        """Every decompressed envelope received, concatenated: for "this must appear nowhere" checks."""
        return b"\n".join(envelope.raw for envelope in self.envelopes)

    def wait_for_events(self, count: int = 1, *, timeout: float = 10.0) -> list[dict]:
        """Flush the SDK, then wait until at least `count` events have arrived; returns the events."""
        sentry_sdk.flush(timeout=timeout)
        with self._condition:
            self._condition.wait_for(lambda: self._event_count() >= count, timeout=timeout)
        return self.events

    def _event_count(self) -> int:
        return sum(1 for envelope in self._envelopes for item in envelope.items if item.type == "event")

    def _add(self, envelope: Envelope) -> None:
        with self._condition:
            self._envelopes.append(envelope)
            self._condition.notify_all()


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # only present when the SDK itself could have chosen brotli

        return brotli.decompress(body)
    return body


def _handler_for(receiver: SentryReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = ENVELOPE_PATH.match(self.path.split("?", 1)[0])
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if match is None:
                self._reply(404, b'{"detail":"not an envelope endpoint"}')
                return
            raw = _decompress(body, self.headers.get("Content-Encoding", ""))
            receiver._add(parse_envelope(raw, project=match["project"]))
            self._reply(200, b"{}")

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class names it so
            pass

    return Handler
