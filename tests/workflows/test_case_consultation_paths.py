"""R49: the project director stands in when the supervisor is absent or an urgent
consultation is needed. A caseworker asks for an urgent consultation on their case; the
deployed ``case_consultation`` driven with a frozen clock: to the case's supervisor, due
within ``case_consultation_timeframes``; straight to the director when the supervisor is
absent; to the director when the supervisor has not answered in that time. The answer is
kept in the case's timeline and audited."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.case import consultation
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import AuditEvent, Case, CaseEvent, ProcessInstance
from engine.process.decision_parameters import decision_row
from engine.supervision import absence
from tests.workflows.case_driver import HOUR, CaseDriver

ABOUT = "The father came back drunk and threatened the mother; do we move the children tonight?"
ADVICE = "Move the children to the aunt tonight; call the police if he returns."
DECISION = "Emergency placement with the aunt, reviewed tomorrow morning."


def ask(d: CaseDriver, code: str, by: str = "caseworker1", about: str | None = ABOUT) -> ProcessInstance:
    with d.ctx.uow() as uow:
        return consultation.request_consultation(uow, d.ctx.runtime, d.uid(by), code, about)


def answer_hours(d: CaseDriver, code: str) -> int:
    with d.ctx.session_factory() as s:
        risk = s.scalar(select(Case.risk_level).where(Case.code == code)) or "unrated"
        return decision_row(s, "case_consultation_timeframes", risk_level=risk)["answer_within_hours"]


def events(d: CaseDriver, code: str) -> list[CaseEvent]:
    with d.ctx.session_factory() as s:
        case_id = s.scalar(select(Case.id).where(Case.code == code))
        return list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def audits(d: CaseDriver, action: str) -> list[AuditEvent]:
    with d.ctx.session_factory() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def registered(d: CaseDriver) -> str:
    code = d.refer()
    d.to_registered(code)
    return code


def absent(d: CaseDriver, username: str) -> None:
    with d.ctx.uow() as uow:
        absence.set_availability(uow, d.uid("director1"), username, False)


def consultation_instance(d: CaseDriver, code: str) -> ProcessInstance:
    (instance,) = [i for i in d.instances(code, status=None) if i.process_id == "case_consultation"]
    return instance


def test_R49_an_urgent_consultation_goes_to_the_supervisor_and_the_answer_is_kept(ctx):
    """The question is in the timeline; the supervisor's task is due within the DMN time;
    the caseworker cannot answer their own question; the advice and decision are kept in
    the timeline and audited."""
    d = CaseDriver(ctx)
    code = registered(d)
    hours = answer_hours(d, code)
    asked_at = d.now
    ask(d, code)
    task = d.task(code, "consult_supervisor")
    assert d.assignee(task) == "supervisor1" and task.due_at == asked_at + hours * HOUR
    (late,) = d.timers(code, "supervisor_late")
    assert late.due_at == asked_at + hours * HOUR
    asked = [e for e in events(d, code) if e.form == "case_consultation_request"]
    assert len(asked) == 1 and json.loads(asked[0].detail_json)["about"] == ABOUT
    with pytest.raises(Forbidden):  # the caseworker does not answer their own question
        d.complete("caseworker1", task, {"advice": "do it"})
    d.later(HOUR)
    d.do(code, "consult_supervisor", {"advice": ADVICE, "decision": DECISION})
    (answer,) = [e for e in events(d, code) if e.form == "case_consultation_answer"]
    detail = json.loads(answer.detail_json)
    assert detail == {"advice": ADVICE, "decision": DECISION, "answered_by": "supervisor"}
    assert answer.actor_id == d.uid("supervisor1")
    (audit,) = audits(d, "case_consultation_answered")
    assert audit.case_code == code and audit.actor_id == d.uid("supervisor1")
    assert json.loads(audit.detail_json) == {"answered_by": "supervisor", "escalated": False, "decision_taken": True}
    assert consultation_instance(d, code).status == "complete" and d.timers(code, "supervisor_late") == []
    assert audits(d, "case_consultation_escalated") == []


def test_R49_with_the_supervisor_absent_the_consultation_goes_straight_to_the_director(ctx):
    d = CaseDriver(ctx)
    code = registered(d)
    hours = answer_hours(d, code)
    absent(d, "supervisor1")
    asked_at = d.now
    ask(d, code)
    assert d.ready(code).count("consult_supervisor") == 0
    task = d.task(code, "consult_director")
    assert d.assignee(task) == "director1" and task.due_at == asked_at + hours * HOUR
    assert d.timers(code, "supervisor_late") == []
    assert any("the supervisor is absent" in e.summary for e in events(d, code))
    d.do(code, "consult_director", {"advice": ADVICE})
    (answer,) = [e for e in events(d, code) if e.form == "case_consultation_answer"]
    assert json.loads(answer.detail_json) == {"advice": ADVICE, "answered_by": "director"}
    (audit,) = audits(d, "case_consultation_answered")
    assert audit.actor_id == d.uid("director1") and json.loads(audit.detail_json)["answered_by"] == "director"
    assert consultation_instance(d, code).status == "complete"


def test_R49_a_consultation_the_supervisor_has_not_answered_in_time_goes_to_the_director(ctx):
    d = CaseDriver(ctx)
    code = registered(d)
    hours = answer_hours(d, code)
    asked_at = d.now
    ask(d, code)
    d.later((hours - 1) * HOUR)
    assert d.ready(code).count("consult_supervisor") == 1  # not yet: the supervisor still has an hour
    d.fire(code, "supervisor_late")
    assert d.now == asked_at + hours * HOUR
    assert d.tasks(code, "consult_supervisor") == []  # the supervisor's task is withdrawn
    task = d.task(code, "consult_director")
    assert d.assignee(task) == "director1" and task.due_at == d.now + hours * HOUR
    (escalated,) = audits(d, "case_consultation_escalated")
    assert escalated.case_code == code
    assert any("did not answer in time" in e.summary for e in events(d, code))
    d.do(code, "consult_director", {"advice": ADVICE, "decision": DECISION})
    (audit,) = audits(d, "case_consultation_answered")
    assert json.loads(audit.detail_json) == {"answered_by": "director", "escalated": True, "decision_taken": True}
    assert consultation_instance(d, code).status == "complete"


def test_R49_only_the_cases_caseworker_asks_saying_what_about_and_one_at_a_time(ctx):
    d = CaseDriver(ctx)
    code = registered(d)
    for other in ("caseworker2", "supervisor1", "committee1"):
        with pytest.raises(Forbidden):
            ask(d, code, by=other)
    with pytest.raises(Invalid):
        ask(d, code, about="   ")
    with pytest.raises(Invalid):
        ask(d, code, about="x" * (consultation.ABOUT_MAX + 1))
    assert [i for i in d.instances(code) if i.process_id == "case_consultation"] == []
    ask(d, code)
    with pytest.raises(Conflict):
        ask(d, code)
    assert len([i for i in d.instances(code) if i.process_id == "case_consultation"]) == 1
