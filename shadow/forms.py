"""The console's forms: the records' filters, an action's confirmation (reason, force, rate) and a rollout plan."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet

from apps.teams.models import Team
from shadow import pairs
from shadow.models import RolloutPlan, ShadowRecord

if TYPE_CHECKING:
    # Generic in the stubs only: Django's form classes cannot be subscripted at run time.
    PlanModelForm = forms.ModelForm[RolloutPlan]
else:
    PlanModelForm = forms.ModelForm


class RecordFilter(forms.Form):
    """Filters of the records list: every one optional; a bad value is a form error, never ignored."""

    pair = forms.ChoiceField(required=False)
    team = forms.SlugField(required=False)
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *ShadowRecord.Outcome.choices])
    day = forms.DateField(required=False, help_text="YYYY-MM-DD", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pair = self.fields["pair"]
        assert isinstance(pair, forms.ChoiceField)
        pair.choices = [("", "any"), *((name, name) for name in pairs.names())]

    def clean_team(self) -> Team | None:
        slug = self.cleaned_data["team"]
        if not slug:
            return None
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise forms.ValidationError(f"No team has the slug {slug!r}.")
        return team

    def apply(self, records: QuerySet[ShadowRecord]) -> QuerySet[ShadowRecord]:
        data = self.cleaned_data
        if data.get("pair"):
            records = records.filter(pair_name=data["pair"])
        if data.get("team"):
            records = records.filter(team=data["team"])
        if data.get("outcome"):
            records = records.filter(outcome=data["outcome"])
        if data.get("day"):
            records = records.filter(created_at__date=data["day"])
        return records


class ActionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the flag audit log with your name.",
        error_messages={"required": "Give a reason: it is recorded in the audit log."},
    )
    force = forms.BooleanField(
        required=False,
        label="Force past the readiness gate",
        help_text="Go ahead although the gate refuses; audited as FORCED with your reason.",
    )
    rate = forms.DecimalField(
        required=False, min_value=Decimal("0"), max_value=Decimal("1"), decimal_places=4, max_digits=5,
        help_text="0 to 1: 0.01 compares 1 % of calls, 1 every call.",
    )

    def __init__(self, *args: Any, needs_rate: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if needs_rate:
            self.fields["rate"].required = True
        else:
            del self.fields["rate"]


class PlanActionForm(ActionForm):
    """An action on a rollout plan: a reason only, recorded with the plan's decisions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["force"]
        self.fields["reason"].help_text = "Recorded with the plan's decisions, with your name."


class PlanForm(PlanModelForm):
    """A rollout plan's settings. Teams: slugs in promotion order, comma-separated; empty: all, smallest first."""

    teams = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"size": 60, "placeholder": "all teams, smallest data first"}),
        help_text="Team slugs in the order to promote them, comma-separated; empty: every team, smallest data first.",
    )

    class Meta:
        model = RolloutPlan
        fields = [
            "teams", "step_size", "bake_minutes", "min_comparisons", "min_argument_sets", "max_p95_ratio",
            "max_teams_per_day", "retire_after_days",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["teams"] = ", ".join(self.instance.teams or [])

    def clean_teams(self) -> list[str]:
        slugs = [slug.strip() for slug in self.cleaned_data["teams"].split(",") if slug.strip()]
        repeated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
        if repeated:
            raise forms.ValidationError(f"Listed more than once: {', '.join(repeated)}.")
        known = set(Team.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        unknown = [slug for slug in slugs if slug not in known]
        if unknown:
            raise forms.ValidationError(f"No team has the slug{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}.")
        return slugs
