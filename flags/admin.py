"""Admin for rollout flags and their audit log.

Operators turn a flag on or off for chosen teams with the "Enable for teams…"
and "Disable for teams…" actions: a confirmation page asks for the teams and a
reason, then flags.services does the change (atomic, audited, caches flushed).
When an enable guard (the shadow readiness gate) refuses, the page lists its
problems, changes nothing, and offers a "force" checkbox; a forced enable is
audited with a reason starting "FORCED past readiness gate".
The flag's change form edits the same fields directly; those edits are
attributed to the logged-in user, so they are audited just the same. Any
edit there that switches teams on (listing, un-blocking, everyone on, a
higher percentage, restoring after a kill) asks the enable guards first, as
the services do; a refusal is a form error, and the form's own "force" box
with a reason goes past it, audited as FORCED.
The flag list's "Readiness" column, and the flag's page, say how many teams
the enable guards find ready for each registered flag, and why the others are not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from waffle.admin import FlagAdmin as WaffleFlagAdmin

from apps.teams.models import Team
from flags import audit, extensions, services
from flags.audit import attributed_to, user_actor
from flags.errors import FlagError
from flags.models import CHANGE_ROLLOUT, FORCE_ROLLOUT, Flag, FlagAudit
from flags.registry import ROLLOUT_FLAGS
from tformance.admin import ReadOnlyAdmin

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts, _FieldsetSpec

    # Generic in the stubs only: Django's form field and form classes cannot be subscripted at run time.
    TeamMultipleChoiceField = forms.ModelMultipleChoiceField[Team]
    FlagModelForm = forms.ModelForm[Flag]
else:
    TeamMultipleChoiceField = forms.ModelMultipleChoiceField
    FlagModelForm = forms.ModelForm

CHANGE_FORM_REASON = "admin change form"
FORCE_NEEDS_PERMISSION = "Forcing past the readiness gate needs the flags.force_rollout permission."
DELETE_REASON = "admin delete"
# Marks the confirmation page's POST, as "post=yes" does for Django's delete_selected.
CONFIRM_FIELD = "confirm"


def team_slugs(teams: Iterable[Team]) -> str:
    return ", ".join(sorted(team.slug for team in teams))


def on_for_teams_summary(flag: Flag) -> str:
    """Which teams the flag is effectively on for, from its (prefetched) team lists.

    The kill switch and "everyone on" win over the lists; blocked teams win
    over listing and over the percentage (see flags.models.decide).
    """
    if flag.everyone is False:
        return "killed"
    blocked = list(flag.blocked_teams.all())
    if flag.everyone:
        return f"all teams except {team_slugs(blocked)}" if blocked else "all teams"
    blocked_ids = {team.pk for team in blocked}
    parts = [team_slugs(team for team in flag.teams.all() if team.pk not in blocked_ids)]
    if flag.percent:
        parts.append(f"{flag.percent}% of teams")
    return " + ".join(part for part in parts if part) or "none"


# --- readiness ----------------------------------------------------------------------

# The flag list shows at most this many not-ready reasons per flag; the flag's page shows them all.
READINESS_REASONS_LISTED = 5
# Where the flag list keeps each row's readiness, computed once per page (FlagAdmin.changelist_view).
READINESS_ATTR = "_flags_readiness"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def readiness_summary(flag_name: str, teams: list[Team], *, listed: int | None = None) -> str | SafeString:
    """How many teams the enable guards (the shadow readiness gate) find ready for the flag, and why the others are not.

    One call to the guards for all teams, so the queries do not grow with
    them. A guard's reason names its team first ("demo-2: 31 of 50
    comparisons …"); a reason that names no team holds back every team.
    `listed` caps the reasons shown. Unregistered flags: "—".
    """
    if flag_name not in ROLLOUT_FLAGS:
        return "—"
    if not teams:
        return "no teams"
    reasons = extensions.enable_refusals(flag_name, teams)
    if not reasons:
        return f"all {plural(len(teams), 'team')} ready"
    slugs = {team.slug for team in teams}
    named = {reason.split(": ", 1)[0] for reason in reasons}
    not_ready = len(named) if named <= slugs else len(teams)
    shown = reasons if listed is None else reasons[:listed]
    more = format_html("<li>…and {} more</li>", len(reasons) - len(shown)) if len(shown) < len(reasons) else ""
    return format_html(
        "{} of {} ready<ul>{}{}</ul>",
        len(teams) - not_ready,
        plural(len(teams), "team"),
        format_html_join("", "<li>{}</li>", ((reason,) for reason in shown)),
        more,
    )


def readiness_teams() -> list[Team]:
    return list(Team.objects.order_by("slug"))


# --- the team actions ----------------------------------------------------------------


class TeamChoiceField(TeamMultipleChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        return f"{obj.name} ({obj.slug})"


class TeamActionForm(forms.Form):
    teams = TeamChoiceField(
        queryset=Team.objects.all(),
        widget=FilteredSelectMultiple("teams", is_stacked=False),
        error_messages={"required": "Choose at least one team."},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Recorded in the flag audit log with your name.",
        error_messages={"required": "Give a reason: it is recorded in the audit log."},
    )


class EnableTeamsForm(TeamActionForm):
    force = forms.BooleanField(
        required=False,
        label="Force past the readiness gate",
        help_text="Enable even though the gate refuses. Needs the reason above; audited as FORCED.",
    )


@dataclass(frozen=True)
class TeamAction:
    verb: str  # "Enable" / "Disable": page title, button and messages
    service: Callable[..., Flag]
    explanation: str
    form_class: type[TeamActionForm] = TeamActionForm
    # Enabling asks the enable guards first; disabling (the rollback) is never refused.
    guarded: bool = False


TEAM_ACTIONS = {
    "enable_for_teams": TeamAction(
        verb="Enable",
        service=services.enable_for_teams,
        explanation="The chosen teams are listed on each flag, and any per-team block on them is lifted.",
        form_class=EnableTeamsForm,
        guarded=True,
    ),
    "disable_for_teams": TeamAction(
        verb="Disable",
        service=services.disable_for_teams,
        explanation=(
            "The chosen teams are blocked on each flag: off at once, whatever the percentage "
            "or “everyone on” says, until they are enabled again."
        ),
    ),
}


def run_team_action(
    modeladmin: FlagAdmin, request: HttpRequest, queryset: QuerySet[Flag], *, action_name: str
) -> HttpResponse | None:
    """First POST (from the changelist): show the confirmation page. Confirmed POST: apply it.

    Every selected flag must be registered, or nothing happens. The change
    is one transaction for all selected flags: a service error (FlagError)
    re-renders the page with the error and leaves every flag as it was.
    Enabling first asks the enable guards for every selected flag; any
    refusal re-renders the page with all of them (and the force checkbox)
    and changes nothing, unless "force" was ticked.
    """
    action = TEAM_ACTIONS[action_name]
    selected = list(queryset.order_by("name"))
    unregistered = [flag.name for flag in selected if flag.name not in ROLLOUT_FLAGS]
    if unregistered:
        modeladmin.message_user(
            request,
            f"Not a registered rollout flag: {', '.join(unregistered)}. Nothing was changed; "
            f"the actions work on flags declared in flags/registry.py ({', '.join(ROLLOUT_FLAGS.names())}).",
            messages.ERROR,
        )
        return None

    form = action.form_class(request.POST if CONFIRM_FIELD in request.POST else None)
    refusals: list[tuple[str, list[str]]] = []
    if form.is_bound and form.is_valid():
        teams = list(form.cleaned_data["teams"])
        reason = form.cleaned_data["reason"]
        force = form.cleaned_data.get("force", False)
        if force and not request.user.has_perm(FORCE_ROLLOUT):
            form.add_error("force", FORCE_NEEDS_PERMISSION)
        elif action.guarded and not force:
            refusals = [
                (flag.name, problems) for flag in selected if (problems := extensions.enable_refusals(flag.name, teams))
            ]
        if not refusals and not form.errors:
            options = {"force": force} if action.guarded else {}
            try:
                with transaction.atomic():
                    for flag in selected:
                        action.service(
                            name=flag.name, teams=teams, actor=user_actor(request.user), reason=reason, **options
                        )
                        modeladmin.log_change(request, flag, f"{action.verb}d for {team_slugs(teams)}: {reason}")
            except FlagError as error:
                form.add_error(None, str(error))
            else:
                modeladmin.message_user(
                    request,
                    f"{action.verb}d {', '.join(flag.name for flag in selected)} for {team_slugs(teams)}. "
                    + services.reach_note(),
                    messages.SUCCESS,
                )
                return None
    return render_team_action_page(
        modeladmin, request, flags=selected, form=form, action_name=action_name, refusals=refusals
    )


def render_team_action_page(
    modeladmin: FlagAdmin,
    request: HttpRequest,
    *,
    flags: list[Flag],
    form: TeamActionForm,
    action_name: str,
    refusals: Sequence[tuple[str, list[str]]] = (),
) -> TemplateResponse:
    action = TEAM_ACTIONS[action_name]
    opts = modeladmin.model._meta
    # The force checkbox appears once the gate has refused (or was already ticked), not up front.
    fields = ["teams", "reason"]
    if "force" in form.fields and (refusals or (form.is_bound and form["force"].value())):
        fields.append("force")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{action.verb} rollout flags for teams",
        "subtitle": None,
        "opts": opts,
        "verb": action.verb,
        "explanation": action.explanation,
        "flag_rows": [(flag, on_for_teams_summary(flag)) for flag in flags],
        "form": form,
        # AdminForm only lays the fields out, which a plain Form supports as well as a ModelForm.
        "adminform": helpers.AdminForm(form, [(None, {"fields": fields})], {}),  # type: ignore[arg-type]
        "refusals": refusals,
        "media": modeladmin.media + form.media,
        "action_name": action_name,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "confirm_field": CONFIRM_FIELD,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, modeladmin.team_action_template, context)


@admin.action(description="Enable for teams…", permissions=["change"])
def enable_for_teams(modeladmin: FlagAdmin, request: HttpRequest, queryset: QuerySet[Flag]) -> HttpResponse | None:
    return run_team_action(modeladmin, request, queryset, action_name="enable_for_teams")


@admin.action(description="Disable for teams…", permissions=["change"])
def disable_for_teams(modeladmin: FlagAdmin, request: HttpRequest, queryset: QuerySet[Flag]) -> HttpResponse | None:
    return run_team_action(modeladmin, request, queryset, action_name="disable_for_teams")


# --- the flag admin ------------------------------------------------------------------


def unused_registered_names() -> list[tuple[str, str]]:
    existing = set(Flag.objects.filter(name__in=ROLLOUT_FLAGS.names()).values_list("name", flat=True))
    return [
        (flag.name, f"{flag.name}: {flag.description}") for flag in ROLLOUT_FLAGS.all() if flag.name not in existing
    ]


# The fields that decide which teams a rollout flag is on for.
ROLLOUT_FIELDS = ("everyone", "percent", "teams", "blocked_teams")

# In place of waffle's help texts, which speak of users: what each field does for a rollout flag.
HELP_TEXTS = {
    "name": "The rollout flag's name, declared in flags/registry.py: also the name of the pair it switches.",
    "note": "For operators: where the flag is used, which teams pilot it, what to watch.",
    "everyone": (
        "No: the kill switch, off for every team, whatever else is set. Yes: on for every team except "
        "blocked ones. Unknown: per-team rules (the listed teams and the team percentage)."
    ),
    "percent": (
        "On for this share of teams besides the listed ones (0.1 to 99.9; empty or 0: none). Each team has a "
        "stable, salted place per flag, so a team inside at 20 stays inside at 30; raising it asks the readiness "
        "gate about the teams it switches on. Blocked teams stay off; for all teams use everyone = Yes."
    ),
    "teams": "On for these teams (unless blocked or killed). Listing a team asks the readiness gate first.",
    "blocked_teams": (
        "Off for these teams whatever the percentage or everyone = Yes says: the per-team rollback, never refused."
    ),
}


class FlagForm(FlagModelForm):
    """The flag's own fields, plus the readiness gate's force box and its reason (not stored on the flag).

    After a valid save, `audit_reason` is the reason for the audit log:
    CHANGE_FORM_REASON, or the forced reason when the gate was overridden.
    """

    force = forms.BooleanField(
        required=False,
        label="Force past the readiness gate",
        help_text="Only needed when the gate refuses teams this change switches on. Needs the reason below.",
    )
    force_reason = forms.CharField(
        required=False,
        label="Reason for forcing",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text="Recorded in the flag audit log with your name, as FORCED.",
    )

    class Meta:
        model = Flag
        fields = ["name", "note", "everyone", "percent", "teams", "blocked_teams"]
        help_texts = HELP_TEXTS

    # Set by FlagAdmin.get_form from the user's permissions: whether "force" may be used.
    can_force: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audit_reason = CHANGE_FORM_REASON

    def clean_percent(self) -> Decimal | None:
        value = self.cleaned_data.get("percent")
        if value is None:
            return None
        try:
            # The same rule as `set_percent`: 0 means no percentage.
            return services.parse_percent(value) or None
        except FlagError as error:
            raise ValidationError(str(error)) from None

    def clean(self) -> dict[str, Any]:
        # A ModelForm's clean() returns its cleaned_data, never None.
        cleaned = cast(dict[str, Any], super().clean())
        both = set(cleaned.get("teams") or ()) & set(cleaned.get("blocked_teams") or ())
        if both:
            raise ValidationError(
                f"A team cannot be both listed and blocked (blocked wins): {team_slugs(both)}."
            )
        self.check_enable_gate(cleaned)
        return cleaned

    def check_enable_gate(self, cleaned: dict[str, Any]) -> None:
        """Teams this edit switches on (or lists) must pass the enable guards, as with the services."""
        name = cleaned.get("name") or self.instance.name
        # A field with its own error is not in cleaned_data; that error is shown first.
        if not name or any(field not in cleaned for field in ROLLOUT_FIELDS):
            return
        # clean() runs before the form copies its values onto the instance: it is still the stored row.
        check = services.enable_gate_check(
            name=name,
            flag=self.instance if self.instance.pk else None,
            everyone=cleaned["everyone"],
            percent=cleaned["percent"],
            listed_ids=[team.pk for team in cleaned["teams"]],
            blocked_ids=[team.pk for team in cleaned["blocked_teams"]],
        )
        if not check.refusals:
            return
        if cleaned.get("force") and not self.can_force:
            self.add_error("force", FORCE_NEEDS_PERMISSION)
            return
        if not cleaned.get("force"):
            raise ValidationError(
                f"The readiness gate refuses the teams this change switches on: {'; '.join(check.refusals)}. "
                "Nothing was changed. To go ahead anyway, tick “Force past the readiness gate” and give "
                "the reason: the audit log records it as forced."
            )
        try:
            self.audit_reason = services.gated_reason(
                name=name, refusals=check.refusals, force=True, reason=cleaned.get("force_reason", "")
            )
        except FlagError as error:
            self.add_error("force_reason", str(error))


class FlagAddForm(FlagForm):
    """New rows only for registered flags that have none yet.

    migrate creates every registered flag's row, so this offers only flags registered since the last migrate.
    """

    name = forms.ChoiceField(choices=unused_registered_names, help_text="Registered rollout flags without a row yet.")


@admin.register(Flag)
class FlagAdmin(WaffleFlagAdmin):
    """Rollout flags, per team.

    The form shows what decides a rollout flag for a team: everyone (kill
    switch / on for all), the team percentage, the listed teams and the
    blocked teams. waffle's user-oriented settings (users, groups, testing,
    languages, rollout, authenticated, staff, superusers) play no part in a
    rollout flag's decision, so they are not shown. Registered flags cannot
    be deleted (that would drop their per-team blocks): the kill switch
    (everyone = No) turns one off for all teams.
    """

    form = FlagForm
    add_form = FlagAddForm
    # The stubs type actions as taking waffle's FlagAdmin, the class that first set them; these take this subclass.
    actions = [enable_for_teams, disable_for_teams]  # type: ignore[list-item]
    # Lists where waffle's FlagAdmin has tuples: the same to Django, not to the types inferred from waffle.
    list_display = [  # type: ignore[assignment]
        "name", "description", "everyone", "percent", "on_for_teams", "blocked", "readiness", "modified",
    ]
    list_filter = ["everyone"]  # type: ignore[assignment]
    search_fields = ["name"]  # type: ignore[assignment]
    ordering = ["name"]  # type: ignore[assignment]
    raw_id_fields: ClassVar[list[str]] = []  # type: ignore[assignment]
    filter_horizontal = ["teams", "blocked_teams"]
    team_action_template = "admin/flags/flag/team_action.html"

    gate_fieldset: tuple[str, _FieldOpts] = (
        "Readiness gate",
        {
            "fields": ["force", "force_reason"],
            "description": (
                "Switching teams on (listing, un-blocking, everyone, a higher percentage, undoing a kill) "
                "needs clean shadow evidence for them. Switching teams off never does."
            ),
        },
    )
    rollout_description = (
        "Decided per team, strongest first: everyone = No (killed), blocked, everyone = Yes, listed, "
        "inside the team percentage. Users, groups, staff, superusers, authenticated users, testing and "
        "languages (waffle's settings) play no part in a rollout flag, so they are not shown."
    )
    fieldsets: ClassVar[_FieldsetSpec] = [
        (None, {"fields": ["name", "description", "note"]}),
        (
            "Rollout",
            {
                "fields": ["on_for_teams", "readiness", "everyone", "percent", "teams", "blocked_teams"],
                "description": rollout_description,
            },
        ),
        gate_fieldset,
        ("History", {"fields": ["created", "modified"]}),
    ]
    add_fieldsets: ClassVar[_FieldsetSpec] = [
        (None, {"fields": ["name", "note"]}),
        ("Rollout", {"fields": ["everyone", "percent", "teams", "blocked_teams"], "description": rollout_description}),
        gate_fieldset,
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Flag]:
        # Two queries for the team lists of every flag on the page, however many flags there are.
        return super().get_queryset(request).prefetch_related("teams", "blocked_teams")

    def get_fieldsets(self, request: HttpRequest, obj: Flag | None = None) -> _FieldsetSpec:
        return self.fieldsets if obj else self.add_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Flag | None = None) -> list[str]:
        return ["name", "description", "on_for_teams", "readiness", "created", "modified"] if obj else []

    def get_form(
        self, request: HttpRequest, obj: Flag | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Flag]]:
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        # The form class is built per request already: it may carry this user's right to force.
        form.can_force = request.user.has_perm(FORCE_ROLLOUT)  # type: ignore[attr-defined]
        return form

    def has_change_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        # A rollout changes what teams are served: Django's change_flag is not enough without change_rollout.
        return super().has_change_permission(request, obj) and request.user.has_perm(CHANGE_ROLLOUT)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and request.user.has_perm(CHANGE_ROLLOUT)

    def has_delete_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        if obj is not None and obj.name in ROLLOUT_FLAGS:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="Description")
    def description(self, flag: Flag) -> str:
        return ROLLOUT_FLAGS.get(flag.name).description if flag.name in ROLLOUT_FLAGS else "unregistered"

    @admin.display(description="On for teams")
    def on_for_teams(self, flag: Flag) -> str:
        return on_for_teams_summary(flag)

    @admin.display(description="Blocked teams")
    def blocked(self, flag: Flag) -> str | None:
        return team_slugs(flag.blocked_teams.all()) or None

    @admin.display(description="Readiness")
    def readiness(self, flag: Flag) -> str | SafeString:
        listed: str | SafeString | None = getattr(flag, READINESS_ATTR, None)
        # The flag's page: this flag alone, every reason shown.
        return listed if listed is not None else readiness_summary(flag.name, readiness_teams())

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        # The page is rendered after this returns: give each listed flag its readiness first, one
        # guard call per registered flag for all teams, and one query for the teams of the whole page.
        # (Action posts and their confirmation pages have no changelist, and ask nothing.)
        context = response.context_data if isinstance(response, TemplateResponse) else None
        changelist = context.get("cl") if context else None
        if changelist is not None:
            listed_flags: list[Flag] = list(changelist.result_list)  # the template iterates this same, now cached, list
            teams = readiness_teams() if any(flag.name in ROLLOUT_FLAGS for flag in listed_flags) else []
            for flag in listed_flags:
                setattr(flag, READINESS_ATTR, readiness_summary(flag.name, teams, listed=READINESS_REASONS_LISTED))
        return response

    def save_model(self, request: HttpRequest, obj: Flag, form: FlagForm, change: bool) -> None:
        attribution = audit.current()
        if attribution is not None:
            # Set before the first write: the row's entry and the team entries of this save read it.
            attribution.reason = form.audit_reason
        if not change:
            # As services.get_or_create_flag: rollout flags give nobody special treatment.
            obj.superusers = False
        super().save_model(request, obj, form, change)
        self.message_user(request, services.reach_note(), messages.INFO)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The row save and the m2m saves (save_related) both run inside this block, so every
        # change is attributed to the user and each touched team gets one audit entry.
        with transaction.atomic(), attributed_to(user_actor(request.user), reason=CHANGE_FORM_REASON):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        with transaction.atomic(), attributed_to(user_actor(request.user), reason=DELETE_REASON):
            return super().delete_view(request, object_id, extra_context)


# --- the audit log -------------------------------------------------------------------


@admin.register(FlagAudit)
class FlagAuditAdmin(ReadOnlyAdmin):
    """The audit log, read-only: entries are append-only (the model and a database trigger refuse edits)."""

    list_display = ["created_at", "flag_name", "scope", "actor", "before", "after", "reason"]
    list_filter = ["flag_name", "actor"]
    search_fields = ["flag_name", "team_slug", "actor", "reason"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]

    @admin.display(description="Team")
    def scope(self, entry: FlagAudit) -> str:
        return entry.scope
