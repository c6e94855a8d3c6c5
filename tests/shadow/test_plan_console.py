"""A pair's rollout plan in the console and the admin: what the autopilot would do now, team by team and why;
start, pause, resume and abort through a confirmed POST with CSRF and a reason, recorded as the plan's
decisions with the user's name; impossible moves refused with nothing changed; the plan's form; who may do
what; and the query counts, which do not grow with the number of teams."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from flags import services
from shadow import autopilot
from shadow import pairs as registry
from shadow.models import MS_BUCKETS, ArgumentSet, PlanDecision, RolloutPlan
from tests.factories import DailyEvidenceFactory, TeamFactory, UserFactory
from tests.shadow.sides import constant_legacy, constant_optimized
from tests.support.operators import operator

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
CONSOLE = "/ops/shadow/"
PLAN = f"/ops/shadow/pairs/{PAIR}/plan/"
EDIT = PLAN + "edit/"
ACTIONS = ("start", "pause", "resume", "abort")
Status = RolloutPlan.Status



@pytest.fixture
def pair(make_pair, settings):
    settings.SHADOW_MIN_COMPARISONS = 5
    return make_pair(PAIR, legacy=constant_legacy, optimized=constant_optimized)



@pytest.fixture
def changer(client):
    client.force_login(operator("flags.change_rollout"))
    return client


@pytest.fixture
def viewer(client):
    """Sees the console, may change nothing."""
    client.force_login(operator(username="vera"))
    return client


def one_bucket(bound: float, count: int) -> list[int]:
    values = [0] * (len(MS_BUCKETS) + 1)
    values[MS_BUCKETS.index(bound)] = count
    return values


def ready(team, *, comparisons: int = 60, argument_sets: int = 3) -> None:
    """Clean evidence for the pair's current code: comparisons, argument sets, both sides' latency alike."""
    DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=comparisons, matches=comparisons, measured_runs=comparisons,
        legacy_ms_histogram=one_bucket(50, comparisons), optimized_ms_histogram=one_bucket(50, comparisons),
    )
    revisions = registry.get(PAIR).revisions()
    for number in range(argument_sets):
        ArgumentSet.objects.create(
            pair_name=PAIR, team=team, legacy_revision=revisions["legacy"], optimized_revision=revisions["optimized"],
            arguments_hash=f"{team.pk:04x}{number:012x}", last_day=timezone.now().date(),
        )


def make_plan(status: str = Status.DRY_RUN, **fields) -> RolloutPlan:
    return RolloutPlan.objects.create(pair_name=PAIR, status=status, **fields)


def decisions() -> list[tuple[str, str, str]]:
    return list(PlanDecision.objects.order_by("created_at", "id").values_list("action", "actor", "reason"))


def status() -> str:
    return RolloutPlan.objects.get(pair_name=PAIR).status


def test_the_urls_are_named():
    assert reverse("shadow:plan", kwargs={"pair_name": PAIR}) == PLAN
    assert reverse("shadow:plan_edit", kwargs={"pair_name": PAIR}) == EDIT
    assert reverse("shadow:plan_action", kwargs={"pair_name": PAIR, "action_name": "start"}) == PLAN + "start/"


# --- what the autopilot would do, team by team ------------------------------------------------------------


@pytest.fixture
def two_teams(pair, team, other_team):
    """acme is ready by the plan's needs (60 comparisons, 3 argument sets, same p95); globex has 31 comparisons."""
    ready(team)
    ready(other_team, comparisons=31)
    return make_plan(teams=["globex", "acme"], step_size=2)


def test_the_plan_page_says_what_the_autopilot_would_do_team_by_team_and_why(changer, two_teams):
    response = changer.get(PLAN)

    assert response.status_code == 200
    page = response.content.decode()
    lines = [row.verdict.line() for row in response.context["page"].teams]
    # In the plan's order.
    assert lines == ["globex: waiting, 31 of 50 comparisons for the current code", "acme: would promote"]
    assert '<span class="pill ">waiting</span>' in page
    assert "31 of 50 comparisons for the current code" in page
    assert '<span class="pill normal">would promote</span>' in page
    assert "promote acme" in page
    assert '<span class="pill " id="plan-status">dry run</span>' in page
    # Each verdict's evidence in a line.
    assert "60 comparisons, 3 argument sets, 0 mismatches, 0 errors, p95 legacy" in page
    # The settings.
    assert "globex, acme" in page
    # A dry run can be started or aborted; pausing or resuming it would be refused, so they are not offered.
    assert 'id="plan-start"' in page
    assert 'id="plan-abort"' in page
    assert 'id="plan-pause"' not in page
    assert 'id="plan-resume"' not in page
    assert f'href="{EDIT}"' in page


