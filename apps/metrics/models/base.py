from django.db import models


class TeamOwnedModel(models.Model):
    """Every row belongs to exactly one team; queries always filter on it."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
