"""Settings for a gunicorn probe server in fault tests: the test settings, plus one test-only URL."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.probe_urls"
