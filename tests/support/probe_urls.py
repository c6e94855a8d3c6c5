"""The product's URLs plus /probe/flag/: what one worker process answers for a flag, and how fast.

Only the fault tests' gunicorn server loads this (tests/support/probe_settings.py).
"""

from __future__ import annotations

import os
import time

from django.core.cache import caches
from django.http import HttpRequest, JsonResponse
from django.urls import path

import flags
from apps.teams.models import Team
from tformance.urls import urlpatterns as product_urlpatterns


def probe_flag(request: HttpRequest) -> JsonResponse:
    """{"pid", "on", "flag_ms", "cache_ms"}: the worker, the flag's answer for the team, and what each step cost."""
    team = Team.objects.get(slug=request.GET["team"])
    started = time.perf_counter()
    on = flags.is_enabled(request.GET["flag"], team=team)
    flag_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    # What the rest of a request does with the shared cache (the key-metrics cache, say).
    caches["default"].get("probe")
    cache_ms = (time.perf_counter() - started) * 1000
    return JsonResponse({"pid": os.getpid(), "on": on, "flag_ms": flag_ms, "cache_ms": cache_ms})


urlpatterns = [*product_urlpatterns, path("probe/flag/", probe_flag)]
