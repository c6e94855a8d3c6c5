"""Sentry set-up: Django and Celery integrations, no personal data sent."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

# Field names that may carry a GitHub token on top of the SDK's own list.
EXTRA_DENYLIST = ["access_token", "github_token", "authorization", "token"]


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
        send_default_pii=False,
        # Stack-frame variables can hold people's names, titles and logins; events carry none.
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        event_scrubber=EventScrubber(denylist=DEFAULT_DENYLIST + EXTRA_DENYLIST, recursive=True),
    )
