"""Single sign-on with an OpenID Connect provider, against a real provider on 127.0.0.1.

The provider below is a small Flask app served by werkzeug in a thread: discovery, keys
(JWKS), an authorize endpoint that approves whichever identity the test chose, and a token
endpoint that checks the client's secret and the PKCE verifier and signs RS256 ID tokens.
The browser is the Flask test client; its trip to the provider goes over HTTP with
``requests``, and the app reaches the provider's token and key endpoints over HTTP too.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask, jsonify, redirect
from flask import request as provider_request
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import func, select
from werkzeug.serving import make_server

from engine import clock
from engine.models import AuditEvent, AuthSession, User
from engine.people import accounts, single_sign_on
from engine.settings import Settings
from tests.webui.test_pages_support import csrf_from, sign_in

CLIENT_ID = "casework-app"
CLIENT_SECRET = "provider-given-secret"
ROLE_MAP = "cw-team=caseworker,supervisors=supervisor,it-admins=admin"
KEY_ID = "provider-key-1"


class LocalProvider:
    """An OpenID Connect provider that signs in ``identity`` without asking anything."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        self.impostor_key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID})  # same key id, other key
        self.reset()
        app = Flask("test_provider")
        app.add_url_rule("/.well-known/openid-configuration", view_func=self.discovery)
        app.add_url_rule("/jwks", view_func=self.jwks)
        app.add_url_rule("/authorize", view_func=self.authorize)
        app.add_url_rule("/token", view_func=self.token, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self):
        self.identity: dict = {}
        self.deny = False
        self.sign_with = self.key
        self.audience = CLIENT_ID
        self.codes: dict[str, dict] = {}

    def discovery(self):
        return jsonify({"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                        "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                        "response_types_supported": ["code"], "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"]})

    def jwks(self):
        return jsonify({"keys": [self.key.as_dict(private=False)]})

    def authorize(self):
        args = provider_request.args
        back = args["redirect_uri"]
        if self.deny:
            return redirect(f"{back}?{urlencode({'error': 'access_denied', 'state': args['state']})}")
        assert args["client_id"] == CLIENT_ID and args["response_type"] == "code"
        assert "openid" in args["scope"].split()
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": args.get("nonce"), "challenge": args.get("code_challenge"),
                            "method": args.get("code_challenge_method"), "redirect_uri": back,
                            "identity": dict(self.identity)}
        return redirect(f"{back}?{urlencode({'code': code, 'state': args['state']})}")

    def token(self):
        form = provider_request.form
        auth = provider_request.authorization
        if auth is None or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return jsonify({"error": "invalid_client"}), 401
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return jsonify({"error": "invalid_grant"}), 400
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant["method"] != "S256" or challenge != grant["challenge"]:
            return jsonify({"error": "invalid_grant", "error_description": "PKCE verifier does not match"}), 400
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "azp": CLIENT_ID, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], **grant["identity"]}
        id_token = jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, self.sign_with)
        return jsonify({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                        "id_token": id_token})

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="module")
def provider():
    running = LocalProvider()
    yield running
    running.stop()


@pytest.fixture
def sso_options() -> dict:
    return {}


@pytest.fixture
def settings(settings, provider, sso_options) -> Settings:
    provider.reset()
    options = {"oidc_issuer": provider.issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET,
               "oidc_provider_name": "Agency Login", "oidc_role_map": ROLE_MAP, **sso_options}
    return replace(settings, **options)


def person(sub: str, groups: list[str], email: str | None = None, verified: bool = True, **more) -> dict:
    claims = {"sub": sub, "groups": groups, "name": more.pop("name", f"Person {sub}"), **more}
    if email is not None:
        claims.update(email=email, email_verified=verified)
    return claims


def through_provider(browser, provider, identity: dict | None = None):
    """Start at /login/sso, let the provider approve, and come back: the callback's answer."""
    if identity is not None:
        provider.identity = identity
    start = browser.get("/login/sso")
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    assert start.headers["Location"].startswith(f"{provider.issuer}/authorize?")
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == "/login/sso/callback"
    return browser.get(f"{back.path}?{back.query}")