def test_the_overview_shows_each_plan_with_its_next_step_and_offers_one_where_there_is_none(changer, two_teams, make_pair):
    make_pair("test.unplanned", legacy=constant_legacy, optimized=constant_optimized)

    page = changer.get(CONSOLE).content.decode()

    assert '<p class="plan-line" data-plan-status="dry_run">' in page
    assert "next: promote acme" in page
    assert f'<a class="plan-link" href="{PLAN}">Plan…</a>' in page
    assert '<a class="plan-link" href="/ops/shadow/pairs/test.unplanned/plan/edit/">Create a rollout plan…</a>' in page


def test_a_stopped_plan_reads_red_with_its_reason_on_the_overview_and_its_page(changer, two_teams):
    two_teams.status, two_teams.status_reason = Status.HALTED, "acme: 2 mismatches while optimized served"
    two_teams.save()

    overview = changer.get(CONSOLE).content.decode()
    page = changer.get(PLAN).content.decode()

    assert '<span class="pill high">halted</span>' in overview
    assert '<span class="next-step stopped">halted: acme: 2 mismatches while optimized served</span>' in overview
    assert '<span class="pill high" id="plan-status">halted</span>' in page
    assert '<span class="stopped" id="status-reason">acme: 2 mismatches while optimized served</span>' in page
    assert 'id="plan-resume"' in page
    assert 'id="plan-start"' not in page


def test_a_baking_step_reads_as_such(changer, two_teams, team):
    services.enable_for_teams(name=PAIR, teams=[team], actor=autopilot.AUTOPILOT_ACTOR, reason="step 1")
    now = timezone.now()
    autopilot.record(two_teams, PlanDecision.Action.PROMOTE, now=now, team=team, reason="step 1")
    two_teams.status, two_teams.step_started_at, two_teams.step_team_ids = Status.ACTIVE, now, [team.pk]
    two_teams.revisions = registry.get(PAIR).revisions()
    two_teams.save()

    overview = changer.get(CONSOLE).content.decode()
    page = changer.get(PLAN).content.decode()

    until = (now + dt.timedelta(minutes=60)).strftime("%H:%M UTC")
    assert "step of 1 baking until" in overview
    assert until in overview
    assert '<span class="pill normal">baking</span>' in page
    assert 'id="plan-pause"' in page


def test_a_completed_plan_shows_what_to_retire(changer, pair):
    make_plan(Status.COMPLETED, status_reason="every team on for 14 days")

    page = changer.get(PLAN).content.decode()

    assert '<section class="card wide" style="margin-bottom: 1rem" id="retirement">' in page
    assert "ready to retire legacy: remove tests/shadow/sides.py: constant_legacy, the pair&#x27;s registration" in page
    assert "Nothing to do: the plan is completed." in page


def test_the_decisions_are_listed_newest_first_with_their_evidence_in_a_line(changer, two_teams, team):
    now = timezone.now()
    evidence = autopilot.snapshot(autopilot.evidence_for(PAIR, [team.pk])[team.pk])
    for minutes in range(25):
        autopilot.record(two_teams, PlanDecision.Action.PAUSE, now=now - dt.timedelta(minutes=minutes + 1), reason=f"old {minutes}")
    autopilot.record(two_teams, PlanDecision.Action.PROMOTE, now=now, team=team, reason="autopilot step 1", evidence=evidence)

    response = changer.get(PLAN)

    rows = response.context["page"].decisions
    assert len(rows) == 20
    assert rows[0].decision.reason == "autopilot step 1"
    assert rows[0].evidence.startswith("60 comparisons, 3 argument sets, 0 mismatches, 0 errors, p95 legacy ")
    page = response.content.decode()
    assert "system:autopilot" in page
    assert "Promoted" in page
    assert "old 18" in page
    assert "old 19" not in page


