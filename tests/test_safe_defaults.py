"""Safe defaults: debug off unless asked for, error pages in the app's style that show nothing inside, sane dates."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.urls import path

from tests.factories import UserFactory
from tests.support.processes import ROOT
from tformance.urls import urlpatterns as product_urlpatterns

SETTINGS_PROBE = "import tformance.settings as s; print(s.DEBUG)"


def run_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in {"DJANGO_DEBUG", "DJANGO_SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
        timeout=60,
    )


def test_debug_is_off_by_default_and_then_a_secret_key_is_required():
    without_key = run_settings()
    with_key = run_settings(DJANGO_SECRET_KEY="a-real-secret")
    asked_for = run_settings(DJANGO_DEBUG="true")

    assert without_key.returncode == 1
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in without_key.stderr
    assert (with_key.returncode, with_key.stdout.strip()) == (0, "False")
    assert (asked_for.returncode, asked_for.stdout.strip()) == (0, "True")


# --- error pages ----------------------------------------------------------------------


def boom(request):
    raise RuntimeError("DATABASE_URL=postgres://user:hunter2@db/prod")


# The product's URLs (the error pages link to them) plus one view that fails.
urlpatterns = [*product_urlpatterns, path("boom/", boom)]


@pytest.mark.django_db
def test_the_404_page_is_the_apps_own_and_lists_no_url_patterns(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and "Your teams" in body
    assert "URLconf" not in body and "admin/" not in body


@pytest.mark.django_db
def test_the_403_page_is_the_apps_own(client):
    """The staff console refuses a logged-in non-staff user with the app's 403 page."""
    client.force_login(UserFactory(is_staff=False))

    response = client.get("/ops/shadow/")

    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


@pytest.mark.django_db
def test_the_500_page_shows_no_traceback_and_no_settings(client, settings):
    settings.ROOT_URLCONF = "tests.test_safe_defaults"
    client.raise_request_exception = False

    response = client.get("/boom/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "hunter2" not in body and "Traceback" not in body and "DATABASE_URL" not in body


# --- date filters -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["date_to=9999-12-31", "date_from=1899-01-01", "date_from=0001-01-01"])
@pytest.mark.parametrize("page", ["prs/", "prs/export.csv"])
def test_a_date_outside_2000_to_2100_is_a_400_with_a_message(member_client, team, query, page):
    """The list and the export alike: a clear 400, never a 500 or an export cut off mid-download."""
    response = member_client.get(f"/app/{team.slug}/{page}?{query}")

    assert response.status_code == 400
    assert "Dates from 2000-01-01 to 2100-12-31 only." in response.content.decode()
