from django.db import models

from apps.metrics.models.base import TeamOwnedModel


class PRSurvey(TeamOwnedModel):
    """The author's answer to "was this PR AI-assisted?"."""

    class Source(models.TextChoices):
        GITHUB = "github", "GitHub"
        SLACK = "slack", "Slack"
        WEB = "web", "Web"
        AUTO = "auto", "Auto"

    pull_request = models.OneToOneField("metrics.PullRequest", on_delete=models.CASCADE, related_name="survey")
    author = models.ForeignKey(
        "metrics.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="pr_surveys"
    )
    # None means the author has not answered yet.
    author_ai_assisted = models.BooleanField(null=True, blank=True)
    author_responded_at = models.DateTimeField(null=True, blank=True)
    author_response_source = models.CharField(max_length=10, choices=Source.choices, blank=True)

    def __str__(self) -> str:
        return f"survey for PR {self.pull_request_id}"


class PRSurveyReview(TeamOwnedModel):
    """A reviewer's rating of a PR and their guess whether it was AI-assisted."""

    class Quality(models.IntegerChoices):
        COULD_BE_BETTER = 1, "Could be better"
        OK = 2, "OK"
        SUPER = 3, "Super"

    survey = models.ForeignKey("metrics.PRSurvey", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey("metrics.TeamMember", on_delete=models.CASCADE, related_name="survey_reviews")
    quality_rating = models.IntegerField(choices=Quality.choices, null=True, blank=True)
    ai_guess = models.BooleanField(null=True, blank=True)
    guess_correct = models.BooleanField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "reviewer"], name="surveyreview_unique_survey_reviewer")
        ]

    def __str__(self) -> str:
        return f"review of survey {self.survey_id} by {self.reviewer_id}"
