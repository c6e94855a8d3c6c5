"""The operator console at /ops/shadow/: decide and act on a flip, and read why, from one place.

Pages: the overview (every pair × team: state and its cause, readiness and
its reasons, the evidence in figures; each pair's rollout plan and its next
step), one pair and team (charts over the evidence window, the flag's audit
history, the latest records, the actions), a pair's rollout plan (its
settings, what the autopilot would do now team by team and why, its last
decisions, start, pause, resume and abort) and its form, the records
(filtered and paged) and one record (both sides labelled, the arguments in
plain words, the command that replays it).

Access: anonymous users are sent to the login page; everyone else needs
is_staff and `shadow.view_evidence`, else 403 (a fixed, well-known
operator address: nothing to hide by answering 404). Actions are POSTs with
CSRF behind a confirmation page and need `flags.change_rollout` (so does
creating or editing a rollout plan); forcing
past the readiness gate also `flags.force_rollout`. Differences, errors and
arguments are shown in full only with `shadow.view_personal`; without it, as
Sentry gets them. Superusers hold every permission.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from apps.teams.models import Team
from flags.audit import user_actor
from flags.errors import FlagError, GateRefusedError
from flags.models import CHANGE_ROLLOUT, FORCE_ROLLOUT, FlagAudit
from flags.services import reach_note
from shadow import autopilot, pairs
from shadow.actions import (
    ACTIONS,
    PLAN_ACTIONS,
    Action,
    PlanAction,
    Request,
    perform_plan_action,
    refusals,
)
from shadow.console import DECISIONS_SHOWN, PairRow, daily, day_charts, overview, plan_page
from shadow.errors import PlanStateError
from shadow.forms import ActionForm, PlanActionForm, PlanForm, RecordFilter
from shadow.models import VIEW_EVIDENCE, VIEW_PERSONAL, RolloutPlan, ShadowRecord

RECORDS_PER_PAGE = 25
TEAM_RECORDS_SHOWN = 10
HISTORY_SHOWN = 50

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class RecordLine:
    """A record in a list, as this operator may see it (redacted without view_personal)."""

    record: ShadowRecord
    differences: list[str]
    error: str


def record_lines(records: Iterable[ShadowRecord], *, personal: bool) -> list[RecordLine]:
    return [
        RecordLine(record=item, differences=item.differences(personal=personal), error=item.error_shown(personal=personal))
        for item in records
    ]


def operator_only(view: View) -> View:
    """Logged in, staff and allowed to see evidence; else the login page or 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_staff and request.user.has_perm(VIEW_EVIDENCE)):
            raise PermissionDenied("The shadow console is for staff with the view_evidence permission")
        return view(request, *args, **kwargs)

    return wrapped


def console_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "personal": user.has_perm(VIEW_PERSONAL),
        "can_change": user.has_perm(CHANGE_ROLLOUT),
        "can_force": user.has_perm(FORCE_ROLLOUT),
    }


def pair_or_404(name: str) -> str:
    if name not in pairs.names():
        raise Http404(f"No pair is registered as {name!r}")
    return name


def one_pair(name: str, team: Team) -> PairRow:
    return overview([team], pair_names=[pair_or_404(name)])[0]


@require_GET
@operator_only
def console(request: HttpRequest) -> HttpResponse:
    teams = list(Team.objects.order_by("slug"))
    context = console_context(request)
    latest = ShadowRecord.objects.select_related("team")[:TEAM_RECORDS_SHOWN]
    return render(request, "shadow/console.html", {
        **context,
        "here": "overview",
        "pairs": overview(teams, with_plans=True),
        "records": record_lines(latest, personal=context["personal"]),
        "records_shown": TEAM_RECORDS_SHOWN,
    })


@require_GET
@operator_only
def pair_team(request: HttpRequest, pair_name: str, team_slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=team_slug)
    pair = one_pair(pair_name, team)
    days = daily(pair.name, team, days=pair.window_days)
    history = (
        FlagAudit.objects.filter(flag_name=pair.name)
        .filter(Q(team_id=team.pk) | Q(team_id__isnull=True))
        .order_by("-created_at", "-id")[:HISTORY_SHOWN]
    )
    context = console_context(request)
    latest = ShadowRecord.objects.filter(pair_name=pair.name, team=team).select_related("team")[:TEAM_RECORDS_SHOWN]
    return render(request, "shadow/pair_team.html", {
        **context,
        "pair": pair,
        "row": pair.teams[0],
        "team": team,
        "days": days,
        "charts": day_charts(days),
        "history": history,
        "history_shown": HISTORY_SHOWN,
        "records": record_lines(latest, personal=context["personal"]),
        "records_shown": TEAM_RECORDS_SHOWN,
        "actions": ACTIONS,
    })


