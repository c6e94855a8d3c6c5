from apps.metrics.models.github import SIZE_BUCKETS, Commit, PRReview, PullRequest, size_bucket
from apps.metrics.models.members import TeamMember, initials_for
from apps.metrics.models.surveys import PRSurvey, PRSurveyReview
from apps.metrics.models.usage import AIUsageDaily, acceptance_rate
from apps.metrics.models.versions import TeamDataVersion
from apps.metrics.models.weekly import WeeklyMetrics

__all__ = [
    "SIZE_BUCKETS",
    "AIUsageDaily",
    "Commit",
    "PRReview",
    "PRSurvey",
    "PRSurveyReview",
    "PullRequest",
    "TeamDataVersion",
    "TeamMember",
    "WeeklyMetrics",
    "acceptance_rate",
    "initials_for",
    "size_bucket",
]
