"""Signing in cannot be turned against other people, and signing out really ends things.

- Failed sign-ins never lock an account: they delay the next attempt, and strangers get
  the same 401 for an unknown name, a wrong password and a paused account.
- Failed sign-ins are rate limited per client address and per username (429 with
  Retry-After); successful ones never are.
- (A browser where someone signed in before carries a device cookie: test_device_cookies.py.)
- Tokens and browser sign-ins are sessions on the server: signing out, a password change,
  deactivation or a lock ends them at once.
- After signing in, ``next`` can only lead to a page of this site.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import pytest
from sqlalchemy import select

from engine import clock
from engine.models import AuditEvent, AuthSession, User
from engine.people import accounts
from tests.webui.test_pages_support import csrf_from, page_token, sign_in
from webui.pages.auth import safe_next

WRONG = {"error": "unauthorized", "message": "wrong username or password", "errors": {}}
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def ask_token(client, username: str, password: str = "demo", address: str = "127.0.0.1"):
    return client.post("/api/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_token(client, username: str = "caseworker1", password: str = "demo") -> str:
    resp = ask_token(client, username, password)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["access_token"]


def signed_in(client, headers: dict) -> bool:
    status = client.get("/api/tasks?scope=mine", headers=headers).status_code
    assert status in (200, 401)
    return status == 200


def engine_uow(app):
    return app.extensions["engine_ctx"].uow()


def user_row(app, username: str) -> User:
    with engine_uow(app) as work:
        return work.session.scalar(select(User).where(User.username == username))


# -- 6. failed sign-ins delay, never lock, and all look the same --------------------------------------
def test_the_delay_after_failures_doubles_and_stops_at_fifteen_minutes():
    delays = [accounts.retry_delay(n) for n in range(12)]
    assert delays[:accounts.FREE_FAILURES] == [dt.timedelta(0)] * accounts.FREE_FAILURES
    waiting = delays[accounts.FREE_FAILURES:]
    assert waiting[0] == accounts.FIRST_DELAY
    cap = dt.timedelta(minutes=15)
    assert all(later == min(2 * earlier, cap) for earlier, later in zip(waiting, waiting[1:], strict=False))
    assert max(delays) == dt.timedelta(minutes=15)


def test_a_strangers_failures_pause_an_account_briefly_and_never_lock_it(app, client):
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    for _ in range(accounts.FREE_FAILURES + 3):  # the last three come during the delay
        assert ask_token(client, "caseworker2", "guess", address="10.9.9.9").get_json() == WRONG
    # the right password during the delay gets the same answer...
    assert ask_token(client, "caseworker2").get_json() == WRONG
    assert user_row(app, "caseworker2").locked_until is None
    # ...and once the first delay is over it signs in: refused attempts did not lengthen it
    clock.freeze(start + accounts.FIRST_DELAY + dt.timedelta(seconds=1))
    assert ask_token(client, "caseworker2").status_code == 200
    assert user_row(app, "caseworker2").failed_logins == 0


def test_the_pause_grows_with_each_failure_after_it(app, client):
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    for _ in range(accounts.FREE_FAILURES):
        ask_token(client, "caseworker2", "guess")
    clock.freeze(start + accounts.FIRST_DELAY)
    ask_token(client, "caseworker2", "guess again")  # accepted for checking, wrong: the delay doubles
    clock.freeze(start + 2 * accounts.FIRST_DELAY + dt.timedelta(seconds=1))
    assert ask_token(client, "caseworker2").get_json() == WRONG
    clock.freeze(start + 3 * accounts.FIRST_DELAY + dt.timedelta(seconds=1))
    assert ask_token(client, "caseworker2").status_code == 200


@sqlite_only
def test_unknown_wrong_and_paused_cost_one_hash_check_and_answer_alike(app, client, monkeypatch):
    """The same answer and the same work, so neither the words nor the time tell a stranger
    whether a username exists or is under attack."""
    checked: list[str] = []
    real = accounts._hasher

    class Spy:
        def verify(self, password_hash, password):
            checked.append(password_hash)
            return real.verify(password_hash, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", Spy())
    answers = {}
    for case, (username, password) in {"unknown": ("nobody", "demo"), "wrong": ("caseworker1", "nope")}.items():
        checked.clear()
        resp = ask_token(client, username, password)
        answers[case] = (resp.status_code, resp.get_json(), list(checked))
    for _ in range(accounts.FREE_FAILURES):
        ask_token(client, "caseworker2", "guess")
    checked.clear()
    resp = ask_token(client, "caseworker2")
    answers["paused"] = (resp.status_code, resp.get_json(), list(checked))
    assert {case: answer[:2] for case, answer in answers.items()} == {case: (401, WRONG) for case in answers}
    assert answers["unknown"][2] == answers["paused"][2] == [accounts._DUMMY_HASH]
    assert answers["wrong"][2] == [user_row(app, "caseworker1").password_hash]


# -- 6. rate limits on failed sign-ins, per address and per username ----------------------------------
@pytest.fixture
def strict_app(settings):
    from webui.app import create_app
    application = create_app(replace(settings, login_limit_per_address="3 per 15 minutes",
                                      login_limit_per_account="4 per 15 minutes"), start_worker=False)
    yield application
    application.extensions["task_queue"].stop()
    application.extensions["engine_ctx"].engine.dispose()


@sqlite_only
def test_too_many_failures_from_one_address_are_answered_429_with_retry_after(strict_app):
    client = strict_app.test_client()
    for name in ("nobody", "noone", "caseworker1"):
        assert ask_token(client, name, "guess", address="10.0.0.1").status_code == 401
    refused = ask_token(client, "caseworker1", address="10.0.0.1")  # even the right password, for now
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too_many_requests" and set(refused.get_json()) >= {"message", "errors"}
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert ask_token(client, "caseworker1", address="10.0.0.2").status_code == 200  # another address is served

    # the sign-in page counts with the API and answers in words
    page = strict_app.test_client()
    token = csrf_from(page.get("/").get_data(as_text=True))
    resp = page.post("/login", data={"username": "caseworker1", "password": "demo", "csrf_token": token},
                     environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert resp.status_code == 429 and resp.headers["Retry-After"]
    html = resp.get_data(as_text=True)
    assert "Too many failed sign-ins" in html and "Try again in" in html and 'name="password"' in html


@sqlite_only
def test_too_many_failures_naming_one_username_are_limited_from_every_address(strict_app):
    client = strict_app.test_client()
    for n in range(4):
        assert ask_token(client, "supervisor1", f"guess{n}", address=f"10.0.1.{n}").status_code == 401
    assert ask_token(client, "supervisor1", address="10.0.1.9").status_code == 429
    assert ask_token(client, "caseworker1", address="10.0.1.9").status_code == 200  # other people are served


@sqlite_only
def test_successful_sign_ins_are_never_throttled(strict_app):
    client = strict_app.test_client()
    for _ in range(10):
        assert ask_token(client, "caseworker1").status_code == 200
    for _ in range(6):
        sign_in(strict_app, "supervisor1")  # through the page, as the browser tests do


# -- 6. device cookies: strangers cannot keep someone out of their own browser -------------------------
# -- 7. tokens and browser sign-ins are sessions the server ends ---------------------------------------
def test_a_token_is_a_random_secret_of_which_only_a_hash_is_kept(app, client):
    token = new_token(client)
    assert len(token) >= 40 and "." not in token  # nothing readable in it, unlike a signed payload
    with engine_uow(app) as work:
        rows = work.session.scalars(select(AuthSession)).all()
    assert [(r.kind, r.token_hash) for r in rows] == [("api", hashlib.sha256(token.encode()).hexdigest())]
    assert clock.as_utc(rows[0].expires_at) - clock.as_utc(rows[0].created_at) == dt.timedelta(hours=12)


def test_logout_ends_the_token_sent_and_only_that_one(client):
    first, second = new_token(client), new_token(client)
    assert client.post("/api/auth/logout", headers=bearer(first)).status_code == 204
    assert not signed_in(client, bearer(first))
    assert client.post("/api/auth/logout", headers=bearer(first)).status_code == 401
    assert signed_in(client, bearer(second))


def test_a_token_lasts_twelve_hours(client):
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    token = new_token(client)
    clock.freeze(start + dt.timedelta(hours=11, minutes=59))
    assert signed_in(client, bearer(token))
    clock.freeze(start + dt.timedelta(hours=12))
    resp = client.get("/api/tasks?scope=mine", headers=bearer(token))
    assert resp.status_code == 401 and "sign in again" in resp.get_json()["message"]


def test_last_seen_is_written_at_most_once_a_minute(app, client):
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    token = new_token(client)

    def last_seen():
        with engine_uow(app) as work:
            return clock.as_utc(work.session.scalar(select(AuthSession.last_seen_at)))

    clock.freeze(start + dt.timedelta(seconds=50))
    assert signed_in(client, bearer(token)) and last_seen() == start
    clock.freeze(start + dt.timedelta(seconds=70))
    assert signed_in(client, bearer(token)) and last_seen() == start + dt.timedelta(seconds=70)


def test_signing_out_of_the_pages_ends_that_session_on_the_server(app):
    browser = sign_in(app, "caseworker1")
    copied = app.test_client()  # the same cookie elsewhere (a shared computer, a stolen cookie)
    copied.set_cookie("session", browser.get_cookie("session").value)
    assert "<h1>Inbox</h1>" in copied.get("/").get_data(as_text=True)
    assert browser.post("/logout", data={"csrf_token": page_token(browser)}).status_code == 302
    assert 'name="password"' in copied.get("/").get_data(as_text=True)
    assert copied.get("/api/tasks?scope=mine").status_code == 401


def test_deactivating_an_account_ends_its_tokens_and_browser_sessions(app, client):
    token = new_token(client)
    browser = sign_in(app, "caseworker1")
    with engine_uow(app) as work:
        user = work.session.scalar(select(User).where(User.username == "caseworker1"))
        assert accounts.deactivate(work, user, actor_id=None) == 2
        work.commit()
    assert not signed_in(client, bearer(token))
    assert 'name="password"' in browser.get("/").get_data(as_text=True)
    assert ask_token(client, "caseworker1").get_json() == WRONG


def test_a_lock_ends_sessions_and_refuses_sign_in_until_it_passes(app, client):
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    token = new_token(client)
    with engine_uow(app) as work:
        user = work.session.scalar(select(User).where(User.username == "caseworker1"))
        accounts.lock(work, user, start + dt.timedelta(hours=1), actor_id=None)
        work.commit()
    assert not signed_in(client, bearer(token))
    assert ask_token(client, "caseworker1").get_json() == WRONG
    clock.freeze(start + dt.timedelta(hours=1, seconds=1))
    assert ask_token(client, "caseworker1").status_code == 200


def test_changing_ones_password_ends_every_session_and_token(app, client):
    token, other = new_token(client), new_token(client)
    browser = sign_in(app, "caseworker1")
    wrong = client.post("/api/auth/password", headers=bearer(token),
                        json={"current_password": "nope", "new_password": "a-longer-secret"})
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["errors"]
    short = client.post("/api/auth/password", headers=bearer(token),
                        json={"current_password": "demo", "new_password": "short"})
    assert short.status_code == 422 and "new_password" in short.get_json()["errors"]
    assert signed_in(client, bearer(token))  # refusals change nothing

    done = client.post("/api/auth/password", headers=bearer(token),
                       json={"current_password": "demo", "new_password": "a-longer-secret"})
    assert done.status_code == 204
    assert not signed_in(client, bearer(token)) and not signed_in(client, bearer(other))
    assert 'name="password"' in browser.get("/").get_data(as_text=True)
    assert ask_token(client, "caseworker1").get_json() == WRONG
    assert ask_token(client, "caseworker1", "a-longer-secret").status_code == 200


def test_sign_ins_sign_outs_and_endings_are_audited_without_secrets(app, client):
    token = new_token(client)
    ask_token(client, "caseworker1", "Hunter2-typed-wrong")
    client.post("/api/auth/logout", headers=bearer(token))
    browser = sign_in(app, "caseworker1")
    browser.post("/logout", data={"csrf_token": page_token(browser)})
    new_token(client)
    with engine_uow(app) as work:
        accounts.deactivate(work, work.session.scalar(select(User).where(User.username == "caseworker1")), None)
        work.commit()
        events = work.session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "user")
                                      .order_by(AuditEvent.id)).all()
    actions = [e.action for e in events]
    assert actions == ["login", "login_failed", "logout", "login", "logout", "login", "user_deactivated",
                       "sessions_ended"]
    stored = " ".join(f"{e.action} {e.detail_json}" for e in events)
    assert token not in stored and "Hunter2" not in stored and "demo" not in stored


# -- 8. after signing in, only pages of this site ----------------------------------------------------
@pytest.mark.parametrize("target", [
    "/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com", "//evil.com", "/\\evil.com", "\\\\evil.com", "\\/evil.com",
    "https://evil.com/", "http:/evil.com", "javascript:alert(1)", " //evil.com", "\t//evil.com", "evil.com",
    "/\u2028/evil.com", "", None])
def test_next_that_a_browser_could_read_as_another_host_is_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/", "/dashboard", "/cases/C-2030-0001?tab=notes", "/tasks/abc#form"])
def test_next_that_is_a_path_of_this_site_is_kept(target):
    assert safe_next(target) == target


@sqlite_only
def test_sign_in_returns_to_a_page_of_this_site_and_never_to_another_host(app):
    asked_and_landed = (("/%09/evil.com", "/"), ("//evil.com", "/"), ("/%5Cevil.com", "/"),
                        ("/dashboard", "/dashboard"))
    for asked, landed in asked_and_landed:
        browser = app.test_client()
        html = browser.get(f"/login?next={asked}").get_data(as_text=True)
        action = "/login" if landed == "/" else "/login?next=/dashboard"
        assert f'action="{action}"' in html
        resp = browser.post(action, data={"username": "supervisor1", "password": "demo", "csrf_token": csrf_from(html)})
        assert resp.status_code == 302 and resp.headers["Location"] == landed, asked


@sqlite_only
def test_a_page_asked_for_before_signing_in_is_where_signing_in_leads(app):
    browser = app.test_client()
    asked = browser.get("/dashboard?team=1")
    assert asked.status_code == 302
    login = asked.headers["Location"]
    assert login.startswith("/login?next=")
    html = browser.get(login).get_data(as_text=True)
    resp = browser.post(login, data={"username": "supervisor1", "password": "demo", "csrf_token": csrf_from(html)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard?team=1"
    assert browser.get("/dashboard?team=1").status_code == 200
