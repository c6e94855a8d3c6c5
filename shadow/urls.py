from django.urls import path

from shadow import views

app_name = "shadow"

urlpatterns = [
    path("", views.console, name="console"),
    path("records/", views.records, name="records"),
    path("records/<int:record_id>/", views.record, name="record"),
    path("pairs/<str:pair_name>/teams/<slug:team_slug>/", views.pair_team, name="pair_team"),
    path("pairs/<str:pair_name>/teams/<slug:team_slug>/<slug:action_name>/", views.act, name="team_action"),
    path("pairs/<str:pair_name>/<slug:action_name>/", views.act, name="pair_action"),
]
