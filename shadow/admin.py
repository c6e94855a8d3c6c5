"""Admin for the shadow app: sampling rates and rollout plans (editable), evidence, mismatch records and
the autopilot's decisions (read-only).

The admin is staff-only (Django's admin site sends anyone else to its login
page). A saved or deleted rate takes effect in this process at once (the
SamplingRate signals clear the pair's cached rates) and in every other
within FLAGS_MAX_STALE_SECONDS; each is written to the flags' audit log. ShadowRecords show their
differences, errors and call arguments in full only to users with `shadow.view_personal`, as the
console does; others see them as Sentry gets them. A rollout plan's settings are edited here as in
the console (same form, and `flags.change_rollout` besides the model permissions); its status moves only
through the console's or `rollout plan`'s actions, which record each move as a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import BooleanField, QuerySet, Value
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from flags.audit import user_actor
from flags.models import CHANGE_ROLLOUT
from shadow import pairs, sampling
from shadow.console import evidence_line
from shadow.evidence import bucket_bound, percentile
from shadow.forms import PlanForm
from shadow.models import (
    MS_BUCKETS,
    QUERY_BUCKETS,
    VIEW_PERSONAL,
    DailyEvidence,
    DifferenceRow,
    PlanDecision,
    RolloutPlan,
    SamplingRate,
    ShadowRecord,
)
from tformance.admin import ReadOnlyAdmin

ADMIN_REASON = "changed in the admin"

if TYPE_CHECKING:
    # Generic in the stubs only: Django's form and admin classes cannot be subscripted at run time.
    SamplingRateModelForm = forms.ModelForm[SamplingRate]
    SamplingRateModelAdmin = admin.ModelAdmin[SamplingRate]
    RolloutPlanModelAdmin = admin.ModelAdmin[RolloutPlan]
else:
    SamplingRateModelForm = forms.ModelForm
    SamplingRateModelAdmin = admin.ModelAdmin
    RolloutPlanModelAdmin = admin.ModelAdmin


def pair_choices() -> list[tuple[str, str]]:
    return [(pair.name, pair.name) for pair in pairs.all()]


class SamplingRateForm(SamplingRateModelForm):
    class Meta:
        model = SamplingRate
        fields = ["pair_name", "team", "rate"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = pair_choices()
        current = self.instance.pair_name if self.instance.pk else None
        if current and current not in dict(choices):
            # A rate left behind by a pair that is no longer registered can still be edited or deleted.
            choices.append((current, f"{current} (not registered)"))
        self.fields["pair_name"] = forms.ChoiceField(choices=choices, label="Pair")
        self.fields["team"].help_text = "Empty: the rate for all teams without a rate of their own."


@admin.register(SamplingRate)
class SamplingRateAdmin(SamplingRateModelAdmin):
    form = SamplingRateForm
    list_display = ["pair_name", "scope", "rate", "updated_by", "updated_at"]
    list_filter = ["pair_name"]
    list_select_related = ["team"]
    ordering = ["pair_name", "team__slug"]
    readonly_fields = ["updated_by", "updated_at"]

    @admin.display(description="Team")
    def scope(self, row: SamplingRate) -> str:
        return row.team.slug if row.team else "all teams"

    def save_model(self, request: HttpRequest, obj: SamplingRate, form: SamplingRateForm, change: bool) -> None:
        obj.updated_by = user_actor(request.user)
        old = SamplingRate.objects.select_related("team").filter(pk=obj.pk).first() if change else None
        moved = old is not None and (old.pair_name, old.team_id) != (obj.pair_name, obj.team_id)
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if old is not None and moved:
                # The row now speaks for another pair or team: its old scope lost its rate.
                sampling.record_rate_change(
                    pair_name=old.pair_name, team=old.team, actor=obj.updated_by, reason=ADMIN_REASON,
                    before=old.rate, after=None,
                )
            sampling.record_rate_change(
                pair_name=obj.pair_name, team=obj.team, actor=obj.updated_by, reason=ADMIN_REASON,
                before=old.rate if old is not None and not moved else None, after=obj.rate,
            )

    def delete_model(self, request: HttpRequest, obj: SamplingRate) -> None:
        with transaction.atomic():
            super().delete_model(request, obj)
            sampling.record_rate_change(
                pair_name=obj.pair_name, team=obj.team, actor=user_actor(request.user), reason=ADMIN_REASON,
                before=obj.rate, after=None,
            )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SamplingRate]) -> None:
        # The bulk delete action: one audit entry per rate, as for a single delete.
        for row in queryset.select_related("team"):
            self.delete_model(request, row)


def p50(histogram: list[int], buckets: Sequence[float]) -> str:
    value = bucket_bound(percentile(histogram, buckets, 0.5), buckets)
    return "—" if value is None else str(value)


@admin.register(DailyEvidence)
class DailyEvidenceAdmin(ReadOnlyAdmin):
    list_display = [
        "day", "pair_name", "team", "optimized_revision", "legacy_revision",
        "runs", "matches", "mismatches", "errors", "timeouts", "inconclusive",
        "optimized_served_mismatches", "optimized_errors", "p50_ms", "p50_queries",
    ]
    list_filter = ["pair_name", "day", "optimized_revision"]
    list_select_related = ["team"]
    search_fields = ["pair_name", "team__slug", "optimized_revision", "legacy_revision"]
    date_hierarchy = "day"
    ordering = ["-day", "pair_name", "team__slug"]

    @admin.display(description="p50 ms legacy → optimized")
    def p50_ms(self, row: DailyEvidence) -> str:
        return f"{p50(row.legacy_ms_histogram, MS_BUCKETS)} → {p50(row.optimized_ms_histogram, MS_BUCKETS)}"

    @admin.display(description="p50 queries legacy → optimized")
    def p50_queries(self, row: DailyEvidence) -> str:
        return (
            f"{p50(row.legacy_queries_histogram, QUERY_BUCKETS)} → "
            f"{p50(row.optimized_queries_histogram, QUERY_BUCKETS)}"
        )


@admin.register(ShadowRecord)
class ShadowRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "pair_name", "team", "outcome", "served", "first_difference", "error_shown"]
    list_filter = ["pair_name", "outcome", "served"]
    list_select_related = ["team"]
    search_fields = ["pair_name", "team__slug", "error"]
    date_hierarchy = "created_at"
    fields = [
        "created_at", "pair_name", "team", "outcome", "served", "differences", "error_shown",
        "arguments", "replay", "legacy_measurement", "optimized_measurement", "legacy_revision", "optimized_revision",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShadowRecord]:
        # Each row carries whether this request may see personal values: display methods get no request,
        # and the admin instance is shared between requests.
        personal = request.user.has_perm(VIEW_PERSONAL)
        records = cast(QuerySet[ShadowRecord], super().get_queryset(request))
        # The team comes along: the record's title names it by slug.
        return records.select_related("team").annotate(show_personal=Value(personal, output_field=BooleanField()))

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # Searching the full error text would tell who may not see it which values it holds.
        return list(self.search_fields) if request.user.has_perm(VIEW_PERSONAL) else ["pair_name", "team__slug"]

    def get_readonly_fields(self, request: HttpRequest, obj: ShadowRecord | None = None) -> list[str]:
        # `fields` above: plain names, no groups.
        return cast(list[str], self.fields)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: ShadowRecord | None = None,
    ) -> HttpResponse:
        if obj is not None:
            # "Mismatch in metrics.team_breakdown for acme" rather than "View shadow record".
            context.update(title=str(obj), subtitle=None)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.display(description="First difference")
    def first_difference(self, record: ShadowRecord) -> str:
        lines = record.differences(personal=personal(record))
        return lines[0] if lines else "—"

    @admin.display(description="Differences")
    def differences(self, record: ShadowRecord) -> str:
        rows = record.difference_rows(personal=personal(record))
        if not rows:
            return "—"
        legacy_label, optimized_label = record.side_labels
        return format_html(
            '<table class="shadow-diff"><thead><tr><th>Path</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            legacy_label, optimized_label, format_html_join("", "{}", ((difference_row(row),) for row in rows)),
        )

    @admin.display(description="Error")
    def error_shown(self, record: ShadowRecord) -> str:
        return record.error_shown(personal=personal(record))

    @admin.display(description="Call arguments")
    def arguments(self, record: ShadowRecord) -> str:
        return format_html("<code>{}</code>", record.arguments_text(personal=personal(record)))

    @admin.display(description="Replay")
    def replay(self, record: ShadowRecord) -> str:
        return format_html("<code>{}</code>", record.replay_command())


def difference_row(row: DifferenceRow) -> str:
    if row.legacy is None or row.optimized is None:
        # Stored before the sides were kept: the whole line across both columns.
        return format_html('<tr><td><code>{}</code></td><td colspan="2"><code>{}</code></td></tr>', row.path, row.line)
    return format_html(
        "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
        row.path, row.legacy, row.optimized,
    )


def personal(record: ShadowRecord) -> bool:
    """Set by ShadowRecordAdmin.get_queryset; a record from anywhere else shows nothing personal."""
    return bool(getattr(record, "show_personal", False))


# --- the autopilot's rollout plans and decisions ------------------------------------------------------


class RolloutPlanAdminForm(PlanForm):
    """The console's plan form, with the pair to choose when adding."""

    class Meta(PlanForm.Meta):
        fields = ["pair_name", *PlanForm.Meta.fields]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "pair_name" in self.fields:
            self.fields["pair_name"] = forms.ChoiceField(choices=pair_choices(), label="Pair")


