from django.urls import path

from shadow import views

app_name = "shadow"

urlpatterns = [
    path("", views.console, name="console"),
    path("records/", views.records, name="records"),
    path("records/<int:record_id>/", views.record, name="record"),
    path("pairs/<str:pair_name>/teams/<slug:team_slug>/", views.pair_team, name="pair_team"),
    path("pairs/<str:pair_name>/teams/<slug:team_slug>/<slug:action_name>/", views.act, name="team_action"),
    # Before the pair's actions: "plan" is no action name.
    path("pairs/<str:pair_name>/plan/", views.plan, name="plan"),
    path("pairs/<str:pair_name>/plan/edit/", views.plan_edit, name="plan_edit"),
    path("pairs/<str:pair_name>/plan/<slug:action_name>/", views.plan_act, name="plan_action"),
    path("pairs/<str:pair_name>/<slug:action_name>/", views.act, name="pair_action"),
]
