"""Device cookies: a browser where someone signed in before is not held back by strangers.

The OWASP scheme "slow down online guessing attacks with device cookies": the per-account
limits on failed sign-ins (``webui.auth``'s per-username rate limit and the growing delay of
``engine.people.accounts``) would let anyone keep a named person out by failing on their
username from many addresses. So a successful sign-in gives its browser a *device cookie*
naming the account — signed with the app's secret key, HttpOnly, SameSite=Lax, Secure in
production as the session cookie is, kept ``DEVICE_COOKIE_DAYS`` days. A later sign-in that
presents a valid device cookie *for the username it names* is a sign-in from a trusted
device: the per-account limit and delay do not apply to it, only a per-device one — its
failures are counted against that cookie (``LIMIT_PER_DEVICE``), and a cookie that failed
that often is not trusted until its failures age out. Attempts without one (or with one for
another account, forged, or expired) keep the per-account limits.

What it does not do: a device cookie grants no access (the password is still checked, and
the per-address limit still applies); it is not revoked by a password change, since all it
says is "signed in here before". A browser keeps one device cookie, for whoever signed in
last on it. Failures are counted where the rate limits count (memory, or Redis in
production); if that storage fails, the device is not trusted.
"""
from __future__ import annotations

import secrets

from flask import after_this_request, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from limits.errors import StorageError

from webui.extensions import limiter

COOKIE_NAME = "device"
DEVICE_COOKIE_DAYS = 365
LIMIT_PER_DEVICE = "5 per 15 minutes"  # failures from one trusted device for its account
_SALT = "sign-in-device"
_TRUSTED = "_device_nonce"  # g: the nonce of this request's trusted device cookie, per username


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _device_limit() -> RateLimitItem:
    return parse(LIMIT_PER_DEVICE)


def _presented(username: str) -> str | None:
    """The nonce of a valid, unexpired device cookie this request presents for ``username``."""
    raw = request.cookies.get(COOKIE_NAME)
    if not raw or not username:
        return None
    try:
        value = _serializer().loads(raw, max_age=DEVICE_COOKIE_DAYS * 24 * 3600)
    except BadSignature:  # forged, altered or expired (SignatureExpired is a BadSignature)
        return None
    if not isinstance(value, dict) or value.get("u") != username or not isinstance(value.get("n"), str):
        return None
    return value["n"]


def trusted_nonce(username: str) -> str | None:
    """The nonce of this request's device cookie if it is a trusted device for ``username``:
    valid, naming that username, and not failed ``LIMIT_PER_DEVICE`` times lately."""
    cache = g.setdefault(_TRUSTED, {})
    if username not in cache:
        nonce = _presented(username)
        if nonce is not None:
            try:
                if not limiter.limiter.test(_device_limit(), "sign-in-device", nonce):
                    nonce = None
            except StorageError:
                nonce = None
        cache[username] = nonce
    return cache[username]


def is_trusted(username: str) -> bool:
    return trusted_nonce(username) is not None


def count_failure(username: str) -> None:
    """A failed sign-in for ``username``: counted against the device cookie it came with, if
    that is a trusted device for it (the per-account limits count the others)."""
    nonce = trusted_nonce(username)
    if nonce is None:
        return
    try:
        limiter.limiter.hit(_device_limit(), "sign-in-device", nonce)
    except StorageError:
        return


def remember(username: str) -> None:
    """``username`` signed in: this browser gets (or keeps) a device cookie naming them."""
    nonce = trusted_nonce(username) or _presented(username) or secrets.token_urlsafe(16)
    value = _serializer().dumps({"u": username, "n": nonce})

    @after_this_request
    def set_cookie(response):
        response.set_cookie(COOKIE_NAME, value, max_age=DEVICE_COOKIE_DAYS * 24 * 3600, httponly=True,
                            samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
        return response
