"""The forms and task titles in the reader's language: an Arabic user's task page, inbox and
API answers carry the Arabic words of the workflows; field names and values stay; everyone
else (and any program that only sends Accept-Language) keeps the English of the files."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from engine.models import User
from tests.webui.test_pages_support import refer, schema_on, sign_in, task_of

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SCREENING_FORM_AR = "فرز الإحالة"  # the form's title (and the task's): "Screen the referral"
ELIGIBLE_AR = "مؤهل لإدارة الحالة"  # "Eligible for case management"


def _speaks_arabic(app, username: str) -> None:
    ctx = app.extensions["engine_ctx"]
    with ctx.session_factory() as session:
        session.execute(update(User).where(User.username == username).values(locale="ar"))
        session.commit()


def test_an_arabic_users_task_page_shows_the_form_and_the_task_in_arabic(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    _speaks_arabic(app, "caseworker1")
    html = sign_in(app, "caseworker1").get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(rf'<h2 id="form-heading">{SCREENING_FORM_AR}</h2>', html)
    assert re.search(rf"<h1>{SCREENING_FORM_AR}</h1>", html)
    assert re.search(r"<dt>رمز الحالة</dt>", html)  # the fields the system fills in, by their Arabic titles
    schema = schema_on(html)
    assert schema["properties"]["eligible"]["title"] == ELIGIBLE_AR
    assert {"eligible", "immediate_danger"} <= set(schema["properties"])  # the names the data is saved by
    assert "Screen the referral" not in html
    assert "مؤتمر الحالة للقبول" in html and "Admission case conference" not in html  # what happens next
    english = sign_in(app, "caseworker2").get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(r'<h2 id="form-heading">Screen the referral</h2>', english)
    assert schema_on(english)["properties"]["eligible"]["title"] == "Eligible for case management"
    assert "Admission case conference" in english


def test_an_arabic_users_inbox_lists_the_task_titles_in_arabic(app, client, token_for):
    code = refer(client, token_for)
    _speaks_arabic(app, "caseworker1")
    html = sign_in(app, "caseworker1").get("/?scope=claimable").get_data(as_text=True)
    assert code in html and SCREENING_FORM_AR in html and "Screen the referral" not in html
    assert "إدارة الحالات" in html and "Case management" not in html  # the process's name, in the row
    assert "Screen the referral" in sign_in(app, "caseworker2").get("/?scope=claimable").get_data(as_text=True)


def test_the_api_answers_in_english_unless_the_user_chose_arabic(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    plain = client.get(f"/api/tasks/{task['id']}", headers={**token_for("caseworker1"), "Accept-Language": "ar"})
    assert plain.get_json()["title"] == "Screen the referral"  # a program's header changes nothing
    assert plain.get_json()["form"]["properties"]["eligible"]["title"] == "Eligible for case management"
    _speaks_arabic(app, "caseworker1")
    body = client.get(f"/api/tasks/{task['id']}", headers=token_for("caseworker1")).get_json()
    assert body["title"] == SCREENING_FORM_AR and body["name"] == "screening"
    assert body["form"]["properties"]["eligible"]["title"] == ELIGIBLE_AR
    assert body["form"]["properties"].keys() == plain.get_json()["form"]["properties"].keys()
    assert body["form"]["required"] == plain.get_json()["form"]["required"]
    listed = task_of(client, token_for("caseworker1"), code)
    assert listed["title"] == SCREENING_FORM_AR
    done = client.post(f"/api/tasks/{task['id']}/complete", headers=token_for("caseworker1"),
                       json={"data": {"eligible": False, "immediate_danger": False}})
    assert done.status_code == 200, done.get_json()  # the answers are the same whatever the language


def test_the_process_owners_page_says_how_complete_each_language_is(app):
    html = sign_in(app, "processowner1").get("/models").get_data(as_text=True)
    section = html.split('id="languages-heading"')[1].split("</section>")[0]
    assert "العربية" in section and "(100%)" in section
