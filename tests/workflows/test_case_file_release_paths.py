"""R51: a client may see their own case file, screened first so that the others mentioned in
it stay confidential: the deployed ``case_file_release`` driven with a frozen clock."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.case import file_release, notes
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import AuditEvent, Case, CaseEvent, ProcessInstance
from engine.process.decision_parameters import decision_row
from tests.workflows.case_driver import DAY, HOUR, CaseDriver

OTHER_CLIENT = {"name": "Yusuf Otherchild", "date_of_birth": "2013-01-10", "sex": "male"}
SHARED = "Home visit: Amina is back at school; her neighbour Mariam Haddad walks her there, Yusuf Otherchild too."
LEFT_OUT = "Call from the teacher about the older brother's court case."
CONFIDENTIAL_NOTE = "The child disclosed that the uncle hits her."
CONFIDENTIAL_SECTION = "Safe house address: 12 Olive Street."


def registered_case_with_notes(d: CaseDriver) -> tuple[str, str]:
    """A registered case whose file names another client and a neighbour, holds a note to
    leave out and a strictly confidential section; and the date of the note to leave out."""
    d.refer(client=OTHER_CLIENT)
    code = d.refer()
    d.to_registered(code)
    with d.ctx.uow() as uow:
        notes.add_case_note(uow, d.uid("caseworker1"), code, kind="note", text=SHARED)
    d.later(DAY)
    with d.ctx.uow() as uow:
        notes.add_case_note(uow, d.uid("caseworker1"), code, kind="note", text=LEFT_OUT)
    left_out_on = d.now.date().isoformat()
    d.later(DAY)
    with d.ctx.uow() as uow:
        notes.add_case_note(uow, d.uid("caseworker1"), code, kind="note", text=CONFIDENTIAL_NOTE, confidential=True)
    with d.ctx.uow() as uow:
        uow.session.scalar(select(Case).where(Case.code == code)).confidential_notes = CONFIDENTIAL_SECTION
        uow.commit()
    return code, left_out_on


def ask(d: CaseDriver, code: str, by: str = "caseworker1", requested_by: str = "client") -> ProcessInstance:
    with d.ctx.uow() as uow:
        return file_release.request_file_release(uow, d.ctx.runtime, d.uid(by), code, requested_by)


def timeframes(d: CaseDriver, requested_by: str = "client") -> dict:
    with d.ctx.session_factory() as s:
        return decision_row(s, "case_file_release_timeframes", requested_by=requested_by)


def screening_events(d: CaseDriver, code: str) -> list[CaseEvent]:
    with d.ctx.session_factory() as s:
        case_id = s.scalar(select(Case.id).where(Case.code == code))
        return list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                      CaseEvent.form == "case_file_screening")))


def audits(d: CaseDriver, action: str) -> list[AuditEvent]:
    with d.ctx.session_factory() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_R51_a_client_sees_their_file_screened_with_others_kept_confidential(ctx):
    """R51 (001 §2.5.2): the caseworker records the request, the supervisor screens the file
    and releases it, each when case_file_release_timeframes says; the screened copy leaves
    out the strictly confidential section and the note the supervisor left out, blacks out
    the neighbour the supervisor named and the other client the system knows, and does not
    name the client; the release is audited."""
    d = CaseDriver(ctx)
    code, left_out_on = registered_case_with_notes(d)
    days = timeframes(d)
    asked_at = d.now
    ask(d, code)
    request = d.task(code, "file_request")
    assert d.assignee(request) == "caseworker1" and request.due_at == asked_at + days["record_request_days"] * DAY
    d.later(HOUR)
    d.do(code, "file_request", {"requested_on": asked_at.date().isoformat(), "how_to_share": "read_together"})
    screening = d.task(code, "screen_file")
    assert d.assignee(screening) == "supervisor1"
    assert screening.due_at == d.now + days["screen_within_days"] * DAY
    with pytest.raises(Forbidden):  # the caseworker does not screen their own file
        d.complete("caseworker1", screening, {"decision": "release"})

    d.do(code, "screen_file", {"decision": "release", "withheld_names": ["Mariam Haddad"],
                               "withheld_note_dates": [left_out_on]})
    (event,) = screening_events(d, code)
    copy = json.loads(event.detail_json)["screened_copy"]
    text = json.dumps(copy, ensure_ascii=False)
    assert copy["case_code"] == code and [n["text"] for n in copy["notes"]] == [
        "Home visit: Amina is back at school; her neighbour [withheld] walks her there, [withheld] too."]
    for secret in ("Mariam", "Haddad", "Yusuf", "Otherchild", "uncle", "Olive Street", "court case",
                   "Amina Example"):
        assert secret not in text, secret
    (audit,) = audits(d, "case_file_released")
    detail = json.loads(audit.detail_json)
    assert audit.actor_id == d.uid("supervisor1") and audit.case_code == code
    assert detail["released_to"] == "client" and detail["notes_left_out"] == 1 and detail["names_withheld"] == 2
    (instance,) = [i for i in d.instances(code, status=None) if i.process_id == "case_file_release"]
    assert instance.status == "complete"


def test_R51_a_refusal_carries_its_reason_and_releases_nothing(ctx):
    """R51: the supervisor may refuse (sharing would put someone at risk), never without a
    reason: without one the screening is refused (422) and stays open; the reason is kept
    in the case file and the audit trail, and no copy is produced."""
    d = CaseDriver(ctx)
    code, _ = registered_case_with_notes(d)
    ask(d, code, requested_by="caregiver")
    d.do(code, "file_request", {"requested_on": d.now.date().isoformat(), "how_to_share": "copy_given"})
    task = d.task(code, "screen_file")
    with pytest.raises(Invalid) as refused:
        d.do(code, "screen_file", {"decision": "refuse"})
    assert "refusal_reason" in refused.value.errors and d.task(code, "screen_file").id == task.id
    reason = "The caregiver is the person the child disclosed about: sharing would put her at risk."
    d.do(code, "screen_file", {"decision": "refuse", "refusal_reason": reason})
    (event,) = screening_events(d, code)
    assert json.loads(event.detail_json)["refusal_reason"] == reason and "screened_copy" not in event.detail_json
    (audit,) = audits(d, "case_file_release_refused")
    assert json.loads(audit.detail_json)["reason"] == reason and audit.actor_id == d.uid("supervisor1")
    assert audits(d, "case_file_released") == [] and d.ready(code).count("screen_file") == 0


def test_R51_only_the_cases_own_people_record_a_request_one_at_a_time(ctx):
    """R51 with R32: a caseworker not on the case cannot start a release of its file; a
    second request while one is being handled is refused."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    with pytest.raises(Forbidden):
        ask(d, code, by="caseworker2")
    with pytest.raises(Invalid):
        ask(d, code, requested_by="neighbour")
    ask(d, code, by="supervisor1")
    with pytest.raises(Conflict):
        ask(d, code)
    assert d.ready(code).count("file_request") == 1


def test_R51_the_api_starts_a_request_for_the_cases_caseworker_only(app, client, token_for):
    """R51: POST /api/cases/<code>/file-requests starts the release for the case's caseworker
    (201, the file_request task is theirs); another caseworker is refused (403)."""
    ctx = app.extensions["engine_ctx"]
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    url = f"/api/cases/{code}/file-requests"
    assert client.post(url, json={"requested_by": "client"}, headers=token_for("caseworker2")).status_code == 403
    assert client.post(url, json={"requested_by": "someone"}, headers=token_for("caseworker1")).status_code == 422
    resp = client.post(url, json={"requested_by": "client"}, headers=token_for("caseworker1"))
    assert resp.status_code == 201 and resp.get_json()["case_code"] == code
    assert d.assignee(d.task(code, "file_request")) == "caseworker1"
