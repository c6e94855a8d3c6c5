from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.teams.models import Team


@login_required
def team_picker(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.filter(memberships__user=request.user).order_by("name")
    return render(request, "teams/picker.html", {"teams": teams})