def sso_sign_in(app, provider, identity: dict):
    browser = app.test_client()
    answer = through_provider(browser, provider, identity)
    return browser, answer


def roles_of(client, token_for, username: str) -> list[str]:
    resp = client.get(f"/api/users/{username}", headers=token_for("admin"))
    assert resp.status_code == 200
    return resp.get_json()["roles"]


def count(app, model, *where) -> int:
    with app.extensions["engine_ctx"].uow() as work:
        return work.session.scalar(select(func.count()).select_from(model).where(*where))


def signed_in(browser) -> bool:
    status = browser.get("/api/tasks?scope=mine").status_code
    assert status in (200, 401)
    return status == 200


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


# -- settings --------------------------------------------------------------------------------------
def test_single_sign_on_is_off_unless_an_issuer_is_set():
    assert not Settings.from_env({"SECRET_KEY": "x"}).single_sign_on
    on = Settings.from_env({"SECRET_KEY": "x", "OIDC_ISSUER": "https://id.example.org", "OIDC_ROLE_MAP": ROLE_MAP})
    assert on.single_sign_on and on.oidc_groups_claim == "groups" and not on.oidc_create_users
    assert single_sign_on.parse_role_map(on.oidc_role_map)[:2] == (("cw-team", "caseworker"),
                                                                   ("supervisors", "supervisor"))
    with pytest.raises(ValueError, match="'chief' is not a role"):
        single_sign_on.parse_role_map("bosses=chief")
    with pytest.raises(ValueError, match="not group=role"):
        single_sign_on.parse_role_map("cw-team")


@pytest.mark.parametrize("sso_options", [{"oidc_issuer": None}])
def test_without_an_issuer_there_is_no_button_and_no_way_in(client):
    page = text_of(client.get("/login"))
    assert "Sign in with" not in page and "/login/sso" not in page
    off = client.get("/login/sso")
    assert off.status_code == 404 and "not set up" in text_of(off)


def test_the_sign_in_page_offers_the_provider(client):
    page = text_of(client.get("/login"))
    assert "Sign in with Agency Login" in page and 'href="/login/sso"' in page


# -- who signs in ----------------------------------------------------------------------------------
def test_first_sign_in_links_the_account_with_the_same_verified_email_and_sets_roles_from_groups(
        app, client, provider, token_for):
    # caseworker1 (caseworker) holds committee_member by hand: the map does not name it, so it stays
    assert client.patch("/api/users/caseworker1", headers=token_for("admin"),
                        json={"roles": ["caseworker", "committee_member"]}).status_code == 200
    users_before = count(app, User)
    browser, answer = sso_sign_in(app, provider, person("cw-1-at-idp", ["supervisors", "unrelated-group"],
                                                        email="CaseWorker1@demo.invalid"))
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    inbox = browser.get("/")
    assert inbox.status_code == 200 and "Caseworker One" in text_of(inbox)
    assert count(app, User) == users_before  # linked, nobody created
    # caseworker is the provider's to give (the groups do not give it), committee_member is not
    assert roles_of(client, token_for, "caseworker1") == ["supervisor", "committee_member"]
    body = client.get("/api/users/caseworker1", headers=token_for("admin")).get_json()
    assert body["single_sign_on"] is True
    assert client.get("/api/users/caseworker2", headers=token_for("admin")).get_json()["single_sign_on"] is False
    admin_page = text_of(sign_in(app, "admin").get("/admin/people/caseworker1"))
    assert "Linked to single sign-on" in admin_page
    with app.extensions["engine_ctx"].uow() as work:
        caseworker1 = work.session.scalar(select(User.id).where(User.username == "caseworker1"))
        logins = list(work.session.scalars(select(AuditEvent.detail_json).where(
            AuditEvent.action == "login", AuditEvent.actor_id == caseworker1)))
    assert len(logins) == 1 and '"method": "single_sign_on"' in logins[0]  # audited like a password sign-in


