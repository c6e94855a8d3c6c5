"""Who may see what: login for everything under /app/, 404 (never 403) for teams you are not in, POST-only logout."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from tests.factories import MembershipFactory, PullRequestFactory, TeamFactory, UserFactory

# Every team-level page, with and without query strings (valid and invalid ones).
TEAM_PATHS = [
    "/app/{slug}/",
    "/app/{slug}/?days=7",
    "/app/{slug}/?days=abc",
    "/app/{slug}/prs/",
    "/app/{slug}/prs/?state=merged&page=2",
    "/app/{slug}/prs/?state=bogus",
    "/app/{slug}/prs/export.csv",
    "/app/{slug}/prs/export.csv?state=merged&ai=yes",
    "/app/{slug}/prs/export.csv?size=huge",
]

# The subset a member can open successfully (valid query strings only).
MEMBER_OK_PATHS = [
    "/app/{slug}/",
    "/app/{slug}/?days=7",
    "/app/{slug}/prs/",
    "/app/{slug}/prs/?state=merged&page=2",
    "/app/{slug}/prs/export.csv",
    "/app/{slug}/prs/export.csv?state=merged&ai=yes",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", TEAM_PATHS)
def test_anonymous_user_is_redirected_to_login_on_every_team_url(client, team, path):
    """An anonymous request to any team URL redirects to the login page, remembering where it was going."""
    url = path.format(slug=team.slug)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == "/login/?next=" + quote(url, safe="/")


@pytest.mark.django_db
def test_anonymous_user_is_redirected_to_login_from_team_picker(client):
    """The team picker needs a login too."""
    response = client.get("/app/")

    assert response.status_code == 302
    assert response.url == "/login/?next=/app/"


@pytest.mark.parametrize("path", TEAM_PATHS)
def test_non_member_gets_404_on_every_url_of_an_existing_team(member_client, other_team, path):
    """A logged-in user who is not in the team gets 404, not 403, so the slug's existence does not leak."""
    PullRequestFactory(team=other_team, title="Globex secret plan")

    response = member_client.get(path.format(slug=other_team.slug))

    assert response.status_code == 404
    assert b"Globex" not in response.content


@pytest.mark.parametrize("path", TEAM_PATHS)
def test_non_member_gets_404_on_every_url_of_a_nonexistent_team(member_client, path):
    """A slug that names no team answers exactly like a team the user is not in."""
    response = member_client.get(path.format(slug="no-such-team"))

    assert response.status_code == 404


@pytest.mark.parametrize("path", MEMBER_OK_PATHS)
def test_member_gets_200_on_every_team_url(member_client, team, path):
    """A member of the team can open every team page."""
    PullRequestFactory(team=team)

    response = member_client.get(path.format(slug=team.slug))

    assert response.status_code == 200


def test_membership_of_another_team_does_not_open_this_one(member_user, other_team, client):
    """Being a member of some team grants nothing on a different team's pages."""
    outsider = UserFactory(username="bob")
    MembershipFactory(user=outsider, team=other_team)
    client.force_login(outsider)

    assert client.get("/app/globex/").status_code == 200
    assert client.get("/app/acme/").status_code == 404
    assert client.get("/app/acme/prs/export.csv").status_code == 404


def test_picker_lists_only_the_users_teams(member_client, member_user, team, other_team):
    """The picker links to the dashboards of the user's teams and never mentions other teams."""
    initech = TeamFactory(name="Initech", slug="initech")
    MembershipFactory(user=member_user, team=initech)

    response = member_client.get("/app/")

    html = response.content.decode()
    assert response.status_code == 200
    assert [t.slug for t in response.context["teams"]] == ["acme", "initech"]
    assert 'href="/app/acme/"' in html
    assert 'href="/app/initech/"' in html
    assert "Globex" not in html
    assert "/app/globex/" not in html


def test_picker_shows_an_empty_state_for_a_user_without_teams(client, db):
    """A user in no team sees a friendly explanation instead of an empty list."""
    client.force_login(UserFactory(username="newcomer"))

    response = client.get("/app/")

    assert response.status_code == 200
    assert "You are not in any team yet" in response.content.decode()


def test_team_pages_show_the_team_name_and_a_link_back_to_the_picker(member_client, team):
    """Inside a team, the header names the team and links back to the team picker."""
    html = member_client.get("/app/acme/prs/").content.decode()

    assert ">Acme</a>" in html
    assert 'href="/app/"' in html


def test_header_offers_logout_as_a_post_form_with_a_csrf_token(member_client, team):
    """Logout is a state change, so the header renders it as a POST form carrying the CSRF token."""
    html = member_client.get("/app/").content.decode()

    assert '<form method="post" action="/logout/">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_logout_without_csrf_token_is_rejected(member_user):
    """A POST to /logout/ without a CSRF token is refused with 403 and the session survives."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(member_user)

    response = client.post("/logout/")

    assert response.status_code == 403
    assert client.get("/app/").status_code == 200


def test_logout_with_csrf_token_logs_out(member_user):
    """A POST to /logout/ with the CSRF token ends the session and redirects to the login page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(member_user)
    client.get("/app/")  # sets the CSRF cookie, as a browser rendering the header would
    token = client.cookies["csrftoken"].value

    response = client.post("/logout/", {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response.url == "/login/"
    assert client.get("/app/").status_code == 302


def test_logout_by_get_is_not_allowed(member_client):
    """GET /logout/ does not log out: the method is not allowed."""
    response = member_client.get("/logout/")

    assert response.status_code == 405
    assert member_client.get("/app/").status_code == 200


def test_login_page_shows_an_error_for_bad_credentials(client, member_user):
    """Wrong credentials re-render the login form with an error and no session."""
    response = client.post("/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/app/").status_code == 302


def test_login_with_good_credentials_goes_to_the_picker(client, member_user):
    """Correct credentials log in and land on the team picker (the LOGIN_REDIRECT_URL)."""
    login_page = client.get("/login/")

    response = client.post("/login/", {"username": "alice", "password": "pass-for-tests"})

    assert login_page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in login_page.content.decode()
    assert response.status_code == 302
    assert response.url == "/app/"