def test_a_pair_without_a_plan_offers_to_create_one(changer, pair):
    page = changer.get(PLAN).content.decode()

    assert "test.pair has no rollout plan" in page
    assert f'<a class="button" id="create-plan" href="{EDIT}">' in page


@pytest.mark.parametrize("path", [
    "/ops/shadow/pairs/no.such.pair/plan/", "/ops/shadow/pairs/no.such.pair/plan/edit/",
    "/ops/shadow/pairs/no.such.pair/plan/start/", f"{PLAN}launch/",
])
def test_an_unknown_pair_or_action_is_404(changer, pair, path):
    assert changer.get(path).status_code == 404


def test_an_action_on_a_pair_without_a_plan_is_404(changer, pair):
    assert changer.post(PLAN + "start/", {"reason": "go"}).status_code == 404


# --- start, pause, resume, abort ---------------------------------------------------------------------------


def test_the_confirmation_page_explains_the_action_and_asks_for_a_reason(changer, two_teams):
    response = changer.get(PLAN + "start/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Start the rollout plan of test.pair</h1>" in page
    assert "Activate the plan of test.pair: from its next run the autopilot promotes ready teams, 2 at a time" in page
    assert 'name="reason"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="force"' not in page
    assert f'<a href="{PLAN}">Cancel</a>' in page


def test_start_pause_resume_and_abort_change_the_status_and_are_recorded_with_the_user(changer, two_teams):
    steps = [
        ("start", "looks right in dry run", Status.ACTIVE, "The plan of test.pair is active."),
        ("pause", "release freeze", Status.PAUSED, "The plan of test.pair is paused."),
        ("resume", "freeze over", Status.ACTIVE, "The plan of test.pair is active."),
        ("abort", "moving to another approach", Status.ABORTED, "The plan of test.pair is aborted."),
    ]
    for action, reason, expected, message in steps:
        response = changer.post(PLAN + f"{action}/", {"reason": reason}, follow=True)

        assert response.redirect_chain == [(PLAN, 303)]
        assert status() == expected
        assert message in response.content.decode()

    assert decisions() == [
        ("start", "user:olga", "looks right in dry run"),
        ("pause", "user:olga", "release freeze"),
        ("resume", "user:olga", "freeze over"),
        ("abort", "user:olga", "moving to another approach"),
    ]
    plan = RolloutPlan.objects.get(pair_name=PAIR)
    # Started for the code running now; the abort's reason is the status's.
    assert plan.revisions == registry.get(PAIR).revisions()
    assert plan.status_reason == "moving to another approach"
    page = changer.get(PLAN).content.decode()
    assert "moving to another approach" in page
    assert "user:olga" in page


def test_a_halted_plan_resumes(changer, two_teams):
    two_teams.status = Status.HALTED
    two_teams.save()

    assert changer.post(PLAN + "resume/", {"reason": "fixed in 4f2a"}).status_code == 303

    assert status() == Status.ACTIVE
    assert decisions() == [("resume", "user:olga", "fixed in 4f2a")]


def test_a_reason_is_required(changer, two_teams):
    response = changer.post(PLAN + "start/", {"reason": "   "})

    assert response.status_code == 400
    assert "Give a reason: it is recorded in the audit log." in response.content.decode()
    assert status() == Status.DRY_RUN
    assert decisions() == []


@pytest.mark.parametrize(("current", "action"), [
    (Status.ABORTED, "resume"),
    (Status.ABORTED, "start"),
    (Status.ABORTED, "abort"),
    (Status.PAUSED, "pause"),
    (Status.ACTIVE, "start"),
    (Status.ACTIVE, "resume"),
    (Status.DRY_RUN, "pause"),
    (Status.DRY_RUN, "resume"),
    (Status.COMPLETED, "pause"),
    (Status.COMPLETED, "abort"),
])
def test_an_impossible_move_is_400_with_its_reason_and_changes_nothing(changer, pair, current, action):
    make_plan(current, status_reason="as it was")
    label = action.capitalize()

    confirm = changer.get(PLAN + f"{action}/")
    response = changer.post(PLAN + f"{action}/", {"reason": "try anyway"})

    for answer in (confirm, response):
        assert answer.status_code == 400
        page = answer.content.decode()
        assert f"{label} is not possible: the plan of test.pair is {Status(current).label.lower()}" in page
        assert "Nothing was changed." in page
        assert 'id="confirm-form"' not in page
    plan = RolloutPlan.objects.get(pair_name=PAIR)
    assert (plan.status, plan.status_reason) == (current, "as it was")
    assert decisions() == []


def test_actions_need_the_csrf_token(two_teams):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator("flags.change_rollout"))

    assert client.post(PLAN + "start/", {"reason": "go"}).status_code == 403
    assert client.post(EDIT, {"step_size": "9", "bake_minutes": "1"}).status_code == 403

    assert status() == Status.DRY_RUN
    assert RolloutPlan.objects.get(pair_name=PAIR).step_size == 2
    assert decisions() == []