@require_GET
@operator_only
def records(request: HttpRequest) -> HttpResponse:
    context = {**console_context(request), "here": "records"}
    filters = RecordFilter(request.GET or None)
    if request.GET and not filters.is_valid():
        # A bad filter is answered, never silently dropped: showing everything would mislead.
        return render(request, "shadow/records.html", {**context, "filters": filters}, status=400)
    queryset = ShadowRecord.objects.select_related("team")
    if filters.is_bound:
        queryset = filters.apply(queryset)
    page = Paginator(queryset, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "shadow/records.html", {
        **context, "filters": filters, "page": page, "query": query.urlencode(),
        "records": record_lines(page.object_list, personal=context["personal"]),
    })


@require_GET
@operator_only
def record(request: HttpRequest, record_id: int) -> HttpResponse:
    item = get_object_or_404(ShadowRecord.objects.select_related("team"), pk=record_id)
    context = console_context(request)
    personal = context["personal"]
    return render(request, "shadow/record.html", {
        **context,
        "record": item,
        "labels": item.side_labels,
        "rows": item.difference_rows(personal=personal),
        "arguments": item.arguments_text(personal=personal),
        "error": item.error_shown(personal=personal),
        "replay": item.replay_command(),
    })


@require_http_methods(["GET", "POST"])
@operator_only
def act(request: HttpRequest, pair_name: str, action_name: str, team_slug: str | None = None) -> HttpResponse:
    """An action's confirmation page (GET) and the action itself (POST)."""
    action = ACTIONS.get(action_name)
    if action is None or action.for_team != (team_slug is not None):
        raise Http404(f"No action {action_name!r} here")
    team = get_object_or_404(Team, slug=team_slug) if team_slug is not None else None
    pair_or_404(pair_name)
    if not request.user.has_perm(CHANGE_ROLLOUT):
        raise PermissionDenied("Changing a rollout needs the change_rollout permission")
    form = ActionForm(request.POST or None, needs_rate=action.name == "rate")
    if not action.guarded:
        del form.fields["force"]
    if request.method == "POST":
        if request.POST.get("force") and not request.user.has_perm(FORCE_ROLLOUT):
            raise PermissionDenied("Forcing past the readiness gate needs the force_rollout permission")
        if form.is_valid():
            outcome = perform(request, action, pair_name=pair_name, team=team, form=form)
            if isinstance(outcome, HttpResponse):
                return outcome
            form.add_error(None, outcome)
        return confirmation(request, action, pair_name=pair_name, team=team, form=form, status=400)
    return confirmation(request, action, pair_name=pair_name, team=team, form=form)


def perform(request: HttpRequest, action: Action, *, pair_name: str, team: Team | None, form: ActionForm) -> HttpResponse | str:
    """Run the action; a redirect to where its effect shows, or the error to put on the form."""
    data = form.cleaned_data
    try:
        message = action.perform(Request(
            pair=pair_name, team=team, actor=user_actor(request.user), reason=data["reason"],
            force=data.get("force", False), rate=data.get("rate"),
        ))
    except GateRefusedError as refused:
        return confirmation(request, action, pair_name=pair_name, team=team, form=form, status=409, refused=refused.problems)
    except (FlagError, ValueError) as error:
        return str(error)
    messages.success(request, f"{message} {reach_note()}")
    if team is not None:
        target = reverse("shadow:pair_team", kwargs={"pair_name": pair_name, "team_slug": team.slug})
    else:
        target = reverse("shadow:console") + f"#pair-{pair_name.replace('.', '-')}"
    # 303: the browser follows with a GET, so a reload does not repeat the action.
    return HttpResponseRedirect(target, status=303)


def confirmation(
    request: HttpRequest, action: Action, *, pair_name: str, team: Team | None, form: ActionForm, status: int = 200,
    refused: list[str] | None = None,
) -> HttpResponse:
    return render(request, "shadow/confirm.html", {
        **console_context(request),
        "action": action,
        "pair_name": pair_name,
        "team": team,
        "form": form,
        "explanation": action.explain(pair_name, team),
        # What the gate says now (GET), or what it said to this very POST.
        "refusals": refused if refused is not None else refusals(action, pair=pair_name, team=team),
        "refused": refused is not None,
    }, status=status)


