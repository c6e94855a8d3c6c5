"""The integrations package's one base exception.

Callers catch `IntegrationError` for "this team's external data could not be
synced" and let everything else (database errors, bugs) propagate. Messages
name the team or org, the day and the HTTP status, never a credential.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """An integration is missing, misconfigured or its provider failed."""