def test_the_pages_answer_get_and_the_actions_get_or_post_only(changer, two_teams):
    assert changer.post(PLAN, {}).status_code == 405
    assert changer.put(PLAN + "start/").status_code == 405
    assert changer.delete(EDIT).status_code == 405


# --- who may see and do what -----------------------------------------------------------------------------------


def all_addresses() -> list[str]:
    return [PLAN, EDIT, *(PLAN + f"{action}/" for action in ACTIONS)]


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, two_teams):
    for path in all_addresses():
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"{reverse('login')}?next={path}"
    assert client.post(PLAN + "start/", {"reason": "go"}).status_code == 302
    assert status() == Status.DRY_RUN


def test_a_member_who_is_not_staff_gets_403(member_client, two_teams):
    for path in all_addresses():
        assert member_client.get(path).status_code == 403, path
    assert member_client.post(PLAN + "start/", {"reason": "go"}).status_code == 403
    assert status() == Status.DRY_RUN


def test_staff_without_view_evidence_gets_403(client, two_teams):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(PLAN).status_code == 403


def test_without_change_rollout_the_plan_is_read_only(viewer, two_teams):
    page = viewer.get(PLAN).content.decode()

    assert "would promote" in page
    assert "Changing a rollout plan needs the <code>flags.change_rollout</code> permission." in page
    for action in ACTIONS:
        assert f'id="plan-{action}"' not in page
        assert viewer.get(PLAN + f"{action}/").status_code == 403
        assert viewer.post(PLAN + f"{action}/", {"reason": "go"}).status_code == 403
    assert 'id="edit-plan"' not in page
    assert viewer.get(EDIT).status_code == 403
    assert viewer.post(EDIT, {"step_size": "9"}).status_code == 403
    assert status() == Status.DRY_RUN
    assert decisions() == []


def test_without_change_rollout_no_plan_can_be_created(viewer, pair):
    assert "Create a rollout plan" not in viewer.get(CONSOLE).content.decode()
    assert "Planning a rollout needs the <code>flags.change_rollout</code> permission." in viewer.get(PLAN).content.decode()
    assert viewer.post(EDIT, {**FORM, "teams": ""}).status_code == 403
    assert not RolloutPlan.objects.exists()


# --- creating and editing a plan ---------------------------------------------------------------------------------

FORM = {
    "teams": "globex, acme", "step_size": "1", "bake_minutes": "30", "min_comparisons": "40", "min_argument_sets": "2",
    "max_p95_ratio": "1.5", "max_teams_per_day": "4", "retire_after_days": "7",
}


def test_a_new_plan_is_created_in_dry_run_with_its_teams_in_order(changer, pair, team, other_team):
    form = changer.get(EDIT)
    assert form.status_code == 200
    assert "New rollout plan of test.pair" in form.content.decode()

    response = changer.post(EDIT, FORM, follow=True)

    assert response.redirect_chain == [(PLAN, 303)]
    assert "The rollout plan of test.pair is created in dry run" in response.content.decode()
    plan = RolloutPlan.objects.get(pair_name=PAIR)
    assert plan.status == Status.DRY_RUN
    assert plan.teams == ["globex", "acme"]
    assert (plan.step_size, plan.bake_minutes, plan.min_comparisons, plan.min_argument_sets) == (1, 30, 40, 2)
    assert (str(plan.max_p95_ratio), plan.max_teams_per_day, plan.retire_after_days) == ("1.50", 4, 7)