def test_groups_that_change_change_the_roles_at_the_next_sign_in(app, client, provider, token_for):
    identity = person("cw-2-at-idp", ["cw-team"], email="caseworker2@demo.invalid")
    _browser, first = sso_sign_in(app, provider, identity)
    assert first.status_code == 302
    assert roles_of(client, token_for, "caseworker2") == ["caseworker"]
    # the e-mail at the provider changed too: the link (iss, sub) still finds the account
    moved = {**identity, "groups": ["cw-team", "supervisors"], "email": "someone.else@example.org"}
    _browser, second = sso_sign_in(app, provider, moved)
    assert second.status_code == 302
    assert roles_of(client, token_for, "caseworker2") == ["caseworker", "supervisor"]
    _browser, third = sso_sign_in(app, provider, {**identity, "groups": ["supervisors"]})
    assert third.status_code == 302
    assert roles_of(client, token_for, "caseworker2") == ["supervisor"]


def test_an_unknown_person_gets_no_account_by_default(app, provider):
    users_before = count(app, User)
    browser, answer = sso_sign_in(app, provider, person("stranger", ["cw-team"], email="new.person@example.org"))
    assert answer.status_code == 403
    assert "No account here belongs to you yet" in text_of(answer)
    assert count(app, User) == users_before
    assert not signed_in(browser)  # still signed out


def test_an_unverified_email_links_nobody(app, provider):
    browser, answer = sso_sign_in(app, provider, person("claims-cw1", ["cw-team"], email="caseworker1@demo.invalid",
                                                        verified=False))
    assert answer.status_code == 403
    assert count(app, User, User.sso_subject.is_not(None)) == 0
    assert not signed_in(browser)


@pytest.mark.parametrize("sso_options", [{"oidc_create_users": True}])
def test_when_allowed_a_new_person_gets_an_account_with_the_roles_of_their_groups(
        app, client, provider, token_for):
    _browser, answer = sso_sign_in(app, provider, person("newcomer", ["cw-team"], email="nadia@example.org",
                                                         preferred_username="nadia", name="Nadia Haddad"))
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    body = client.get("/api/users/nadia", headers=token_for("admin")).get_json()
    assert (body["display_name"], body["roles"], body["single_sign_on"]) == ("Nadia Haddad", ["caseworker"], True)
    # groups that give no role here create nobody
    users = count(app, User)
    _browser, refused = sso_sign_in(app, provider, person("visitor", ["canteen"], email="v@example.org"))
    assert refused.status_code == 403 and "give you no role" in text_of(refused)
    assert count(app, User) == users


def test_a_deactivated_account_is_refused_and_nothing_is_created(app, client, provider, token_for):
    assert client.patch("/api/users/caseworker2", headers=token_for("admin"),
                        json={"active": False}).status_code == 200
    users, sessions = count(app, User), count(app, AuthSession)
    browser, answer = sso_sign_in(app, provider, person("cw-2-at-idp", ["cw-team"], email="caseworker2@demo.invalid"))
    assert answer.status_code == 403
    assert "deactivated" in text_of(answer)
    assert (count(app, User), count(app, AuthSession)) == (users, sessions)
    assert count(app, User, User.sso_subject.is_not(None)) == 0  # not even linked
    assert not signed_in(browser)


def test_an_account_an_administrator_locked_is_refused(app, provider):
    with app.extensions["engine_ctx"].uow() as work:
        user = work.session.scalar(select(User).where(User.username == "caseworker1"))
        accounts.lock(work, user, clock.now() + dt.timedelta(hours=1), actor_id=None)
        work.commit()
    browser, answer = sso_sign_in(app, provider, person("cw-1-at-idp", ["cw-team"], email="caseworker1@demo.invalid"))
    assert answer.status_code == 403 and "locked by an administrator" in text_of(answer)
    assert not signed_in(browser)


