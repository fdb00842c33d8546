"""Signing in and out of the browser app; CSRF on every form and on session API calls."""
from __future__ import annotations

import pytest

from tests.webui.test_pages_support import csrf_from, page_token, refer, sign_in, task_of

# sign-in, cookies and CSRF do not depend on the database: embedded database only, to keep the suite fast
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_stranger_gets_the_sign_in_form_at_the_front_door(client):
    html = client.get("/").get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert 'name="csrf_token" type="hidden"' in html
    assert '<label for="username">' in html and '<label for="password">' in html


def test_a_sign_in_without_a_valid_csrf_token_is_refused(client):
    resp = client.post("/login", data={"username": "caseworker1", "password": "demo"})
    assert resp.status_code == 400
    assert "did not come from this site" in resp.get_data(as_text=True)
    resp = client.post("/login", data={"username": "caseworker1", "password": "demo", "csrf_token": "forged"})
    assert resp.status_code == 400
    assert 'name="username"' in client.get("/").get_data(as_text=True)  # still signed out


def test_wrong_password_is_refused_with_a_message(client):
    token = csrf_from(client.get("/").get_data(as_text=True))
    resp = client.post("/login", data={"username": "caseworker1", "password": "nope", "csrf_token": token})
    assert resp.status_code == 401
    assert "wrong username or password" in resp.get_data(as_text=True)
    assert "wait, then try again" in resp.get_data(as_text=True)  # the same words whatever the cause


def test_signed_in_the_front_door_is_the_inbox_by_case_code_with_a_sign_out(app, client, token_for):
    code = refer(client, token_for)
    user = sign_in(app, "caseworker1")
    html = user.get("/").get_data(as_text=True)
    assert "<h1>Inbox</h1>" in html
    assert code in html
    assert 'action="/logout"' in html and "Sign out" in html


def test_session_cookie_is_http_only_and_same_site(app):
    client = app.test_client()
    token = csrf_from(client.get("/").get_data(as_text=True))
    resp = client.post("/login", data={"username": "caseworker1", "password": "demo", "csrf_token": token})
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_out_needs_the_token_and_ends_the_session(app):
    user = sign_in(app, "caseworker1")
    assert user.post("/logout").status_code == 400  # a forged cross-site sign-out is refused
    assert "<h1>Inbox</h1>" in user.get("/").get_data(as_text=True)
    resp = user.post("/logout", data={"csrf_token": page_token(user)})
    assert resp.status_code == 302
    assert 'name="password"' in user.get("/").get_data(as_text=True)


def test_session_authenticated_api_changes_need_the_csrf_header(app, client, token_for):
    """A browser session may call the API only from our pages; a bearer token needs no CSRF."""
    refer(client, token_for)
    user = sign_in(app, "caseworker1")
    task = task_of(client, token_for("caseworker1"))
    refused = user.post(f"/api/tasks/{task['id']}/claim")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "bad_request"
    assert user.get(f"/api/tasks/{task['id']}").status_code == 200  # reading needs no token
    ok = user.post(f"/api/tasks/{task['id']}/claim", headers={"X-CSRFToken": page_token(user)})
    assert ok.status_code == 200
    assert client.post(f"/api/tasks/{task['id']}/unclaim", headers=token_for("caseworker1")).status_code == 200


def test_every_page_form_carries_a_csrf_token(app, client, token_for):
    refer(client, token_for)
    for username, path in (("caseworker1", "/"), ("supervisor1", "/dashboard"), ("processowner1", "/models"),
                           ("caseworker1", "/cases/new")):
        html = sign_in(app, username).get(path).get_data(as_text=True)
        forms = html.count('method="post"')
        assert forms >= 1
        assert html.count('name="csrf_token"') >= forms, path
