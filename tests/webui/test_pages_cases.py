"""Case pages: the list by code, a referral through the page, the case file with its
tracking fields, history, diagram position and the confidential section (R32-R34)."""
from __future__ import annotations

import re

from engine.models import AuditEvent, Case
from tests.webui.test_pages_support import DISTINCTIVE_NAME, page_token, sign_in
from tests.workflows.case_driver import CaseDriver


def _registered(app):
    driver = CaseDriver(app.extensions["engine_ctx"])
    code = driver.refer(client={"name": DISTINCTIVE_NAME})
    driver.to_registered(code)
    return driver, code


def _secret(app, code: str, text: str) -> None:
    with app.extensions["engine_ctx"].uow() as uow:
        uow.session.query(Case).filter(Case.code == code).update({"confidential_notes": text})
        uow.commit()


def test_a_referral_through_the_page_creates_a_case_shown_by_code(app):
    user = sign_in(app, "caseworker1")
    token = page_token(user, "/cases/new")
    refused = user.post("/cases/new", data={"csrf_token": token, "source": "ngo", "name": ""})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and "is required" not in html
    assert "<strong>Primary concern</strong>: Write what the concern is." in html  # summary, in words
    assert "Choose where the referral came from." not in html  # the source was given
    resp = user.post("/cases/new", data={"csrf_token": token, "source": "ngo", "primary_concern": "alone at home",
                                         "name": DISTINCTIVE_NAME, "date_of_birth": "2015-06-01", "sex": "female"})
    assert resp.status_code == 302
    code = resp.location.rsplit("/", 1)[-1]
    assert re.fullmatch(r"CM-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    listing = user.get("/cases").get_data(as_text=True)
    assert code in listing and "Marblewhistle" not in listing


def test_R34_the_case_file_shows_tracking_history_tasks_and_where_the_case_stands(app):
    driver, code = _registered(app)
    caseworker = driver.username(driver.case(code).caseworker_id)
    html = sign_in(app, caseworker).get(f"/cases/{code}").get_data(as_text=True)
    for label in ("Primary concern", "Identified", "Intake", "Registered", "Last contact", "Next contact",
                  "Next review", "Closed", "Transferred"):
        assert f"<dt>{label}</dt>" in html
    assert "Timeline" in html and "Referral received" in html
    assert "Open tasks" in html and "Done tasks" in html
    diagram = re.search(r'<div class="diagram" data-kind="bpmn" data-src="([^"]+)"\s+data-current="([^"]*)"', html)
    assert diagram and diagram.group(2)  # the current position is marked
    xml = sign_in(app, caseworker).get(diagram.group(1))
    assert xml.status_code == 200 and diagram.group(2).split()[0] in xml.get_data(as_text=True)
    assert DISTINCTIVE_NAME in html  # the caseworker needs to know who it is


def test_the_confidential_section_is_for_the_caseworker_supervisors_and_director_only(app):
    driver, code = _registered(app)
    _secret(app, code, "Disclosed by the child in confidence")
    caseworker = driver.username(driver.case(code).caseworker_id)
    for username in (caseworker, "supervisor1", "director1"):
        html = sign_in(app, username).get(f"/cases/{code}").get_data(as_text=True)
        assert "Strictly confidential" in html and "Disclosed by the child" in html, username
    admin = sign_in(app, "admin").get(f"/cases/{code}").get_data(as_text=True)
    assert "Disclosed by the child" not in admin and DISTINCTIVE_NAME not in admin
    with app.extensions["engine_ctx"].session_factory() as session:
        audited = session.query(AuditEvent).filter(AuditEvent.action == "case_confidential_viewed",
                                                   AuditEvent.case_code == code).count()
    assert audited == 3


def test_R32_a_case_file_is_refused_to_those_who_do_not_need_to_know(app):
    _, code = _registered(app)
    resp = sign_in(app, "processowner1").get(f"/cases/{code}")
    assert resp.status_code == 403 and DISTINCTIVE_NAME not in resp.get_data(as_text=True)
    assert sign_in(app, "caseworker1").get("/cases/CM-NONE-NONE").status_code == 404
