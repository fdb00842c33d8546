"""Path tests of complaints (R28): recorded by any staff member, acknowledged, investigated
by someone not involved, answered in writing within 15 days (DMN ``complaint_timeframes``),
escalated to the director when late; confidential and audited. They drive the real
``complaint`` diagram with a frozen clock."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpmn.operations import OperationContext
from engine.complaints import handling
from engine.complaints import operations as complaint_operations
from engine.errors import Conflict, Forbidden, NotFound
from engine.models import AuditEvent, HumanTask, ProcessInstance, Timer
from engine.models.complaints import Complaint
from engine.process import instances
from tests.workflows.case_driver import DAY, SQLITE_ONLY, CaseDriver, open_case

ABOUT_CASEWORKER = {"complainant_kind": "caregiver", "complainant_name": "Mother of the child",
                    "staff_member": "caseworker1", "summary": "missed three visits and did not call back"}


def complaint_tasks(d, bpmn_id=None, state="ready") -> list[HumanTask]:
    with d.ctx.session_factory() as s:
        query = select(HumanTask).where(HumanTask.process_id == "complaint", HumanTask.state == state)
        if bpmn_id:
            query = query.where(HumanTask.bpmn_id == bpmn_id)
        return list(s.scalars(query.order_by(HumanTask.created_at)))


def one(d, bpmn_id) -> HumanTask:
    (task,) = complaint_tasks(d, bpmn_id)
    return task


def complaint_row(d, complaint_id) -> Complaint:
    with d.ctx.session_factory() as s:
        return s.get(Complaint, complaint_id)


def test_r28_a_complaint_is_acknowledged_investigated_by_someone_not_involved_and_answered_in_writing(
        ctx, client, token_for):
    """R28: a caseworker records a caregiver's complaint about another caseworker on a case;
    that caseworker's supervisor investigates (not the person complained about); it is
    acknowledged within 2 days and answered in writing within 15 days of receipt."""
    d, code = open_case(ctx)
    resp = client.post("/api/complaints", headers=token_for("caseworker2"), json={**ABOUT_CASEWORKER,
                                                                                 "case_code": code})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["status"], body["investigator"], body["staff_member"], body["case_code"]) == (
        "received", "supervisor1", "caseworker1", code)
    assert body["answer_due_at"] == (d.now + 15 * DAY).isoformat()
    ack = one(d, "acknowledge")
    assert (d.assignee(ack), ack.due_at, ack.case_code) == ("supervisor1", d.now + 2 * DAY, None)
    d.later(DAY)
    d.complete("supervisor1", ack, {"acknowledged_how": "phone", "acknowledgement_note": "answer within 15 days"})
    answer = one(d, "investigate")
    assert (d.assignee(answer), answer.due_at) == ("supervisor1", d.now + 14 * DAY)
    d.later(5 * DAY)
    d.complete("supervisor1", answer, {"findings": "two visits missed", "upheld": "partly_upheld",
                                       "response": "an apology and a visit plan"})
    row = complaint_row(d, body["id"])
    assert (row.status, row.answered_at, d.username(row.answered_by)) == ("answered", d.now, "supervisor1")
    assert row.response == "an apology and a visit plan" and row.escalated_at is None
    with ctx.session_factory() as s:
        assert s.get(ProcessInstance, row.instance_id).status == "complete"
    assert complaint_tasks(d) == []


def test_r28_a_complaint_is_confidential_and_every_read_is_audited(ctx, client, token_for):
    """R28: the staff member complained about, other caseworkers and committee members
    cannot see it (404); the recorder, the investigator and the director can; lists never
    show the complainant; every read leaves an audit row."""
    CaseDriver(ctx)
    resp = client.post("/api/complaints", headers=token_for("caseworker2"), json=ABOUT_CASEWORKER)
    complaint_id = resp.get_json()["id"]
    for outsider in ("caseworker1", "committee1", "processowner1"):
        assert client.get(f"/api/complaints/{complaint_id}", headers=token_for(outsider)).status_code == 404
        assert client.get("/api/complaints", headers=token_for(outsider)).get_json()["complaints"] == []
    for insider in ("caseworker2", "supervisor1", "director1"):
        full = client.get(f"/api/complaints/{complaint_id}", headers=token_for(insider))
        assert full.status_code == 200 and full.get_json()["complainant_name"] == "Mother of the child"
        listed = client.get("/api/complaints", headers=token_for(insider)).get_json()["complaints"]
        assert [c["id"] for c in listed] == [complaint_id]
        assert "Mother of the child" not in str(listed)
    with ctx.session_factory() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "complaint")))
    assert actions.count("complaint_viewed") == 4 and "complaint_recorded" in actions  # 3 reads + the creation's


@SQLITE_ONLY
def test_r28_a_late_answer_is_escalated_to_the_director(ctx):
    """R28: 15 days after receipt without a written answer the director is told and takes
    it over; the director's answer closes the complaint."""
    d = CaseDriver(ctx)
    with ctx.uow() as uow:
        complaint = handling.record_complaint(uow, ctx.runtime, d.uid("caseworker2"), **ABOUT_CASEWORKER)
    d.complete("supervisor1", one(d, "acknowledge"), {"acknowledged_how": "letter"})
    d.at(complaint.received_at + 15 * DAY)
    with ctx.session_factory() as s:
        late = s.scalar(select(Timer).where(Timer.instance_id == complaint.instance_id, Timer.bpmn_id == "answer_late",
                                            Timer.state == "pending"))
        assert late.due_at == complaint.received_at + 15 * DAY
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, late.id)
    assert complaint_row(d, complaint.id).escalated_at == d.now
    escalation = one(d, "late_answer")
    assert (d.assignee(escalation), escalation.due_at) == ("director1", d.now + 2 * DAY)
    d.complete("director1", escalation, {"escalation_action": "director_answers"})
    answer = one(d, "investigate")
    assert d.assignee(answer) == "director1"
    d.complete("director1", answer, {"findings": "visits missed", "response": "new caseworker", "upheld": "upheld"})
    row = complaint_row(d, complaint.id)
    assert (row.status, d.username(row.answered_by)) == ("answered", "director1")


