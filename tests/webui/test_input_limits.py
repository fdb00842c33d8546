"""Untrusted input cannot crash the service (CONTRACT "Limits and bad input"): ids and offsets
of any size, deep or huge JSON, lone surrogates, huge numbers, a busy database — each gets a
JSON 4xx (or a 503 to retry), never a 5xx and never a half-written change; answers carry
no-store, and the session cookie is Secure in production whatever the database."""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import replace

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from engine.case import case_lists
from engine.errors import ServiceUnavailable
from engine.infra import db
from tests.webui.test_pages_support import page_token, refer, sign_in, task_of
from webui.api.bounds import ID_MAX
from webui.app import create_app
from webui.json_limits import MAX_JSON_BYTES

BEYOND_64_BITS = 2**63
REFERRAL = {"referral": {"source": "ngo", "primary_concern": "Child working instead of school"},
            "client": {"name": "Test Child"}}


@pytest.fixture
def settings(settings):
    """A short SQLite busy timeout, so the locked-database test waits a fraction of a second."""
    return replace(settings, sqlite_busy_timeout_s=0.3)


def assert_json_error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert set(body) >= {"error", "message", "errors"}, body
    return body


def cases_seen(client, headers) -> int:
    return client.get("/api/cases", headers=headers).get_json()["total"]


# -- ids, offsets and limits of any size ---------------------------------------------------------

def test_ids_beyond_any_table_are_404_and_offsets_beyond_are_422_in_json(client, token_for):
    admin, lead = token_for("admin"), token_for("crisislead1")
    huge = BEYOND_64_BITS
    for method, path, headers in [
            ("get", f"/api/processes/instances/{huge}", admin), ("get", f"/api/crises/{huge}", lead),
            ("get", f"/api/crises/{huge}/checks", lead), ("get", f"/api/crises/{huge}/log", lead),
            ("post", f"/api/crises/{huge}/checks/fan-out", lead), ("get", f"/api/incidents/{huge}", admin),
            ("post", f"/api/incidents/{huge}/retry", admin), ("post", f"/api/notifications/{huge}/read", admin),
            ("get", f"/api/processes/instances/{ID_MAX + 1}", admin), ("get", "/api/crises/" + "9" * 5000, lead),
            ("get", "/api/tasks/" + "7" * 5000, admin), ("get", "/api/cases/" + "C" * 5000, admin),
            ("get", f"/crisis/{huge}", lead), ("get", f"/models/{huge}", admin)]:
        assert_json_error(getattr(client, method)(path, headers=headers), 404)
    for path in ["/api/cases", "/api/tasks", "/api/notifications", "/api/incidents", "/api/crises",
                 "/api/crises/1/checks", "/api/crises/1/log"]:
        for query in [f"offset={huge}", f"limit={huge}", "offset=-1", "limit=" + "9" * 5000, "offset=1e3"]:
            body = assert_json_error(client.get(f"{path}?{query}", headers=admin), 422)
            assert set(body["errors"]) & {"offset", "limit"}, (path, query, body)


def test_the_openapi_document_states_every_integer_bound(client):
    spec = client.get("/api/openapi.json").get_json()
    checked = 0
    for path, item in spec["paths"].items():
        parameters = item.get("parameters", []) + [p for method, operation in item.items() if method != "parameters"
                                                   for p in operation.get("parameters", [])]
        for parameter in parameters:
            schema = parameter["schema"]
            if schema.get("type") == "integer":
                assert 0 <= schema["minimum"] and schema["maximum"] <= ID_MAX, (path, parameter)
                checked += 1
            elif parameter["in"] == "path":
                assert schema.get("maxLength"), (path, parameter)  # a string id, no longer than its column
    assert checked > 20  # crises, incidents, notifications, instances, and every limit and offset


# -- JSON bodies -----------------------------------------------------------------------------------

