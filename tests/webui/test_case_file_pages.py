"""The case file as a working file, through the pages (issue 13): a contact or a note added
from the file at any time, the printable summary with its R33 header, a likely duplicate
warned on the referral form and a resent form making no second case, a supervisor's
list of their team's referrals, any open task reassigned by choosing a person, and the
notifications page (unread first, mark as read)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from engine.models import Case, CaseNote, HumanTask
from engine.service_ops import notifications
from tests.webui.test_pages_support import DISTINCTIVE_NAME, csrf_from, page_token, sign_in
from tests.workflows.case_driver import DAY, CaseDriver


def _registered(app) -> tuple[CaseDriver, str]:
    driver = CaseDriver(app.extensions["engine_ctx"])
    code = driver.refer(client={"name": DISTINCTIVE_NAME, "date_of_birth": "2013-04-05"})
    driver.to_registered(code)
    return driver, code


def _count(app, model) -> int:
    with app.extensions["engine_ctx"].session_factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


# -- contacts and notes --------------------------------------------------------------------------
def test_R33_a_contact_added_from_the_case_file_is_shown_with_its_header_and_the_words_escaped(app):
    driver, code = _registered(app)
    user = sign_in(app, "caseworker1")
    html = user.get(f"/cases/{code}").get_data(as_text=True)
    assert "Add a contact or note" in html and "0 of 8,000 characters" in html
    assert 'maxlength="8000"' not in html  # a pasted long text is never cut without a word
    words = 'The child said: "<b>I want school</b>"'
    resp = user.post(f"/cases/{code}/notes", follow_redirects=True, data={
        "csrf_token": csrf_from(html), "kind": "contact", "contact_type": "direct", "contact_method": "home_visit",
        "contact_at": (driver.now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "text": words})
    shown = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Your contact is in the case file." in shown
    assert "&#34;&lt;b&gt;I want school&lt;/b&gt;&#34;" in shown or "&quot;&lt;b&gt;I want school" in shown
    assert "<b>I want school</b>" not in shown
    note = shown.split('class="note"')[1]
    assert "Direct" in note and "Home visit" in note and f"case {code}" in note and "caseworker caseworker1" in note
    assert "supervisor supervisor1" in note


def test_a_note_over_the_limit_is_refused_kept_whole_and_counted(app):
    _, code = _registered(app)
    user = sign_in(app, "caseworker1")
    text = "word " * 1700  # 8,500 characters
    resp = user.post(f"/cases/{code}/notes", data={"csrf_token": page_token(user, f"/cases/{code}"), "kind": "note",
                                                   "text": text})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Shorten the note to 8,000 characters or fewer (it has 8,500)" in html
    assert text in html and 'class="char-count over"' in html and "8,500 of 8,000 characters" in html
    assert _count(app, CaseNote) == 0


def test_a_contact_without_how_or_when_is_refused_on_its_field_in_words(app):
    _, code = _registered(app)
    user = sign_in(app, "caseworker1")
    resp = user.post(f"/cases/{code}/notes", data={"csrf_token": page_token(user, f"/cases/{code}"),
                                                   "kind": "contact", "contact_at": "", "text": "Phoned"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "The note was not added" in html
    for words in ("Choose whether the contact was direct or indirect", "Choose how the contact was made",
                  "Say when the contact happened"):
        assert words in html
    assert 'aria-invalid="true"' in html and ">Phoned</textarea>" in html  # what was written is kept
    assert _count(app, CaseNote) == 0


def test_a_confidential_entry_goes_to_the_confidential_section_and_not_to_a_committee_member(app):
    driver, code = _registered(app)
    user = sign_in(app, "caseworker1")
    resp = user.post(f"/cases/{code}/notes", follow_redirects=True, data={
        "csrf_token": page_token(user, f"/cases/{code}"), "kind": "note", "text": "Told us in confidence",
        "confidential": "yes"})
    html = resp.get_data(as_text=True)
    assert "Your note is in the strictly confidential section." in html
    secret = html.split('id="confidential-heading"')[1]
    assert "Told us in confidence" in secret
    assert "Told us in confidence" not in html.split('id="notes-heading"')[1].split('id="position-heading"')[0]
    other = sign_in(app, "caseworker2")
    assert other.get(f"/cases/{code}").status_code == 403
    assert other.post(f"/cases/{code}/notes", data={"csrf_token": page_token(other, "/cases"), "kind": "note",
                                                    "text": "x"}).status_code == 403


def test_R33_the_printable_summary_carries_date_code_status_caseworker_and_supervisor(app):
    driver, code = _registered(app)
    html = sign_in(app, "supervisor1").get(f"/cases/{code}/summary").get_data(as_text=True)
    header = html.split('class="facts r33-header"')[1].split("</dl>")[0]
    for label, value in (("Date", driver.now.strftime("%d %b %Y")), ("Case code", code), ("Caseworker", "caseworker1"),
                         ("Supervisor", "supervisor1"), ("Status", "Open")):
        assert f"<dt>{label}</dt>" in header and value in header, label
    assert DISTINCTIVE_NAME not in html  # a printed page never carries the identity
    assert sign_in(app, "caseworker2").get(f"/cases/{code}/summary").status_code == 403


# -- likely duplicates and a resent form ----------------------------------------------------------
def _referral(token: str, form_token: str, **extra) -> dict:
    return {"csrf_token": token, "form_token": form_token, "source": "ngo", "primary_concern": "alone at home",
            "name": "quintessa  MARBLEWHISTLE", "date_of_birth": "2013-04-05", **extra}


def test_a_likely_duplicate_is_warned_on_the_form_without_a_name_and_the_referrer_links_it(app):
    _, code = _registered(app)  # caseworker1's case
    user = sign_in(app, "caseworker1")
    form = user.get("/cases/new").get_data(as_text=True)
    form_token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    warned = user.post("/cases/new", data=_referral(csrf_from(form), form_token))
    html = warned.get_data(as_text=True)
    assert warned.status_code == 200 and "This person may already have an open case" in html
    assert f"Add this referral to case {code}" in html and "Record it as a new case anyway" in html
    assert _count(app, Case) == 1
    linked = user.post("/cases/new", data=_referral(csrf_from(html), form_token, link_to=code))
    assert linked.status_code == 302 and linked.location.endswith(f"/cases/{code}")
    again = user.post("/cases/new", data=_referral(csrf_from(html), form_token, link_to=code), follow_redirects=True)
    assert "This form was sent before" in again.get_data(as_text=True) and _count(app, Case) == 1


def test_R32_a_referrer_who_may_not_see_the_matching_case_is_warned_without_its_code(app):
    _, code = _registered(app)
    user = sign_in(app, "caseworker2")
    warned = user.post("/cases/new", data=_referral(page_token(user, "/cases/new"), "t-2")).get_data(as_text=True)
    assert "A case you cannot see already matches" in warned
    assert code not in warned and "Add this referral to case" not in warned
    made = user.post("/cases/new", data=_referral(csrf_from(warned), "t-2", choice="new"))
    assert made.status_code == 302 and _count(app, Case) == 2
    resent = user.post("/cases/new", data=_referral(csrf_from(warned), "t-2", choice="new"))
    assert resent.location == made.location and _count(app, Case) == 2  # back and resubmit: still one case


def test_a_resubmitted_referral_form_never_creates_a_second_case(app):
    user = sign_in(app, "caseworker1")
    form = user.get("/cases/new").get_data(as_text=True)
    data = {**_referral(csrf_from(form), re.search(r'name="form_token" value="([^"]+)"', form).group(1)),
            "name": "Someone Entirely New"}
    first = user.post("/cases/new", data=data)
    second = user.post("/cases/new", data=data, follow_redirects=True)
    assert first.status_code == 302 and _count(app, Case) == 1
    assert "Nothing new was recorded" in second.get_data(as_text=True)


# -- a client asks to see their file (R51) ----------------------------------------------------------
FILE_REQUEST_FORM = "/file-requests\" class=\"file-request\""


def _file_requests(driver: CaseDriver, code: str) -> list[HumanTask]:
    return driver.tasks(code, "file_request")


@pytest.mark.parametrize("username", ["caseworker1", "supervisor1", "director1"])
def test_R51_the_cases_own_people_record_from_the_case_file_that_the_client_asked_to_see_it(app, username):
    driver, code = _registered(app)
    user = sign_in(app, username)
    html = user.get(f"/cases/{code}").get_data(as_text=True)
    assert FILE_REQUEST_FORM in html and "Record the request to see the file" in html
    resp = user.post(f"/cases/{code}/file-requests", follow_redirects=True,
                     data={"csrf_token": csrf_from(html), "requested_by": "caregiver"})
    shown = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "The request to see the case file is recorded." in shown
    (task,) = _file_requests(driver, code)
    assert driver.assignee(task) == "caseworker1"
    inbox = sign_in(app, "caseworker1").get("/").get_data(as_text=True)
    assert task.id in inbox and "Record when and how the client wants to see their case file" in inbox


@pytest.mark.parametrize("username", ["caseworker2", "committee1", "admin"])
def test_R51_others_get_no_file_request_button_and_are_refused(app, username):
    driver, code = _registered(app)
    user = sign_in(app, username)
    page = user.get(f"/cases/{code}")
    assert FILE_REQUEST_FORM not in page.get_data(as_text=True)
    resp = user.post(f"/cases/{code}/file-requests", data={"csrf_token": page_token(user), "requested_by": "client"})
    assert resp.status_code == 403
    assert _file_requests(driver, code) == []


def test_R51_a_second_request_while_one_is_open_is_refused_in_words(app):
    driver, code = _registered(app)
    user = sign_in(app, "caseworker1")
    token = page_token(user, f"/cases/{code}")
    user.post(f"/cases/{code}/file-requests", data={"csrf_token": token, "requested_by": "client"})
    resp = user.post(f"/cases/{code}/file-requests", follow_redirects=True,
                     data={"csrf_token": token, "requested_by": "client"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "A request to see this case file is already being handled." in html
    assert len(_file_requests(driver, code)) == 1
    unsaid = user.post(f"/cases/{code}/file-requests", follow_redirects=True, data={"csrf_token": token})
    assert "Say who asks to see the file" in unsaid.get_data(as_text=True)


# -- an urgent consultation (R49) ------------------------------------------------------------------
CONSULTATION_FORM = "/consultations\" class=\"consultation\""


def test_R49_the_caseworker_asks_for_an_urgent_consultation_from_the_case_file(app):
    driver, code = _registered(app)
    user = sign_in(app, "caseworker1")
    html = user.get(f"/cases/{code}").get_data(as_text=True)
    assert CONSULTATION_FORM in html and "Ask for an urgent consultation" in html
    resp = user.post(f"/cases/{code}/consultations", follow_redirects=True,
                     data={"csrf_token": csrf_from(html), "about": "The father threatened the mother tonight."})
    shown = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Your request for an urgent consultation is sent." in shown
    (task,) = driver.tasks(code, "consult_supervisor")
    assert driver.assignee(task) == "supervisor1"
    inbox = sign_in(app, "supervisor1").get("/").get_data(as_text=True)
    assert task.id in inbox and "Urgent consultation: the caseworker asks for your advice on this case" in inbox
    again = user.post(f"/cases/{code}/consultations", follow_redirects=True,
                      data={"csrf_token": csrf_from(html), "about": "And another thing."})
    assert "An urgent consultation on this case is already waiting for its answer." in again.get_data(as_text=True)
    assert len(driver.tasks(code, "consult_supervisor")) == 1


def test_R49_a_consultation_without_its_subject_is_refused_on_its_field(app):
    driver, code = _registered(app)
    user = sign_in(app, "caseworker1")
    resp = user.post(f"/cases/{code}/consultations", data={"csrf_token": page_token(user, f"/cases/{code}"),
                                                           "about": "  "})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "The consultation was not asked" in html
    assert "Say what the consultation is about." in html and 'aria-invalid="true"' in html
    assert driver.tasks(code, "consult_supervisor") == []


@pytest.mark.parametrize("username", ["supervisor1", "director1", "caseworker2", "committee1"])
def test_R49_only_the_cases_caseworker_gets_the_consultation_form(app, username):
    driver, code = _registered(app)
    user = sign_in(app, username)
    assert CONSULTATION_FORM not in user.get(f"/cases/{code}").get_data(as_text=True)
    resp = user.post(f"/cases/{code}/consultations", data={"csrf_token": page_token(user), "about": "Help"})
    assert resp.status_code == 403
    assert driver.tasks(code, "consult_supervisor") == [] and driver.tasks(code, "consult_director") == []


# -- supervisors -----------------------------------------------------------------------------------
def test_a_supervisors_case_list_has_the_teams_unassigned_and_screening_referrals(app):
    driver = CaseDriver(app.extensions["engine_ctx"])
    waiting = driver.refer(by="caseworker2")
    screened = driver.refer(by="caseworker2")
    driver.screen(screened, by="caseworker2")
    listing = sign_in(app, "supervisor1").get("/cases").get_data(as_text=True)
    assert waiting in listing and screened in listing
    assert "not assigned" in listing


def test_a_supervisor_reassigns_a_task_due_in_weeks_by_choosing_a_person(app):
    driver, code = _registered(app)
    task = driver.task(code, "initial_assessment")
    with app.extensions["engine_ctx"].uow() as uow:  # falls due in a month: not in this week's list
        uow.session.get(HumanTask, task.id).due_at = driver.now + 30 * DAY
        uow.commit()
    user = sign_in(app, "supervisor1")
    html = user.get("/dashboard").get_data(as_text=True)
    assert task.id not in html.split('id="week-heading"')[1].split("</section>")[0]
    every = html.split('id="all-tasks-heading"')[1].split("</section>")[0]
    options = re.search(rf'<select id="assignee-all-tasks-{task.id}" name="assignee">(.*?)</select>', every,
                        flags=re.S).group(1)
    assert '<option value="caseworker2">caseworker2</option>' in options and "caseworker1" not in options
    resp = user.post(f"/dashboard/tasks/{task.id}/reassign", follow_redirects=True,
                     data={"csrf_token": csrf_from(html), "assignee": "caseworker2", "anchor": "all-tasks"})
    assert "now lies with caseworker2" in resp.get_data(as_text=True)
    assert driver.assignee(driver.task(code, "initial_assessment")) == "caseworker2"
    case_page = user.get(f"/cases/{code}").get_data(as_text=True)
    assert f'id="assignee-{task.id}"' in case_page  # and from the case file
    handover = case_page.split('id="handover-heading"')[1].split("</select>")[0]  # a whole case, from a list
    assert '<option value="caseworker2">caseworker2</option>' in handover and "caseworker1" not in handover


def test_the_dashboard_offers_cases_to_hand_over_from_a_list(app):
    _, code = _registered(app)
    html = sign_in(app, "supervisor1").get("/dashboard").get_data(as_text=True)
    chooser = html.split('id="handover-case"')[1].split("</select>")[0]
    assert f'<option value="{code}">{code} · caseworker1</option>' in chooser


# -- notifications ---------------------------------------------------------------------------------
def _notify(app, username: str, subject: str, link: str | None = None) -> None:
    ctx = app.extensions["engine_ctx"]
    driver = CaseDriver(ctx)
    with ctx.uow() as uow:
        notifications.notify_in_app(uow, [driver.uid(username)], "test", subject, link=link)
        uow.commit()


def test_the_notifications_page_shows_unread_first_and_marks_them_read(app):
    _notify(app, "committee2", "Older one", link="/committee")
    _notify(app, "committee2", "Newer one")
    user = sign_in(app, "committee2")
    html = user.get("/notifications").get_data(as_text=True)
    assert "2 unread of 2" in html and html.index("Newer one") < html.index("Older one")
    ids = dict((subject, number) for number, subject in
               re.findall(r'id="notification-(\d+)" class="notification unread">.*?<strong>([^<]+)</strong>', html,
                          flags=re.S))
    newer, older = ids["Newer one"], ids["Older one"]
    user.post(f"/notifications/{newer}/read", data={"csrf_token": csrf_from(html)})
    html = user.get("/notifications").get_data(as_text=True)
    assert "1 unread of 2" in html and html.index("Older one") < html.index("Newer one")  # unread first
    opened = user.post(f"/notifications/{older}/read", data={"csrf_token": csrf_from(html), "open": "1"})
    assert opened.status_code == 302 and opened.location.endswith("/committee")
    assert user.post("/notifications/999999/read", data={"csrf_token": csrf_from(html)}).status_code == 404
    done = user.post("/notifications/read-all", data={"csrf_token": csrf_from(html)}, follow_redirects=True)
    assert "Nothing was unread." in done.get_data(as_text=True)
    other = sign_in(app, "caseworker1").get("/notifications").get_data(as_text=True)
    assert "Newer one" not in other


def test_a_new_tasks_notification_says_when_it_falls_due_in_words(app):
    driver, code = _registered(app)
    due = driver.task(code, "initial_assessment").due_at
    html = sign_in(app, "caseworker1").get("/notifications").get_data(as_text=True)
    assert f"Due {due.strftime('%d %b %Y %H:%M')} UTC." in html
    assert f"Due {due.isoformat(timespec='minutes')}" not in html
