from __future__ import annotations

from django.db import models


class GitHubIntegration(models.Model):
    """A team's connection to its GitHub organisation.

    The access token is a secret: it is excluded from repr/str, never rendered
    by the admin, and never put in a log line or an error message.
    """

    class SyncStatus(models.TextChoices):
        NEVER = "never", "Never run"
        OK = "ok", "OK"
        PARTIAL = "partial", "Stored with skipped records"
        FAILED = "failed", "Failed"

    team = models.OneToOneField("teams.Team", on_delete=models.CASCADE, related_name="github_integration")
    org_slug = models.CharField(max_length=100)
    access_token = models.CharField(max_length=255, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.NEVER)
    last_sync_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"GitHub org {self.org_slug}"

    def __repr__(self) -> str:
        return f"<GitHubIntegration team={self.team_id} org={self.org_slug!r} token={'set' if self.access_token else 'unset'}>"
