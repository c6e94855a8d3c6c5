"""GITHUB_* settings are validated at start-up."""

from apps.integrations.checks import check_github_settings


def test_default_github_settings_pass():
    """The shipped defaults (api.github.com, 10 s, 3 attempts, 1 s backoff) are valid."""
    assert check_github_settings() == []


def test_bad_github_settings_are_reported(settings):
    """A non-URL base, a zero timeout, zero attempts and a negative backoff each fail the check."""
    settings.GITHUB_API_URL = "api.github.com"
    settings.GITHUB_HTTP_TIMEOUT = 0
    settings.GITHUB_MAX_ATTEMPTS = 0
    settings.GITHUB_RETRY_BACKOFF = -1
    assert [error.id for error in check_github_settings()] == [
        "integrations.E001", "integrations.E002", "integrations.E003", "integrations.E004",
    ]