def test_a_sign_in_through_the_provider_ends_like_any_other(app, client, provider, token_for):
    browser, answer = sso_sign_in(app, provider, person("cw-1-at-idp", ["cw-team"], email="caseworker1@demo.invalid"))
    assert answer.status_code == 302 and signed_in(browser)
    assert client.patch("/api/users/caseworker1", headers=token_for("admin"), json={"active": False}).status_code == 200
    assert not signed_in(browser)  # deactivation ended it on the server


# -- what the provider sends back -----------------------------------------------------------------
def test_a_tampered_state_is_refused(app, provider):
    provider.identity = person("cw-1-at-idp", ["cw-team"], email="caseworker1@demo.invalid")
    browser = app.test_client()
    start = browser.get("/login/sso")
    back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
    query = parse_qs(back.query)
    forged = urlencode({"code": query["code"][0], "state": query["state"][0][:-2] + "xx"})
    answer = browser.get(f"/login/sso/callback?{forged}")
    assert answer.status_code == 400
    assert "did not start in this browser" in text_of(answer)
    assert not signed_in(browser)
    assert count(app, User, User.sso_subject.is_not(None)) == 0


def test_a_callback_without_a_sign_in_started_here_is_refused(app, provider):
    answer = app.test_client().get("/login/sso/callback?code=abc&state=never-issued")
    assert answer.status_code == 400 and "did not start in this browser" in text_of(answer)


def test_a_token_signed_by_another_key_is_refused(app, provider):
    provider.sign_with = provider.impostor_key
    browser, answer = sso_sign_in(app, provider, person("cw-1-at-idp", ["cw-team"], email="caseworker1@demo.invalid"))
    assert answer.status_code == 400
    assert "could not be verified" in text_of(answer)
    assert not signed_in(browser)
    assert count(app, User, User.sso_subject.is_not(None)) == 0


def test_a_token_meant_for_another_application_is_refused(app, provider):
    provider.audience = "some-other-app"
    browser, answer = sso_sign_in(app, provider, person("cw-1-at-idp", ["cw-team"], email="caseworker1@demo.invalid"))
    assert answer.status_code == 400 and "could not be verified" in text_of(answer)
    assert not signed_in(browser)


def test_the_last_administrator_keeps_the_role_and_is_told_why(app, client, provider, token_for):
    browser, answer = sso_sign_in(app, provider, person("admin-at-idp", ["cw-team"], email="admin@demo.invalid"))
    assert answer.status_code == 403 and "without an active administrator" in text_of(answer)
    assert roles_of(client, token_for, "admin") == ["admin"]
    assert not signed_in(browser)
    _browser, again = sso_sign_in(app, provider, person("admin-at-idp", ["it-admins"], email="admin@demo.invalid"))
    assert again.status_code == 302


def test_after_signing_in_the_browser_lands_on_the_page_it_asked_for(app, provider):
    provider.identity = person("cw-1-at-idp", ["cw-team"], email="caseworker1@demo.invalid")
    browser = app.test_client()
    start = browser.get("/login/sso?next=/cases")
    back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
    assert browser.get(f"{back.path}?{back.query}").headers["Location"] == "/cases"


def test_the_provider_refusing_is_said_in_words(app, provider):
    provider.deny = True
    browser, answer = sso_sign_in(app, provider, person("cw-1-at-idp", ["cw-team"]))
    assert answer.status_code == 403
    assert "The sign-in was declined at Agency Login" in text_of(answer)
    other = browser.get("/login/sso/callback?error=server_error&error_description=Call+0800+now")
    assert other.status_code == 400 and "“server_error”" in text_of(other) and "0800" not in text_of(other)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("sso_options", [{"oidc_issuer": f"http://127.0.0.1:{_closed_port()}"}])
def test_a_provider_out_of_reach_is_said_in_words(client):
    answer = client.get("/login/sso")
    assert answer.status_code == 502 and "cannot be reached" in text_of(answer)


def test_the_password_form_still_works_beside_it(app):
    browser = app.test_client()
    token = csrf_from(text_of(browser.get("/login")))
    resp = browser.post("/login", data={"username": "caseworker1", "password": "demo", "csrf_token": token})
    assert resp.status_code == 302
