import pytest

from tests import factories as f


@pytest.mark.django_db
def test_every_factory_builds_a_row_scoped_to_one_team():
    """Factories create consistent rows: related objects share the parent's team."""
    review = f.PRSurveyReviewFactory()
    assert review.team == review.survey.team == review.survey.pull_request.team == review.reviewer.team
    pr_review = f.PRReviewFactory()
    assert pr_review.team == pr_review.pull_request.team == pr_review.reviewer.team
    usage = f.AIUsageDailyFactory()
    assert usage.team == usage.member.team
    assert f.CommitFactory().author.team is not None
    assert f.WeeklyMetricsFactory().member.team is not None
    assert f.GitHubIntegrationFactory().access_token.startswith("ghp_")
    assert f.FlagFactory().teams.count() == 0
