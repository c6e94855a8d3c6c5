from __future__ import annotations

from django.db import models

from apps.metrics.models.base import TeamOwnedModel

# Upper bounds (additions + deletions) of the PR size buckets; anything larger is XL.
SIZE_BUCKETS: list[tuple[str, int | None]] = [("XS", 10), ("S", 50), ("M", 200), ("L", 500), ("XL", None)]


def size_bucket(lines_changed: int) -> str:
    for label, upper in SIZE_BUCKETS:
        if upper is None or lines_changed <= upper:
            return label
    raise AssertionError("unreachable: the last bucket has no upper bound")


class PullRequest(TeamOwnedModel):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        CLOSED = "closed", "Closed"

    github_pr_id = models.IntegerField(help_text="The PR number within its repository.")
    github_repo = models.CharField(max_length=200, help_text='"owner/name"')
    title = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    author = models.ForeignKey(
        "metrics.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="authored_prs"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    pr_created_at = models.DateTimeField()
    merged_at = models.DateTimeField(null=True, blank=True)
    first_review_at = models.DateTimeField(null=True, blank=True)
    cycle_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    review_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    review_rounds = models.IntegerField(null=True, blank=True)
    total_comments = models.IntegerField(null=True, blank=True)
    additions = models.IntegerField(default=0)
    deletions = models.IntegerField(default=0)
    is_revert = models.BooleanField(default=False)
    is_hotfix = models.BooleanField(default=False)
    is_ai_assisted = models.BooleanField(default=False)
    ai_tools_detected = models.JSONField(default=list, blank=True)
    jira_key = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "github_pr_id", "github_repo"], name="pr_unique_team_number_repo")
        ]
        # The performance plan's indexes (migration 0002, built concurrently).
        indexes = [
            models.Index(fields=["team", "state", "merged_at"], name="pr_team_state_merged_idx"),
            models.Index(fields=["team", "author", "merged_at"], name="pr_team_author_merged_idx"),
            models.Index(fields=["team", "pr_created_at"], name="pr_team_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.github_repo}#{self.github_pr_id}"

    @property
    def github_url(self) -> str:
        return f"https://github.com/{self.github_repo}/pull/{self.github_pr_id}"

    @property
    def size(self) -> str:
        return size_bucket(self.additions + self.deletions)


class PRReview(TeamOwnedModel):
    class State(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        COMMENTED = "commented", "Commented"

    pull_request = models.ForeignKey("metrics.PullRequest", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        "metrics.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews_given"
    )
    state = models.CharField(max_length=20, choices=State.choices)
    submitted_at = models.DateTimeField()
    is_ai_review = models.BooleanField(default=False)
    ai_reviewer_type = models.CharField(max_length=50, blank=True)

    def __str__(self) -> str:
        return f"{self.state} on {self.pull_request_id}"


class Commit(TeamOwnedModel):
    github_sha = models.CharField(max_length=40)
    github_repo = models.CharField(max_length=200)
    author = models.ForeignKey(
        "metrics.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="commits"
    )
    message = models.TextField(blank=True)
    committed_at = models.DateTimeField()
    additions = models.IntegerField(default=0)
    deletions = models.IntegerField(default=0)
    pull_request = models.ForeignKey(
        "metrics.PullRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="commits"
    )
    is_ai_assisted = models.BooleanField(default=False)
    ai_co_authors = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "github_sha"], name="commit_unique_team_sha")]

    def __str__(self) -> str:
        return self.github_sha[:10]