@SQLITE_ONLY
def test_r28_the_person_complained_about_never_investigates(ctx):
    """R28: a complaint about a supervisor goes to the director above them; about the
    service on a case, to the case's supervisor, never its caseworker; a complaint about the
    only director has nobody uninvolved to investigate it and is refused, writing nothing."""
    d, code = open_case(ctx)
    with ctx.uow() as uow:
        about_supervisor = handling.record_complaint(uow, ctx.runtime, d.uid("caseworker1"), complainant_kind="client",
                                                     staff_member="supervisor1", summary="was rude")
    with ctx.uow() as uow:
        about_case = handling.record_complaint(uow, ctx.runtime, d.uid("committee1"),
                                               complainant_kind="community_member", case_code=code,
                                               summary="the family was not helped")
    assert d.username(complaint_row(d, about_supervisor.id).investigator_id) == "director1"
    row = complaint_row(d, about_case.id)
    assert (d.username(row.investigator_id), d.username(row.case_caseworker_id)) == ("supervisor1", "caseworker1")
    with pytest.raises(Conflict), ctx.uow() as uow:
        handling.record_complaint(uow, ctx.runtime, d.uid("caseworker1"), complainant_kind="client",
                                  staff_member="director1", summary="x")
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 2


@SQLITE_ONLY
def test_r28_a_complaint_must_say_what_it_is_about(client, token_for):
    """R28: a complaint names a case or a staff member and who it comes from (422 otherwise)."""
    headers = token_for("caseworker1")
    assert client.post("/api/complaints", headers=headers,
                       json={"complainant_kind": "client", "summary": "x"}).status_code == 422
    assert client.post("/api/complaints", headers=headers,
                       json={"complainant_kind": "neighbour", "staff_member": "caseworker2",
                             "summary": "x"}).status_code == 422
    assert client.post("/api/complaints", headers=headers,
                       json={"complainant_kind": "client", "case_code": "CM-NONE-0000",
                             "summary": "x"}).status_code == 404


@SQLITE_ONLY
def test_r28_the_answer_step_refuses_the_person_complained_about_and_other_instances(ctx):
    """R28: the answer operation acts on the complaint of the instance it runs in and refuses
    the staff member complained about (403, nothing written); an instance carrying no
    complaint is refused (404)."""
    d = CaseDriver(ctx)
    with ctx.uow() as uow:
        complaint = handling.record_complaint(uow, ctx.runtime, d.uid("caseworker2"), **ABOUT_CASEWORKER)
    answer = {"findings": "none", "response": "not upheld", "upheld": "not_upheld"}
    with pytest.raises(Forbidden):
        run_operation(ctx, complaint_operations.record_answer, complaint.instance_id, d.uid("caseworker1"),
                      dict(answer))
    assert complaint_row(d, complaint.id).status == "received"
    with ctx.uow() as uow:
        other = instances.start_process(uow, ctx.runtime, "sample_intake", None, {}).id
        uow.commit()
    with pytest.raises(NotFound):
        run_operation(ctx, complaint_operations.record_answer, other, d.uid("supervisor1"), dict(answer))


def run_operation(ctx, operation, instance_id: int, actor_id: int | None, data: dict):
    """Call an operation as the engine step would, and commit what it did (a refusal must
    have done nothing)."""
    with ctx.uow() as uow:
        context = OperationContext(uow, uow.session.get(ProcessInstance, instance_id), actor_id, ctx.runtime)
        try:
            return operation(context, data)
        finally:
            uow.commit()
