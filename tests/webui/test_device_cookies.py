"""A browser where someone signed in before carries a device cookie (the OWASP "device
cookies" scheme): strangers failing on that username from anywhere do not hold its owner
back there; the device's own failures are limited per device, and a cookie for another
account, or forged, helps nobody."""
from __future__ import annotations

import datetime as dt

import pytest
from itsdangerous import URLSafeTimedSerializer

from engine import clock
from tests.webui.test_pages_support import csrf_from, page_token, sign_in
from tests.webui.test_sign_in import WRONG, ask_token, user_row
from webui import device_cookies

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def strangers_fail_on(app, username: str, times: int = 10) -> None:
    """Wrong passwords for ``username`` from ``times`` addresses, none of which signed in before."""
    for n in range(times):
        stranger = app.test_client()
        assert ask_token(stranger, username, f"guess{n}", address=f"10.7.0.{n}").status_code == 401


@sqlite_only
def test_strangers_failing_from_many_addresses_do_not_stop_the_owner_on_a_device_they_used_before(app):
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    own_laptop = app.test_client()
    assert ask_token(own_laptop, "caseworker2", address="192.168.1.5").status_code == 200
    browser = sign_in(app, "caseworker2")  # a browser that signed in on the page
    strangers_fail_on(app, "caseworker2")
    clock.freeze(start + dt.timedelta(minutes=1))
    # from their usual devices the owner signs in at once, by the API and on the page...
    assert ask_token(own_laptop, "caseworker2", address="192.168.1.5").status_code == 200
    assert browser.post("/logout", data={"csrf_token": page_token(browser)}).status_code == 302
    token = csrf_from(browser.get("/login").get_data(as_text=True))
    again = browser.post("/login", data={"username": "caseworker2", "password": "demo", "csrf_token": token})
    assert again.status_code == 302
    # ...while from a device never used before the account is still held back
    refused = ask_token(app.test_client(), "caseworker2", address="192.168.1.6")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


@sqlite_only
def test_a_device_cookie_is_signed_http_only_long_lived_and_secure_when_the_session_cookie_is(app):
    laptop = app.test_client()
    answer = ask_token(laptop, "caseworker1")
    [cookie] = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith(device_cookies.COOKIE_NAME + "=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http://127.0.0.1
    assert f"Max-Age={device_cookies.DEVICE_COOKIE_DAYS * 24 * 3600}" in cookie
    app.config["SESSION_COOKIE_SECURE"] = True  # as in production
    [cookie] = [c for c in ask_token(laptop, "caseworker1").headers.getlist("Set-Cookie")
                if c.startswith(device_cookies.COOKIE_NAME + "=")]
    assert "Secure" in cookie


@sqlite_only
def test_a_device_cookie_of_another_account_or_a_forged_one_does_not_help(app):
    attacker = app.test_client()
    assert ask_token(attacker, "caseworker1").status_code == 200  # the attacker's own account: a real cookie
    strangers_fail_on(app, "caseworker2")
    assert ask_token(attacker, "caseworker2").status_code == 429  # a cookie for caseworker1 is not one for caseworker2
    forged = URLSafeTimedSerializer("a guessed secret", salt="sign-in-device").dumps({"u": "caseworker2", "n": "x"})
    for value in (forged, "caseworker2"):
        forger = app.test_client()
        forger.set_cookie(device_cookies.COOKIE_NAME, value)
        assert ask_token(forger, "caseworker2").status_code == 429, value


@sqlite_only
def test_a_device_that_fails_too_often_for_its_account_is_no_longer_trusted(app):
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    stolen = app.test_client()
    assert ask_token(stolen, "caseworker2", address="10.8.0.1").status_code == 200
    strangers_fail_on(app, "caseworker2")
    counted = user_row(app, "caseworker2").failed_logins
    allowed = int(device_cookies.LIMIT_PER_DEVICE.split()[0])
    for n in range(allowed):  # failures from the device count against the device, not the account
        assert ask_token(stolen, "caseworker2", f"try{n}", address="10.8.0.1").get_json() == WRONG
    assert user_row(app, "caseworker2").failed_logins == counted
    assert ask_token(stolen, "caseworker2", address="10.8.0.1").status_code == 429  # now like any other device