@admin.register(RolloutPlan)
class RolloutPlanAdmin(RolloutPlanModelAdmin):
    form = RolloutPlanAdminForm
    list_display = ["pair_name", "status", "status_reason", "teams_shown", "step_size", "bake_minutes", "updated_at"]
    list_filter = ["status"]
    search_fields = ["pair_name"]
    # The status and the step are the autopilot's and the actions' (each recorded as a decision).
    readonly_fields = [
        "status", "status_reason", "revisions", "step_started_at", "step_team_ids", "created_at", "updated_at",
        "links",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: RolloutPlan | None = None) -> list[str]:
        # A plan's decisions and flag audit entries speak of its pair: it cannot move to another.
        fields = list(self.readonly_fields)
        return ["pair_name", *fields] if obj is not None else fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A plan switches teams on: the model permission is not enough without change_rollout, as for flags.
        return super().has_add_permission(request) and request.user.has_perm(CHANGE_ROLLOUT)

    def has_change_permission(self, request: HttpRequest, obj: RolloutPlan | None = None) -> bool:
        return super().has_change_permission(request, obj) and request.user.has_perm(CHANGE_ROLLOUT)

    def has_delete_permission(self, request: HttpRequest, obj: RolloutPlan | None = None) -> bool:
        return super().has_delete_permission(request, obj) and request.user.has_perm(CHANGE_ROLLOUT)

    @admin.display(description="Teams")
    def teams_shown(self, plan: RolloutPlan) -> str:
        return ", ".join(plan.teams) if plan.teams else "all, smallest data first"

    @admin.display(description="See also")
    def links(self, plan: RolloutPlan) -> str:
        if plan.pk is None:
            return "—"
        decisions = reverse("admin:shadow_plandecision_changelist") + f"?plan__id__exact={plan.pk}"
        console = reverse("shadow:plan", kwargs={"pair_name": plan.pair_name})
        return format_html(
            '<a href="{}">its decisions ({})</a> · <a href="{}">the plan in the console</a>',
            decisions, plan.decisions.count(), console,
        )


DECISION_FIELDS = ("created_at", "plan", "action", "team_slug", "actor", "reason", "evidence_shown", "evidence")


@admin.register(PlanDecision)
class PlanDecisionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "pair_name", "action", "team_slug", "actor", "reason", "evidence_shown"]
    list_filter = ["action", "plan__pair_name"]
    list_select_related = ["plan"]
    search_fields = ["plan__pair_name", "team_slug", "actor", "reason"]
    date_hierarchy = "created_at"
    fields = DECISION_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: PlanDecision | None = None) -> list[str]:
        return list(DECISION_FIELDS)

    @admin.display(description="Pair", ordering="plan__pair_name")
    def pair_name(self, decision: PlanDecision) -> str:
        return decision.plan.pair_name

    @admin.display(description="Evidence")
    def evidence_shown(self, decision: PlanDecision) -> str:
        return evidence_line(decision.evidence) or "—"
