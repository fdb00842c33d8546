"""The task page: the form's schema for the renderer, the case beside it, what happens
next; the server's per-field errors after an invalid submit; a valid submit."""
from __future__ import annotations

import json
import re

import pytest

from tests.webui.test_pages_support import page_token, refer, schema_on, sign_in, task_of

# the page around the engine call; the engine's own tests cover both databases: embedded database only,
# to keep the suite fast
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_the_page_gives_the_renderer_the_schema_and_shows_the_case_and_next_steps(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    html = sign_in(app, "caseworker1").get(f"/tasks/{task['id']}").get_data(as_text=True)
    schema = schema_on(html)
    assert {"eligible", "immediate_danger"} <= set(schema["properties"])
    assert schema["properties"]["eligible"]["options"]["enum_titles"] == ["Yes", "No"]  # asked, not defaulted
    assert "case_code" not in schema["properties"]  # filled in by the system, shown beside the form (R33)
    assert re.search(rf"<dt>Case code</dt><dd[^>]*>{code}</dd>", html)
    assert "jsoneditor.js" in html
    assert "What happens next" in html and "Admission case conference" in html
    assert "Child working instead of school" in html  # the case summary: the concern, not the person


def test_an_invalid_submit_comes_back_with_each_fields_error(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    user = sign_in(app, "caseworker1")
    token = page_token(user, f"/tasks/{task['id']}")
    resp = user.post(f"/tasks/{task['id']}", data={"csrf_token": token,
                                                   "data_json": json.dumps({"eligible": "perhaps"})})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="error-summary"' in html
    errors = json.loads(re.search(r'id="form-errors">(.*?)</script>', html, re.S).group(1))
    assert "eligible" in errors and errors["immediate_danger"] == ["Say whether the person is in immediate danger."]
    assert json.loads(re.search(r'id="form-data">(.*?)</script>', html, re.S).group(1)) == {"eligible": "perhaps"}
    assert client.get(f"/api/tasks/{task['id']}", headers=token_for("caseworker1")).get_json()["state"] == "ready"


def test_a_valid_submit_completes_the_task_and_returns_to_the_inbox(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    user = sign_in(app, "caseworker1")
    token = page_token(user, f"/tasks/{task['id']}")
    resp = user.post(f"/tasks/{task['id']}", data={
        "csrf_token": token, "data_json": json.dumps({"eligible": False, "immediate_danger": False})})
    assert resp.status_code == 302
    page = user.get(resp.location).get_data(as_text=True)
    assert f"Done: “Screen the referral” for {code}." in page
    assert client.get(f"/api/tasks/{task['id']}", headers=token_for("caseworker1")).get_json()["state"] == "completed"
    again = user.post(f"/tasks/{task['id']}", data={"csrf_token": token, "data_json": "{}"}, follow_redirects=True)
    assert "Not saved: this task is already completed." in again.get_data(as_text=True)


def test_answers_that_are_not_json_are_refused_without_a_500(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    user = sign_in(app, "caseworker1")
    resp = user.post(f"/tasks/{task['id']}", data={"csrf_token": page_token(user), "data_json": "[1, 2"})
    assert resp.status_code == 400
    assert "could not be read" in resp.get_data(as_text=True)


def test_a_task_not_offered_to_me_is_a_403_page_and_an_unknown_one_a_404_page(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    resp = sign_in(app, "committee1").get(f"/tasks/{task['id']}")
    assert resp.status_code == 403 and "Not allowed" in resp.get_data(as_text=True)
    resp = sign_in(app, "caseworker1").get("/tasks/no-such-task")
    assert resp.status_code == 404 and "<h1>Not found</h1>" in resp.get_data(as_text=True)


def test_pages_need_a_session(client):
    resp = client.get("/tasks/anything")
    assert resp.status_code == 302 and "/login" in resp.location
