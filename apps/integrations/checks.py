"""Start-up check of the GitHub settings (GITHUB_*), read in tformance/settings.py."""

from __future__ import annotations

import urllib.parse

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_github_settings(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    url = urllib.parse.urlsplit(str(settings.GITHUB_API_URL))
    if url.scheme not in ("http", "https") or not url.netloc:
        errors.append(
            Error(f"GITHUB_API_URL must be an http(s) URL, got {settings.GITHUB_API_URL!r}", id="integrations.E001")
        )
    if not settings.GITHUB_HTTP_TIMEOUT > 0:
        errors.append(Error("GITHUB_HTTP_TIMEOUT must be a positive number of seconds", id="integrations.E002"))
    if not 1 <= settings.GITHUB_MAX_ATTEMPTS <= 10:
        errors.append(Error("GITHUB_MAX_ATTEMPTS must be from 1 to 10", id="integrations.E003"))
    if not settings.GITHUB_RETRY_BACKOFF >= 0:
        errors.append(Error("GITHUB_RETRY_BACKOFF must not be negative", id="integrations.E004"))
    return errors
