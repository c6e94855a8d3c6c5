"""Pytest fixtures from tests/support, registered in tests/conftest.py via pytest_plugins."""

from __future__ import annotations

import pytest
import sentry_sdk

from tests.support.sentry_receiver import SentryReceiver


@pytest.fixture
def sentry_events():
    """A loopback Sentry receiver with the SDK initialised to send to it.

    The SDK is initialised through the project's own `init_sentry`, so the
    event scrubber and integrations under test are the production ones. At
    teardown the client is flushed and closed, so later tests send nothing.
    """
    # Imported here so loading this plugin does not import the SDK's Django integration early.
    from tformance.sentry import init_sentry

    with SentryReceiver() as receiver:
        init_sentry(dsn=receiver.dsn(), environment="test", traces_sample_rate=0)
        try:
            yield receiver
        finally:
            client = sentry_sdk.get_client()
            client.flush(timeout=5)
            client.close()
            sentry_sdk.init(dsn=None)


@pytest.fixture
def queue_for_real():
    """Send Celery tasks to the broker instead of running them in-process, for this test only."""
    from tformance.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True
