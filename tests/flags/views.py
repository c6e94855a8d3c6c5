"""A test-only team page that asks waffle about a rollout flag, the way views and templates do."""

from django.http import HttpResponse
from django.template import engines
from waffle import flag_is_active

from apps.teams.access import team_view

TEMPLATE = engines["django"].from_string(
    '{% load waffle_tags %}{% flag "test.rollout" %}tag:on{% else %}tag:off{% endflag %}'
)


@team_view
def flag_probe(request):
    answer = "on" if flag_is_active(request, "test.rollout") else "off"
    return HttpResponse(f"view:{answer} " + TEMPLATE.render({}, request))
