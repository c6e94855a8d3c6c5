from django.urls import path

from tests.flags.views import flag_probe

urlpatterns = [path("app/<slug:team_slug>/flag-probe/", flag_probe)]