def test_no_teams_means_every_team_smallest_data_first(changer, pair, team):
    assert changer.post(EDIT, {**FORM, "teams": " "}).status_code == 303

    assert RolloutPlan.objects.get(pair_name=PAIR).teams == []
    assert "all teams, smallest data first" in changer.get(PLAN).content.decode()


def test_editing_keeps_the_status_and_shows_the_current_teams(changer, two_teams, team, other_team):
    two_teams.status = Status.ACTIVE
    two_teams.save()

    assert 'value="globex, acme"' in changer.get(EDIT).content.decode()
    response = changer.post(EDIT, {**FORM, "teams": "acme", "step_size": "3"})

    assert response.status_code == 303
    plan = RolloutPlan.objects.get(pair_name=PAIR)
    assert (plan.status, plan.teams, plan.step_size) == (Status.ACTIVE, ["acme"], 3)
    # The change is in the plan's log, by whom.
    edit = plan.decisions.get(action="edit")
    assert edit.actor.startswith("user:")
    assert "3" in edit.reason and "acme" in edit.reason


@pytest.mark.parametrize(("field", "value", "error"), [
    ("teams", "acme, nobody, ghost", "No team has the slugs nobody, ghost."),
    ("teams", "acme, acme", "Listed more than once: acme."),
    ("step_size", "0", "Ensure this value is greater than or equal to 1."),
    ("bake_minutes", "-5", "Ensure this value is greater than or equal to 0."),
    ("max_p95_ratio", "abc", "Enter a number."),
    ("max_p95_ratio", "0", "Ensure this value is greater than or equal to 0.01."),
    ("max_teams_per_day", "", "This field is required."),
])
def test_bad_values_are_400_with_the_field_error_and_nothing_is_written(changer, pair, team, other_team, field, value, error):
    response = changer.post(EDIT, {**FORM, field: value})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [error]
    assert f'<ul class="errorlist" data-field="{field}"><li>{error}</li></ul>' in response.content.decode()
    assert not RolloutPlan.objects.exists()


def test_bad_values_leave_an_existing_plan_as_it_was(changer, two_teams):
    response = changer.post(EDIT, {**FORM, "teams": "acme, nobody", "step_size": "7"})

    assert response.status_code == 400
    plan = RolloutPlan.objects.get(pair_name=PAIR)
    assert (plan.teams, plan.step_size) == (["globex", "acme"], 2)


# --- the admin ---------------------------------------------------------------------------------------------------


def admin_url(model: str, view: str, *args) -> str:
    return reverse(f"admin:shadow_{model}_{view}", args=args)


def test_the_admin_edits_a_plans_settings_but_not_its_status(admin_client, two_teams, team):
    autopilot.record(two_teams, PlanDecision.Action.PAUSE, now=timezone.now(), reason="freeze")

    page = admin_client.get(admin_url("rolloutplan", "change", two_teams.pk)).content.decode()
    assert 'name="step_size"' in page
    assert 'name="status"' not in page
    assert 'name="pair_name"' not in page
    assert f"?plan__id__exact={two_teams.pk}" in page
    assert "its decisions (1)" in page

    response = admin_client.post(admin_url("rolloutplan", "change", two_teams.pk), {**FORM, "teams": "nobody"})
    assert response.status_code == 200
    assert "No team has the slug nobody." in response.content.decode()

    response = admin_client.post(admin_url("rolloutplan", "change", two_teams.pk), {**FORM, "status": "active"})
    assert response.status_code == 302
    plan = RolloutPlan.objects.get(pk=two_teams.pk)
    assert (plan.status, plan.teams, plan.step_size) == (Status.DRY_RUN, ["globex", "acme"], 1)


def test_the_admin_adds_a_plan_for_a_registered_pair_in_dry_run(admin_client, pair, team, other_team):
    response = admin_client.post(admin_url("rolloutplan", "add"), {**FORM, "pair_name": PAIR})

    assert response.status_code == 302
    assert RolloutPlan.objects.get(pair_name=PAIR).status == Status.DRY_RUN
    refused = admin_client.post(admin_url("rolloutplan", "add"), {**FORM, "pair_name": "no.such.pair"})
    assert refused.status_code == 200
    assert RolloutPlan.objects.count() == 1


