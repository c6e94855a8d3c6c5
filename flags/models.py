from django.db import models
from waffle.models import AbstractUserFlag


class Flag(AbstractUserFlag):
    """waffle's flag with a per-team switch (WAFFLE_FLAG_MODEL = "flags.Flag").

    The rollout behaviour (team lists, team percentage, audit) is built on
    this model; it exists from the first migration because a swappable model
    cannot be swapped later.
    """

    teams = models.ManyToManyField(
        "teams.Team", blank=True, related_name="flags", help_text="Activate this flag for these teams."
    )

    class Meta(AbstractUserFlag.Meta):
        verbose_name = "Flag"
        verbose_name_plural = "Flags"
