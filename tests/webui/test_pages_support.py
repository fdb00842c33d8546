"""Helpers for the page tests: sign in through the real form (CSRF and all), read tokens
and rows out of the HTML, make cases through the API. No tests here."""
from __future__ import annotations

import json
import re

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
DISTINCTIVE_NAME = "Quintessa Marblewhistle"


def csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html) or CSRF_META.search(html)
    assert match, "no CSRF token on the page"
    return next(g for g in match.groups() if g)


def sign_in(app, username: str, password: str = "demo"):
    """A test client with a browser session for ``username`` (signed in through the form)."""
    client = app.test_client()
    token = csrf_from(client.get("/").get_data(as_text=True))
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def schema_on(html: str) -> dict:
    """The form schema a task page hands the form renderer."""
    return json.loads(re.search(r'<script type="application/json" id="form-schema">(.*?)</script>', html, re.S)
                      .group(1))


def page_token(client, path: str = "/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def refer(client, token_for, name: str = DISTINCTIVE_NAME, by: str = "supervisor1") -> str:
    resp = client.post("/api/cases", headers=token_for(by),
                       json={"referral": {"source": "ngo", "primary_concern": "Child working instead of school"},
                             "client": {"name": name, "date_of_birth": "2012-01-02"}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["case_code"]


def task_of(client, headers: dict, case_code: str | None = None, scope: str = "claimable",
            process_id: str | None = None) -> dict:
    tasks = client.get(f"/api/tasks?scope={scope}", headers=headers).get_json()["tasks"]
    return next(t for t in tasks if (case_code is None or t["case_code"] == case_code)
                and (process_id is None or t["process_id"] == process_id))


def row_ids(html: str) -> list[str]:
    """Task ids of the table rows, in page order."""
    return re.findall(r'<tr[^>]*data-task-id="([^"]+)"', html)