def test_decisions_are_read_only_in_the_admin(admin_client, two_teams, team):
    decision = autopilot.record(
        two_teams, PlanDecision.Action.PROMOTE, now=timezone.now(), team=team, reason="autopilot step 1",
        evidence={"comparisons": 60, "argument_sets": 3, "mismatches": 0, "errors": 0, "p95_ms": {}, "revisions": {}},
    )

    listing = admin_client.get(admin_url("plandecision", "changelist")).content.decode()
    assert "autopilot step 1" in listing
    assert "60 comparisons, 3 argument sets" in listing
    assert admin_client.get(admin_url("plandecision", "add")).status_code == 403
    assert 'name="reason"' not in admin_client.get(admin_url("plandecision", "change", decision.pk)).content.decode()
    assert admin_client.post(admin_url("plandecision", "delete", decision.pk), {"post": "yes"}).status_code == 403


def test_the_plans_admin_needs_change_rollout_besides_the_model_permissions(client, two_teams):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="shadow", codename__in=["view_rolloutplan", "change_rolloutplan", "add_rolloutplan"],
    ))
    client.force_login(user)

    page = client.get(admin_url("rolloutplan", "change", two_teams.pk)).content.decode()
    assert 'name="step_size"' not in page
    assert client.post(admin_url("rolloutplan", "change", two_teams.pk), FORM).status_code == 403
    assert client.get(admin_url("rolloutplan", "add")).status_code == 403


# --- queries -------------------------------------------------------------------------------------------------------


@pytest.fixture
def teams_with_a_plan(pair):
    def make(count: int) -> RolloutPlan:
        teams = [TeamFactory(slug=f"team-{number:02d}") for number in range(count)]
        for item in teams:
            ready(item)
        # The first team promoted by the plan and on: the failures since then are read too.
        services.enable_for_teams(name=PAIR, teams=teams[:1], actor=autopilot.AUTOPILOT_ACTOR, reason="step 1")
        plan = make_plan(Status.ACTIVE, teams=[item.slug for item in teams], revisions=registry.get(PAIR).revisions())
        autopilot.record(plan, PlanDecision.Action.PROMOTE, now=timezone.now() - dt.timedelta(hours=3), team=teams[0])
        return plan

    return make


# What autopilot.explain reads for one plan, whatever its number of teams: the plan's teams, the flag rows, the
# latest audit entries, the plan's promotions, two evidence queries (days, argument sets), the last start or
# resume, the failures since promotion, the readiness gate's two evidence queries for the ready teams (none
# when no team is ready) and today's promotions.
EXPLAIN_QUERIES = 11


@pytest.mark.parametrize("team_count", [2, 7])
def test_the_plan_page_makes_the_same_number_of_queries_for_2_and_7_teams(
    changer, teams_with_a_plan, team_count, django_assert_num_queries
):
    """Session, user, the user's and its groups' permissions, the plan, explain's 11, the last decisions: 17."""
    teams_with_a_plan(team_count)

    with django_assert_num_queries(4 + 1 + EXPLAIN_QUERIES + 1):
        response = changer.get(PLAN)

    assert len(response.context["page"].teams) == team_count
    assert response.context["page"].line.decision.kind == "promote"


@pytest.mark.parametrize("team_count", [2, 7])
def test_the_overview_with_a_plan_makes_the_same_number_of_queries_for_2_and_7_teams(
    changer, teams_with_a_plan, team_count, django_assert_num_queries
):
    """The overview's 15 (tests/shadow/test_console.py) with one pair instead of two (two evidence queries fewer),
    plus explain's 11 for the pair's plan: 24."""
    teams_with_a_plan(team_count)

    with django_assert_num_queries(15 - 2 + EXPLAIN_QUERIES):
        response = changer.get(CONSOLE)

    [row] = response.context["pairs"]
    assert row.plan is not None
    assert row.plan.next_step.startswith("next: promote team-01")
    assert len(row.teams) == team_count
