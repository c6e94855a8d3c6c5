"""Client for GitHub's Copilot usage metrics "users-1-day" report.

Two steps: the API endpoint answers with pre-signed download links, and each
link is a file of newline-delimited JSON, one record per user and day.

    GET {GITHUB_API_URL}/orgs/{org}/copilot/metrics/reports/users-1-day?day=YYYY-MM-DD
    -> {"download_links": ["https://…", …], "report_day": "YYYY-MM-DD"}

The token goes to the API base URL only. The download links carry their own
signature, so they are fetched without an Authorization header; the header is
also attached as "unredirected" so a redirect never forwards it to another host.

Only the standard library is used (urllib), with the timeout, attempt count and
backoff from settings (GITHUB_HTTP_TIMEOUT, GITHUB_MAX_ATTEMPTS,
GITHUB_RETRY_BACKOFF).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.integrations.errors import IntegrationError

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
REPORT_PATH = "/orgs/{org}/copilot/metrics/reports/users-1-day"

# 403 is included because GitHub answers secondary rate limits with 403.
RETRYABLE_STATUSES = frozenset({403, 429})


class CopilotReportError(IntegrationError):
    """The report could not be fetched or understood.

    The message names the org, the day, the HTTP status (when there was one)
    and the number of attempts. It never contains the token or a signed URL.
    """

    def __init__(self, message: str, *, org: str, day: dt.date, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.org = org
        self.day = day
        self.status = status
        self.attempts = attempts


@dataclass(frozen=True)
class InvalidLine:
    """A report file line that was not valid JSON.

    Kept in the returned list in place of a record so one broken line does not
    abort its file, and so the parser can count it as malformed with its
    position. The line's content is deliberately not kept: it may hold a login.
    """

    file_number: int
    line_number: int


class _Secret:
    """The token or a signed link, kept out of reprs, log lines and error reports' captured locals."""

    __slots__ = ("value",)

    def __init__(self, value: str):
        self.value = value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


def report_url(*, org: str, day: dt.date) -> str:
    path = REPORT_PATH.format(org=urllib.parse.quote(org, safe=""))
    return f"{settings.GITHUB_API_URL}{path}?{urllib.parse.urlencode({'day': day.isoformat()})}"


def fetch_users_daily_report(*, org: str, token: str, day: dt.date) -> list[Any]:
    """Return the raw records of the org's users-1-day report for `day`, from every download link.

    Each element is the decoded JSON value of one non-blank line, in file and
    line order: normally a dict, but whatever the line held (a list, a number…)
    is passed through unchanged for the parser to reject. A line that is not
    valid JSON becomes an `InvalidLine` marker instead of aborting the file.

    Every request is retried for 5xx, 429, 403 and connection errors, up to
    GITHUB_MAX_ATTEMPTS attempts, sleeping GITHUB_RETRY_BACKOFF × 2^n seconds
    after the n-th failed attempt (n from 0). Any other 4xx fails at once.
    Raises `CopilotReportError` when a request still fails, when the API body
    is not JSON, or when it has no `download_links` list.
    """
    secret = _Secret(token)
    del token
    api_url = _Secret(report_url(org=org, day=day))
    links = _download_links(_get(api_url, org=org, day=day, what="report request", auth=secret), org=org, day=day)
    records: list[Any] = []
    for file_number, link in enumerate(links, start=1):
        # A signed link is a credential of its own: messages name it by position only.
        what = f"download {file_number} of {len(links)}"
        content = _get(link, org=org, day=day, what=what, auth=None)
        records.extend(_decode_lines(content, file_number=file_number))
    logger.info("Copilot report for org %s on %s: %d files, %d lines", org, day, len(links), len(records))
    return records


def _download_links(body: bytes, *, org: str, day: dt.date) -> list[_Secret]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CopilotReportError(
            f"GitHub Copilot report for org {org!r} on {day}: the API response is not valid JSON",
            org=org,
            day=day,
            status=200,
        ) from None
    links = payload.get("download_links") if isinstance(payload, dict) else None
    if not isinstance(links, list) or not all(isinstance(link, str) and link for link in links):
        raise CopilotReportError(
            f"GitHub Copilot report for org {org!r} on {day}: the API response has no download_links list",
            org=org,
            day=day,
            status=200,
        )
    # urllib also opens file:// and ftp:// URLs; a link must never read local files.
    if not all(urllib.parse.urlsplit(link).scheme in ("http", "https") for link in links):
        raise CopilotReportError(
            f"GitHub Copilot report for org {org!r} on {day}: a download link is not an http(s) URL",
            org=org,
            day=day,
            status=200,
        )
    return [_Secret(link) for link in links]


def _decode_lines(content: bytes, *, file_number: int) -> list[Any]:
    decoded: list[Any] = []
    for line_number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            decoded.append(json.loads(line))
        except (UnicodeDecodeError, json.JSONDecodeError):
            decoded.append(InvalidLine(file_number=file_number, line_number=line_number))
    return decoded


def _get(url: _Secret, *, org: str, day: dt.date, what: str, auth: _Secret | None) -> bytes:
    max_attempts = max(1, int(settings.GITHUB_MAX_ATTEMPTS))
    failure = ""
    status: int | None = None
    for attempt in range(max_attempts):
        if attempt:
            time.sleep(settings.GITHUB_RETRY_BACKOFF * 2 ** (attempt - 1))
        request = urllib.request.Request(url.value, method="GET")
        if auth is not None:
            request.add_unredirected_header("Authorization", f"Bearer {auth.value}")
            request.add_unredirected_header("Accept", "application/vnd.github+json")
            request.add_unredirected_header("X-GitHub-Api-Version", API_VERSION)
        try:
            with urllib.request.urlopen(request, timeout=settings.GITHUB_HTTP_TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            status = exc.code
            failure = f"HTTP {exc.code}"
            if not (exc.code >= 500 or exc.code in RETRYABLE_STATUSES):
                raise CopilotReportError(
                    _failure_message(org=org, day=day, what=what, failure=failure, attempts=attempt + 1),
                    org=org,
                    day=day,
                    status=status,
                    attempts=attempt + 1,
                ) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            # URLError.reason may echo the URL; the exception type is enough to act on.
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            status = None
            failure = f"connection error ({type(reason if isinstance(reason, BaseException) else exc).__name__})"
        logger.warning(
            "GitHub Copilot %s for org %s on %s failed (%s), attempt %d of %d",
            what,
            org,
            day,
            failure,
            attempt + 1,
            max_attempts,
        )
    raise CopilotReportError(
        _failure_message(org=org, day=day, what=what, failure=failure, attempts=max_attempts),
        org=org,
        day=day,
        status=status,
        attempts=max_attempts,
    )


def _failure_message(*, org: str, day: dt.date, what: str, failure: str, attempts: int) -> str:
    noun = "attempt" if attempts == 1 else "attempts"
    return f"GitHub Copilot {what} for org {org!r} on {day} failed: {failure} after {attempts} {noun}"
