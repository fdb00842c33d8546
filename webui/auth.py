"""Who is calling: a bearer token (API) or a browser sign-in (pages), both sessions the
server can end (engine.people.sessions); and the rate limits on signing in.

Sign-in limits count only failed attempts (answers 401), per client address and per
username named, shared by ``POST /api/auth/token`` and the sign-in page, so ordinary
repeated sign-ins are never slowed down. An attempt from a trusted device of the username
it names (``webui.device_cookies``) is not counted or held back per username, only per
device and per address: strangers failing on someone's username do not keep them out.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app, g, request
from flask import session as cookie_session
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from engine.errors import Unauthorized
from engine.people import accounts, directory, sessions
from webui import device_cookies
from webui.extensions import csrf, engine_ctx, limiter, uow

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
WEB_SECRET_KEY = "auth_session"  # where a browser sign-in keeps its session secret in the signed cookie
MAX_SIGN_IN_BODY = 8192  # a sign-in is a few dozen bytes; a bigger body is not parsed to find its username


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=engine_ctx().settings.session_hours)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, if the request has one."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    return header[7:].strip()


def current_user_id() -> int:
    """The signed-in user's id, or ``Unauthorized`` (401): a live bearer token, else a
    live browser sign-in (which must prove a change comes from our pages)."""
    if "user_id" in g:
        return g.user_id
    token = bearer_token()
    if token is not None:
        with uow() as work:
            signed_in = sessions.signed_in(work, token, sessions.SessionKind.API)
        g.user_id, g.user_locale, g.username = signed_in.user_id, signed_in.locale, signed_in.username
    elif current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            # a browser session proves each change comes from our own pages (X-CSRFToken
            # header or csrf_token field); bearer tokens are not sent by browsers on their own
            csrf.protect()
        g.user_id = current_user.id
    else:
        raise Unauthorized("sign in, or send 'Authorization: Bearer <token>'")
    return g.user_id


def username_of(session, user_id: int | None) -> str | None:
    """The username of ``user_id``: the caller's as their bearer token's sign-in read it
    (answering with the task someone just claimed or completed costs no query), anyone
    else's from the directory."""
    if user_id is not None and user_id == g.get("user_id") and g.get("username"):
        return g.username
    return directory.username(session, user_id)


def web_secret() -> str | None:
    """The secret of this browser's sign-in, kept in the signed session cookie."""
    value = cookie_session.get(WEB_SECRET_KEY)
    return value if isinstance(value, str) else None


def start_browser_session(signed_in: accounts.SignedIn, user) -> None:
    """Sign this browser in as ``user`` (a flask-login user) with the session just started."""
    cookie_session[WEB_SECRET_KEY] = signed_in.secret
    login_user(user)


def end_browser_session() -> None:
    """Sign this browser out, on the server too: its session secret is refused from now on."""
    secret = web_secret()
    if secret is not None:
        with uow() as work:
            sessions.sign_out(work, secret, sessions.SessionKind.WEB)
    logout_user()
    cookie_session.pop(WEB_SECRET_KEY, None)


# -- rate limits on signing in ---------------------------------------------------------------------
def _failed_sign_in(response) -> bool:
    return response.status_code == 401


def _username_named() -> str:
    """A key for the username a sign-in names (hashed: mistyped passwords land in the
    username field, and the counters may live in Redis)."""
    name = _named()
    return "account:" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _from_trusted_device() -> bool:
    """The sign-in comes from a trusted device of the username it names: the per-username
    limit neither holds it back nor counts it."""
    name = _named()
    return bool(name) and device_cookies.is_trusted(name)


def _named() -> str:
    """The username a sign-in names, as sent (stripped); empty if none can be read."""
    name = ""
    if (request.content_length or 0) <= MAX_SIGN_IN_BODY:
        if request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:
                body = None
            name = body.get("username", "") if isinstance(body, dict) else ""
        else:
            name = request.form.get("username", "")
    return name.strip() if isinstance(name, str) else ""


def _per_address() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _per_account() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def sign_in_limits(view):
    """Decorate a sign-in view: refused with 429 once too many sign-ins failed from its
    client address or naming its username — the latter unless it comes from a trusted
    device of that username (webui.extensions answers the 429)."""
    view = limiter.shared_limit(_per_address, scope="sign-in-address", key_func=get_remote_address,
                                methods=["POST"], deduct_when=_failed_sign_in)(view)
    return limiter.shared_limit(_per_account, scope="sign-in-account", key_func=_username_named,
                                methods=["POST"], deduct_when=_failed_sign_in,
                                exempt_when=_from_trusted_device)(view)


def password_sign_in(username: str, password: str, kind: sessions.SessionKind) -> accounts.SignedIn:
    """Sign in with a password from this request (the API or the page): from a trusted device
    of ``username`` the per-account delay does not apply and a failure counts against the
    device; a success gives this browser its device cookie. ``Unauthorized`` otherwise."""
    trusted = device_cookies.is_trusted(username)
    try:
        with uow() as work:
            signed_in = accounts.sign_in(work, username, password, kind, session_lifetime(), trusted_device=trusted)
    except Unauthorized:
        device_cookies.count_failure(username)
        raise
    device_cookies.remember(signed_in.username)
    return signed_in
