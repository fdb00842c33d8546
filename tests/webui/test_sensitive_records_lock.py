"""R50: when the crisis team answers "access locked" in the BCP's records step, the system
locks that kind of record itself — the strictly confidential section and the names behind
case codes stay out of the case file, confidential notes cannot be written — until a
director unlocks them after the crisis. Driven through the deployed ``bcp_cbf5``."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine import clock
from engine.case import files, intake
from engine.models import AuditEvent, Case, ProcessInstance
from engine.models.crisis import DisruptionLogEntry, SensitiveRecordLock
from engine.people.directory import get_user
from tests.engine.crisis_support import T0, complete_step, declare, user_id
from tests.webui.test_pages_support import csrf_from, sign_in
from tests.workflows.test_bcp_sensitive_records_paths import (
    TASK,
    bcp_of,
    finish_other_resumption_steps,
    seed_sensitive_case,
)

LOCKED = {"records": [
    {"record": "confidential_section", "action": "access_locked", "where": ""},
    {"record": "confidential_notes", "action": "access_locked", "where": ""},
    {"record": "name_code_list", "action": "access_locked", "where": ""},
    {"record": "paper_files", "action": "moved", "where": "the director's safe"}],
    "protocol_followed": True}
NOTE = {"kind": "note", "text": "The child named a new safe adult", "confidential": True}


def lock_through_the_bcp(ctx, answers=LOCKED, drill: bool = False) -> int:
    seed_sensitive_case(ctx)
    clock.freeze(T0)
    crisis_id = declare(ctx, kind="natural_disaster", functions=("5.5",), description="Flood: office evacuated",
                        drill=drill)
    bcp = bcp_of(ctx, crisis_id)
    finish_other_resumption_steps(ctx, bcp, "natural_disaster")
    complete_step(ctx, "crisislead1", bcp, TASK, answers)
    return crisis_id


def audit_rows(ctx, action: str) -> list[AuditEvent]:
    with ctx.session_factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_R50_access_locked_in_the_bcp_hides_the_confidential_section_and_the_names_until_a_director_unlocks(
        app, client, token_for):
    """R50: after "access locked" the caseworker who normally reads the confidential section
    and the name sees neither (page and API say it is locked and who unlocks it), a
    confidential note is refused with a 409 while an ordinary one is written; only a
    director unlocks (others 403, nothing left 409); then all is visible again. Lock and
    unlock are audited."""
    ctx = app.extensions["engine_ctx"]
    crisis_id = lock_through_the_bcp(ctx)
    worker = token_for("caseworker1")
    (locked_row,) = audit_rows(ctx, "sensitive_records_locked")
    assert locked_row.subject_id == str(crisis_id) and locked_row.actor_id == user_id(ctx, "crisislead1")
    with ctx.session_factory() as session:
        log = list(session.scalars(select(DisruptionLogEntry.text)))
    assert any("locked in the system until a director unlocks them" in text for text in log)

    body = client.get("/api/cases/CP-SENS-1", headers=worker).get_json()
    assert body["client"] is None and not [n for n in body["notes"] if n["confidential"]]
    assert any("confidential section is locked during the emergency" in w for w in body["locked"])
    assert any("names behind case codes are locked" in w and "director" in w for w in body["locked"])
    page = sign_in(app, "caseworker1").get("/cases/CP-SENS-1").get_data(as_text=True)
    assert "Amal" not in page and "Safe house address" not in page and "uncle" not in page
    assert "The strictly confidential section is locked during the emergency. A director can unlock it after the " \
           "crisis." in page and "names behind case codes are locked" in page

    refused = client.post("/api/cases/CP-SENS-1/notes", json=NOTE, headers=worker)
    assert refused.status_code == 409 and refused.get_json()["error"] == "conflict"
    assert "locked during the emergency" in refused.get_json()["message"]
    assert client.post("/api/cases/CP-SENS-1/notes", json={**NOTE, "confidential": False},
                       headers=worker).status_code == 201

    listed = client.get(f"/api/crises/{crisis_id}/sensitive-records", headers=token_for("director1")).get_json()
    assert sorted(lock["record"] for lock in listed["locked"]) == ["confidential_notes", "confidential_section",
                                                                    "name_code_list"]
    for who in ("caseworker1", "supervisor1", "crisislead1"):
        assert client.post(f"/api/crises/{crisis_id}/sensitive-records/unlock", json={},
                           headers=token_for(who)).status_code == 403
    director = token_for("director1")
    assert client.post(f"/api/crises/{crisis_id}/sensitive-records/unlock", json={"records": ["paper_files"]},
                       headers=director).status_code == 422
    assert client.post(f"/api/crises/{crisis_id}/sensitive-records/unlock", json={"records": "all"},
                       headers=director).status_code == 422
    assert client.post(f"/api/crises/{crisis_id}/sensitive-records/unlock", data="{",
                       content_type="application/json", headers=director).status_code == 400
    assert client.post("/api/crises/999999/sensitive-records/unlock", json={}, headers=director).status_code == 404
    board = sign_in(app, "director1")
    html = board.get(f"/crisis/{crisis_id}").get_data(as_text=True)
    assert "Unlock the sensitive records" in html and "the list linking case codes to names" in html.lower()
    assert "Unlock the sensitive records" not in sign_in(app, "crisislead1").get(f"/crisis/{crisis_id}").get_data(
        as_text=True)
    lifted = board.post(f"/crisis/{crisis_id}/sensitive-records/unlock", data={"csrf_token": csrf_from(html)})
    assert lifted.status_code == 302
    again = client.post(f"/api/crises/{crisis_id}/sensitive-records/unlock", json={}, headers=director)
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"
    (unlocked_row,) = audit_rows(ctx, "sensitive_records_unlocked")
    assert sorted(json.loads(unlocked_row.detail_json)["records"]) == ["confidential_notes", "confidential_section",
                                                                       "name_code_list"]
    assert unlocked_row.actor_id == user_id(ctx, "director1") and unlocked_row.subject_id == str(crisis_id)

    body = client.get("/api/cases/CP-SENS-1", headers=worker).get_json()
    assert body["client"]["name"] == "Amal Example" and body["locked"] == []
    assert [n["text"] for n in body["notes"] if n["confidential"]] == ["Safe house address"]
    assert client.post("/api/cases/CP-SENS-1/notes", json=NOTE, headers=worker).status_code == 201


def test_R50_no_request_to_see_a_file_is_recorded_while_its_confidential_section_is_locked(app, client, token_for):
    """R50 (with R51): screening a file for its client means reading the strictly confidential
    section, so while the crisis team has it locked a request to see the file is refused (409,
    through the API as on the page) and no release starts; once a director unlocks, it is taken."""
    ctx = app.extensions["engine_ctx"]
    crisis_id = lock_through_the_bcp(ctx)
    for who in ("caseworker1", "director1"):
        refused = client.post("/api/cases/CP-SENS-1/file-requests", json={"requested_by": "client"},
                              headers=token_for(who))
        assert refused.status_code == 409, refused.get_json()
        assert refused.get_json()["locked"] == "confidential_section"
        assert "locked during the emergency" in refused.get_json()["message"]
    director = sign_in(app, "director1")
    html = director.get("/cases/CP-SENS-1").get_data(as_text=True)
    page = director.post("/cases/CP-SENS-1/file-requests", data={"csrf_token": csrf_from(html),
                                                                  "requested_by": "client"}, follow_redirects=True)
    assert "A request to see the file can be recorded once a director unlocks it" in page.get_data(as_text=True)
    with ctx.session_factory() as session:
        started = session.scalars(select(ProcessInstance.id).where(ProcessInstance.case_code == "CP-SENS-1",
                                                                   ProcessInstance.process_id == "case_file_release"))
        assert list(started) == []
    assert client.post(f"/api/crises/{crisis_id}/sensitive-records/unlock", json={},
                       headers=token_for("director1")).status_code == 200
    taken = client.post("/api/cases/CP-SENS-1/file-requests", json={"requested_by": "client"},
                        headers=token_for("caseworker1"))
    assert taken.status_code == 201 and taken.get_json()["case_code"] == "CP-SENS-1"


def test_R50_a_lock_hides_the_case_file_parts_in_the_engine_for_every_usual_reader(ctx):
    """R50: the supervisor and the director, who normally read the confidential section and
    the name, do not either while it is locked; the referral's duplicate warning names no
    case (a name would lead to its code)."""
    lock_through_the_bcp(ctx)
    for who in ("supervisor1", "director1"):
        with ctx.uow() as uow:
            record = files.get_case_file(uow, user_id(ctx, who), "CP-SENS-1")
        assert record.client is None and not record.confidential and len(record.locked) == 2
        assert not [n for n in record.notes if n.confidential]
    with ctx.session_factory() as session:
        case = session.scalar(select(Case).where(Case.code == "CP-SENS-1"))
        seen = intake._as_seen_by(session, get_user(session, user_id(ctx, "director1")), [case])
    assert [d.case_code for d in seen] == [None]


def test_R50_a_drill_answering_access_locked_locks_nothing(ctx):
    """R50: a drill changes no live record: "access locked" in a drill is recorded, the
    system locks nothing, and the log says so."""
    lock_through_the_bcp(ctx, drill=True)
    with ctx.session_factory() as session:
        assert session.scalars(select(SensitiveRecordLock)).all() == []
        log = list(session.scalars(select(DisruptionLogEntry.text)))
    assert any("Drill: nothing locked in the system" in text for text in log)
    assert audit_rows(ctx, "sensitive_records_locked") == []
