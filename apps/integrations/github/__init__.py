"""GitHub API clients for the integrations app (standard library HTTP only)."""

from apps.integrations.errors import IntegrationError
from apps.integrations.github.copilot_report import CopilotReportError, InvalidLine, fetch_users_daily_report

__all__ = ["CopilotReportError", "IntegrationError", "InvalidLine", "fetch_users_daily_report"]
