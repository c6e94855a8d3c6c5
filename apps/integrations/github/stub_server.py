"""A loopback stand-in for GitHub's Copilot report API, serving recorded report files.

Layout of the root directory: `<root>/<org>/<YYYY-MM-DD>/*.ndjson`, one file
per download link (served in file-name order). The server answers

    GET /orgs/<org>/copilot/metrics/reports/users-1-day?day=YYYY-MM-DD
        -> {"download_links": ["<base_url>/downloads/<org>/<day>/<file>", …], "report_day": day}
    GET /downloads/<org>/<day>/<file>
        -> the file's bytes

The API endpoint requires `Authorization: Bearer <expected_token>` when an
expected token is set (401 otherwise); download links never require it, like
GitHub's pre-signed URLs. Unknown org or day → 404; a missing or malformed
`day` → 422, as GitHub does.

Tests script failures with `fail_next(status, times=…)` or arbitrary bodies
with `respond_next(...)`, and inspect `requests` (path and whether an
Authorization header came along). `python manage.py serve_github_stub` runs
one in the foreground for the demo.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tformance.loopback import LoopbackHTTPServer

logger = logging.getLogger(__name__)

API_PATH = re.compile(r"^/orgs/(?P<org>[^/]+)/copilot/metrics/reports/users-1-day$")
DOWNLOAD_PATH = re.compile(r"^/downloads/(?P<org>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})/(?P<name>[^/]+\.ndjson)$")
# Org names and file names are single path segments; anything else could walk out of the root.
SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

API = "api"
DOWNLOAD = "download"


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the stub answered: which endpoint, its path with query, and whether it carried a token."""

    kind: str
    path: str
    has_authorization: bool


@dataclass(frozen=True)
class ScriptedResponse:
    status: int
    body: bytes
    content_type: str = "application/json"


def write_recorded_report(
    root: Path, *, org: str, day: dt.date, records: list[dict | str], name: str = "report-1.ndjson"
) -> Path:
    """Write one report file under `<root>/<org>/<day>/<name>` and return its path.

    Dicts are written as one JSON object per line; a str is written verbatim as
    its own line, so tests can record a line that is not valid JSON.
    """
    directory = Path(root) / org / day.isoformat()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    lines = [entry if isinstance(entry, str) else json.dumps(entry, sort_keys=True) for entry in records]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


class StubGitHubServer(LoopbackHTTPServer):
    """A real HTTP server on 127.0.0.1 serving recorded Copilot reports.

    Use as a context manager (`with StubGitHubServer(root) as stub: stub.base_url`)
    to serve from a background thread, or call `serve_forever()` to run in the
    foreground. Port 0 picks a free ephemeral port.
    """

    thread_name = "github-stub"

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0, expected_token: str | None = None):
        self.root = Path(root)
        self.expected_token = expected_token
        self._lock = threading.Lock()
        self._scripted: dict[str, deque[ScriptedResponse]] = {API: deque(), DOWNLOAD: deque()}
        self._requests: list[ReceivedRequest] = []
        super().__init__(_handler_for(self), host=host, port=port)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def fail_next(self, status: int, *, times: int = 1, kind: str = API) -> None:
        """Make the next `times` requests to the API (or download) endpoint answer `status`."""
        body = json.dumps({"message": f"Scripted failure {status}"}).encode()
        self.respond_next(status, body, times=times, kind=kind)

    def respond_next(
        self, status: int, body: bytes, *, times: int = 1, kind: str = API, content_type: str = "application/json"
    ) -> None:
        """Make the next `times` requests to the API (or download) endpoint answer this exact response."""
        if kind not in self._scripted:
            raise ValueError(f"kind must be {API!r} or {DOWNLOAD!r}, got {kind!r}")
        with self._lock:
            self._scripted[kind].extend([ScriptedResponse(status, body, content_type)] * times)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- used by the request handler ---------------------------------------------

    def _record(self, request: ReceivedRequest) -> ScriptedResponse | None:
        with self._lock:
            self._requests.append(request)
            queue = self._scripted.get(request.kind)
            return queue.popleft() if queue else None

    def _report_files(self, org: str, day: str) -> list[Path] | None:
        if not SAFE_SEGMENT.match(org):
            return None
        directory = self.root / org / day
        if not directory.is_dir():
            return None
        return sorted(directory.glob("*.ndjson"))


def _handler_for(stub: StubGitHubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "GitHubStub/1.0"

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            has_authorization = self.headers.get("Authorization") is not None
            if match := API_PATH.match(url.path):
                scripted = stub._record(ReceivedRequest(API, self.path, has_authorization))
                if scripted is not None:
                    self._send(scripted.status, scripted.body, scripted.content_type)
                    return
                self._report(urllib.parse.unquote(match["org"]), urllib.parse.parse_qs(url.query))
            elif match := DOWNLOAD_PATH.match(url.path):
                scripted = stub._record(ReceivedRequest(DOWNLOAD, self.path, has_authorization))
                if scripted is not None:
                    self._send(scripted.status, scripted.body, scripted.content_type)
                    return
                self._download(match["org"], match["day"], match["name"])
            else:
                stub._record(ReceivedRequest("other", self.path, has_authorization))
                self._send_json(404, {"message": "Not Found"})

        def _report(self, org: str, query: dict[str, list[str]]) -> None:
            if stub.expected_token is not None and self.headers.get("Authorization") != f"Bearer {stub.expected_token}":
                self._send_json(401, {"message": "Bad credentials"})
                return
            day = (query.get("day") or [""])[0]
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                self._send_json(422, {"message": "day must be a date in YYYY-MM-DD format"})
                return
            files = stub._report_files(org, day)
            if files is None:
                self._send_json(404, {"message": "Not Found"})
                return
            links = [f"{stub.base_url}/downloads/{org}/{day}/{urllib.parse.quote(path.name)}" for path in files]
            self._send_json(200, {"download_links": links, "report_day": day})

        def _download(self, org: str, day: str, name: str) -> None:
            files = stub._report_files(org, day) if SAFE_SEGMENT.match(name) else None
            path = next((path for path in files or [] if path.name == name), None)
            if path is None:
                self._send_json(404, {"message": "Not Found"})
                return
            self._send(200, path.read_bytes(), "application/x-ndjson")

        def _send_json(self, status: int, payload: dict) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class names it so
            # The request line has no secrets (the token travels in a header); keep stderr quiet in tests.
            logger.debug("github stub: " + format, *args)

    return Handler