def test_deeply_nested_json_is_refused_with_400_before_it_is_parsed(client, token_for):
    started = time.perf_counter()
    body = assert_json_error(client.post("/api/cases", data="[" * 100_000 + "]" * 100_000,
                                         content_type="application/json", headers=token_for("supervisor1")), 400)
    assert "64 levels" in body["message"] and time.perf_counter() - started < 2

    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    deep = '{"d": ' * 5000 + '"bottom"' + "}" * 5000
    resp = client.post(f"/api/tasks/{task['id']}/complete", headers=token_for("caseworker1"),
                       data='{"data": {"eligible": true, "notes": ' + deep + "}}", content_type="application/json")
    assert "nests" in assert_json_error(resp, 400)["message"]
    assert client.get(f"/api/tasks/{task['id']}", headers=token_for("caseworker1")).get_json()["state"] == "ready"


def test_brackets_and_escapes_inside_strings_are_text_not_nesting(client, token_for):
    text = '[[[{{{ \\" ' * 40 + "\\\\"
    resp = client.post("/api/cases", headers=token_for("supervisor1"), content_type="application/json",
                       data=json.dumps({**REFERRAL, "referral": {**REFERRAL["referral"], "primary_concern": text}}))
    assert resp.status_code == 201, resp.get_json()


def test_a_lone_surrogate_anywhere_in_a_body_is_400_and_nothing_is_created(client, token_for):
    sup = token_for("supervisor1")
    before = cases_seen(client, sup)
    for source in ['"\\ud800"', '"ok \\udfff"', '"\\ud83d\\ud83d\\ude00"']:
        raw = '{"referral": {"source": ' + source + ', "primary_concern": "x"}, "client": {"name": "A"}}'
        body = assert_json_error(client.post("/api/cases", data=raw, content_type="application/json", headers=sup), 400)
        assert "surrogate" in body["message"]
    raw_bytes = b'{"referral": {"source": "\xed\xa0\x80", "primary_concern": "x"}, "client": {"name": "A"}}'
    assert_json_error(client.post("/api/cases", data=raw_bytes, content_type="application/json", headers=sup), 400)
    assert cases_seen(client, sup) == before


def test_a_nul_character_anywhere_in_a_request_is_400_not_a_database_error(app, client, token_for):
    sup, cw = token_for("supervisor1"), token_for("caseworker1")  # PostgreSQL text cannot hold U+0000
    before = cases_seen(client, sup)
    referral = {**REFERRAL, "client": {"name": "A\u0000B"}}
    assert "NUL" in assert_json_error(client.post("/api/cases", json=referral, headers=sup), 400)["message"]
    for path in ["/api/cases/CM-%00", "/api/tasks/%00", "/api/tasks?case_code=%00", "/api/tasks?process_id=a%00"]:
        assert "NUL" in assert_json_error(client.get(path, headers=cw), 400)["message"]
    assert_json_error(client.post("/api/processes/%00/instances", json={"data": {}}, headers=cw), 400)
    assert cases_seen(client, sup) == before
    browser = sign_in(app, "caseworker1")
    resp = browser.post("/dashboard/cases/reassign", data={"csrf_token": page_token(browser), "case_code": "\0"})
    assert resp.status_code == 400 and resp.mimetype == "text/html"


@pytest.mark.parametrize("number", ["1" * 5001, str(2**53 + 1), "-" + "9" * 17, "1e999", "NaN", "Infinity",
                                    "-Infinity"], ids=["5001 digits", "2**53+1", "-17 digits", "1e999", "NaN",
                                                       "Infinity", "-Infinity"])
def test_numbers_no_json_reader_agrees_on_are_400(client, token_for, number):
    resp = client.post("/api/processes/sample_intake/instances", data='{"data": {"x": ' + number + "}}",
                       content_type="application/json", headers=token_for("caseworker1"))
    assert_json_error(resp, 400)


def test_a_declaration_naming_things_that_are_not_strings_as_functions_is_422(client, token_for):
    resp = client.post("/api/crises", headers=token_for("crisislead1"),  # found by tests/fuzz
                       json={"kind": "other", "description": "x", "affected_functions": [{"S": -125}, 2.5]})
    assert set(assert_json_error(resp, 422)["errors"]) == {"affected_functions.0", "affected_functions.1"}
    assert client.get("/api/crises/active", headers=token_for("crisislead1")).status_code == 404


