from django.urls import include, path

from apps.teams import views

app_name = "teams"

urlpatterns = [
    path("", views.team_picker, name="picker"),
    path("<slug:team_slug>/", include("apps.metrics.urls")),
]
