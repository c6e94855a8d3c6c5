"""Team resolution for views: /app/<team_slug>/… is visible to members only.

A user who is not a member gets 404, never 403, so team slugs do not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from apps.teams.models import Team


def get_team_for_user(*, user, team_slug: str) -> Team:
    """Return the team with this slug if the user is a member of it, else raise Http404."""
    if not user.is_authenticated:
        raise Http404("No such team")
    team = Team.objects.filter(slug=team_slug, memberships__user=user).first()
    if team is None:
        raise Http404("No such team")
    return team


def team_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a view taking `team_slug`: require login, resolve `request.team` or 404."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, team_slug: str, *args, **kwargs) -> HttpResponse:
        request.team = get_team_for_user(user=request.user, team_slug=team_slug)
        return view(request, *args, **kwargs)

    return wrapper