def test_a_json_body_over_the_size_limit_is_413(client, token_for):
    resp = client.post("/api/cases", data=json.dumps({**REFERRAL, "pad": "x" * MAX_JSON_BYTES}),
                       content_type="application/json", headers=token_for("supervisor1"))
    assert assert_json_error(resp, 413)["error"] == "too_large"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page around the same parser
def test_answers_nested_too_deep_on_the_task_page_are_refused_without_a_500(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    user = sign_in(app, "caseworker1")
    resp = user.post(f"/tasks/{task['id']}", data={"csrf_token": page_token(user), "data_json": "[" * 100_000})
    assert resp.status_code == 400 and "could not be read" in resp.get_data(as_text=True)


# -- a busy or lost database -----------------------------------------------------------------------

@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a lock on the embedded database's file
def test_a_locked_database_file_is_503_with_retry_after_soon_and_changes_nothing(client, token_for, settings):
    sup = token_for("supervisor1")
    before = cases_seen(client, sup)
    holder = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        started = time.perf_counter()
        resp = client.post("/api/cases", json=REFERRAL, headers=sup)
        elapsed = time.perf_counter() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert assert_json_error(resp, 503)["error"] == "unavailable"
    assert int(resp.headers["Retry-After"]) > 0 and elapsed < 2
    assert cases_seen(client, sup) == before
    assert client.post("/api/cases", json=REFERRAL, headers=sup).status_code == 201  # once free, it works


def test_the_sqlite_busy_timeout_is_seconds_not_half_a_minute(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    engine.dispose()


@pytest.mark.parametrize("failure", [
    OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly")),
    DBAPIError("SELECT", {}, Exception("connection reset"), connection_invalidated=True),
    ServiceUnavailable("the database is busy", retry_after=7),
], ids=["lost connection", "invalidated connection", "service unavailable"])
def test_a_lost_database_is_503_with_retry_after_for_the_api_and_the_pages(app, client, token_for, monkeypatch,
                                                                           failure):
    headers = token_for("caseworker1")
    browser = sign_in(app, "caseworker1")

    def unreachable(*args, **kwargs):
        raise failure

    monkeypatch.setattr(case_lists, "list_cases", unreachable)
    resp = client.get("/api/cases", headers=headers)
    assert assert_json_error(resp, 503)["error"] == "unavailable" and int(resp.headers["Retry-After"]) > 0
    page = browser.get("/cases")
    assert page.status_code == 503 and page.mimetype == "text/html" and int(page.headers["Retry-After"]) > 0
    assert "Busy right now" in page.get_data(as_text=True)
    if isinstance(failure, ServiceUnavailable):
        assert resp.headers["Retry-After"] == page.headers["Retry-After"] == "7"


# -- what answers may leave behind -----------------------------------------------------------------

def test_pages_and_api_answers_are_never_stored_but_static_assets_may_be(client, token_for):
    for resp in [client.get("/api/tasks", headers=token_for("caseworker1")), client.get("/api/tasks"),
                 client.get("/"), client.get("/api/no-such-thing"), client.get("/healthz")]:
        assert resp.headers["Cache-Control"] == "no-store", resp.request.path
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_the_session_cookie_is_secure_in_production_whatever_the_database(app, settings):
    cookie = app.test_client().get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http://127.0.0.1
    production = create_app(replace(settings, production=True, demo=False), start_worker=False)
    try:
        cookie = production.test_client().get("/").headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        config = production.config
        assert (config["REMEMBER_COOKIE_SECURE"], config["REMEMBER_COOKIE_HTTPONLY"],
                config["REMEMBER_COOKIE_SAMESITE"]) == (True, True, "Lax")
    finally:
        production.extensions["task_queue"].stop()
        production.extensions["engine_ctx"].engine.dispose()
