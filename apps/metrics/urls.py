from django.urls import path

from apps.metrics.views import dashboard, pr_list

# Mounted under /app/<team_slug>/ by apps.teams.urls; every view here is a team_view.
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("prs/", pr_list.pr_list, name="pr_list"),
    path("prs/export.csv", pr_list.pr_export_csv, name="pr_export"),
]