# --- a pair's rollout plan ----------------------------------------------------------------------------------


def plan_url(pair_name: str) -> str:
    return reverse("shadow:plan", kwargs={"pair_name": pair_name})


def needs_change_rollout(request: HttpRequest, what: str) -> None:
    if not request.user.has_perm(CHANGE_ROLLOUT):
        raise PermissionDenied(f"{what} needs the change_rollout permission")


@require_GET
@operator_only
def plan(request: HttpRequest, pair_name: str) -> HttpResponse:
    """The plan's settings, what the autopilot would do now team by team and why, its last decisions."""
    pair_or_404(pair_name)
    item = RolloutPlan.objects.filter(pair_name=pair_name).first()
    page = plan_page(item) if item is not None else None
    return render(request, "shadow/plan.html", {
        **console_context(request),
        "pair_name": pair_name,
        "plan": item,
        "page": page,
        "decisions_shown": DECISIONS_SHOWN,
        # Only those the plan's status allows: the others would be refused.
        "actions": [action for action in PLAN_ACTIONS.values() if item is not None and action.refusal(item) is None],
    })


@require_http_methods(["GET", "POST"])
@operator_only
def plan_edit(request: HttpRequest, pair_name: str) -> HttpResponse:
    """Create the pair's plan (in dry run) or change its settings; the status changes only through the actions."""
    pair_or_404(pair_name)
    needs_change_rollout(request, "Planning a rollout")
    existing = RolloutPlan.objects.filter(pair_name=pair_name).first()
    form = PlanForm(request.POST or None, instance=existing or RolloutPlan(pair_name=pair_name))
    if request.method == "POST":
        if form.is_valid():
            changes = [
                f"{form.fields[name].label or name}: {form.initial.get(name)} → {form.cleaned_data[name]}"
                for name in form.changed_data
            ] if existing else []
            with transaction.atomic():
                plan = form.save()
                autopilot.note_edit(plan, actor=user_actor(request.user), changes=changes, created=existing is None)
            done = "saved" if existing else "created in dry run: start it when its explanation reads right"
            messages.success(request, f"The rollout plan of {pair_name} is {done}.")
            return HttpResponseRedirect(plan_url(pair_name), status=303)
        return render_plan_form(request, pair_name, form, new=existing is None, status=400)
    return render_plan_form(request, pair_name, form, new=existing is None)


def render_plan_form(request: HttpRequest, pair_name: str, form: PlanForm, *, new: bool, status: int = 200) -> HttpResponse:
    return render(request, "shadow/plan_form.html", {
        **console_context(request), "pair_name": pair_name, "form": form, "new": new,
    }, status=status)


@require_http_methods(["GET", "POST"])
@operator_only
def plan_act(request: HttpRequest, pair_name: str, action_name: str) -> HttpResponse:
    """A plan action's confirmation page (GET) and the action itself (POST); refused when the status does not allow it."""
    action = PLAN_ACTIONS.get(action_name)
    if action is None:
        raise Http404(f"No plan action {action_name!r}")
    pair_or_404(pair_name)
    needs_change_rollout(request, "Changing a rollout plan")
    item = get_object_or_404(RolloutPlan, pair_name=pair_name)
    form = PlanActionForm(request.POST or None)
    refusal = action.refusal(item)
    if refusal is not None:
        return plan_confirmation(request, action, item, form=form, impossible=refusal, status=400)
    if request.method == "POST":
        if form.is_valid():
            try:
                message = perform_plan_action(
                    action, pair=pair_name, actor=user_actor(request.user), reason=form.cleaned_data["reason"]
                )
            except PlanStateError as error:
                # The status changed since the page was read (another operator, the autopilot).
                return plan_confirmation(request, action, item, form=form, impossible=str(error), status=400)
            messages.success(request, message)
            return HttpResponseRedirect(plan_url(pair_name), status=303)
        return plan_confirmation(request, action, item, form=form, status=400)
    return plan_confirmation(request, action, item, form=form)


def plan_confirmation(
    request: HttpRequest, action: PlanAction, item: RolloutPlan, *, form: PlanActionForm, impossible: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(request, "shadow/confirm.html", {
        **console_context(request),
        "action": action,
        "pair_name": item.pair_name,
        "heading": f"{action.label} the rollout plan of {item.pair_name}",
        "form": form,
        "explanation": action.explain(item),
        "impossible": impossible,
        "cancel_url": plan_url(item.pair_name),
    }, status=status)
