"""Recording a complaint and reading complaints (R28): use cases, each committing its own
unit of work; every read is audited, and lists name no complainant.

Any staff member records a complaint from a client, a caregiver or a member of the
community, about the service on a case or about a staff member. Recording chooses the
investigator and the director (``engine.complaints.parties``) and starts the ``complaint``
diagram, which has it acknowledged, investigated and answered in writing within the days
of DMN ``complaint_timeframes``, and escalated to the director when the answer is late.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.complaints import parties
from engine.errors import Forbidden, Invalid, NotFound, message
from engine.models import Case, Timer, TimerState, User
from engine.models.complaints import ComplainantKind, Complaint, ComplaintStatus, ComplaintSubject
from engine.people.directory import get_user, user_named, usernames
from engine.process import instances

COMPLAINT_PROCESS = "complaint"
MAX_SUMMARY = 8000
MAX_NAME = 200
MAX_PAGE = 100


@dataclass(frozen=True)
class ComplaintLine:
    """A line of a complaint list: no complainant, no text."""
    id: int
    status: str
    complainant_kind: str
    subject_kind: str
    case_code: str | None
    staff_member: str | None
    investigator: str | None
    received_at: dt.datetime
    answer_due_at: dt.datetime | None
    answered_at: dt.datetime | None
    escalated: bool


@dataclass(frozen=True)
class ComplaintRecord(ComplaintLine):
    """One complaint in full, for those who may see it."""
    complainant_name: str
    complainant_contact: str
    summary: str
    recorded_by: str | None
    acknowledged_at: dt.datetime | None
    acknowledgement: str
    findings: str
    response: str
    answered_by: str | None
    escalation_note: str


def _text(value: str | None, field: str, most: int, required: bool = False) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None or len(text) > most or (required and not text):
        least = 1 if required else 0
        raise Invalid(message("%(field)s must be %(least)s to %(most)s characters", field=field, least=least,
                              most=most),
                      errors={field: [message("%(least)s to %(most)s characters", least=least, most=most)]})
    return text


def record_complaint(uow, runtime: ProcessRuntime, actor_id: int, *, complainant_kind: str, summary: str,
                     case_code: str | None = None, staff_member: str | None = None, complainant_name: str = "",
                     complainant_contact: str = "") -> Complaint:
    """Any staff member records a complaint; it goes to someone not involved. Commits."""
    session = uow.session
    actor = require_staff(session, actor_id)
    if complainant_kind not in ComplainantKind.values():
        raise Invalid(message("%(value)s is not who a complaint comes from", value=repr(complainant_kind)),
                      errors={"complainant_kind": list(ComplainantKind.values())})
    summary = _text(summary, "summary", MAX_SUMMARY, required=True)
    name = _text(complainant_name, "complainant_name", MAX_NAME)
    contact = _text(complainant_contact, "complainant_contact", MAX_NAME)
    case = None
    if case_code:
        case = session.scalar(select(Case).where(Case.code == case_code))
        if case is None:
            raise NotFound(message("no case %(code)s", code=case_code))
    staff: User | None = None
    if staff_member:
        staff = user_named(session, staff_member)
        if staff is None:
            raise Invalid(message("%(value)s is no active staff member", value=repr(staff_member)),
                          errors={"staff_member": ["unknown"]})
    if case is None and staff is None:
        raise Invalid("say what the complaint is about: a case, a staff member or both",
                      errors={"case_code": ["give a case code or a staff member"]})
    complaint = Complaint(complainant_kind=complainant_kind, complainant_name=name, complainant_contact=contact,
                          subject_kind=ComplaintSubject.STAFF_MEMBER if staff else ComplaintSubject.CASE,
                          case_id=case.id if case else None, case_caseworker_id=case.caseworker_id if case else None,
                          staff_member_id=staff.id if staff else None, summary=summary,
                          status=ComplaintStatus.RECEIVED, recorded_by=actor.id, received_at=clock.now())
    involved = parties.involved_ids(complaint)
    subject_person = staff.id if staff else (case.caseworker_id or case.supervisor_id if case else None)
    investigator = parties.choose_investigator(session, subject_person, involved)
    director = parties.choose_director(session, involved)
    complaint.investigator_id, complaint.director_id = investigator.id, director.id
    session.add(complaint)
    session.flush()
    instance = instances.start_process(uow, runtime, COMPLAINT_PROCESS, actor.id, {
        "subject_kind": complaint.subject_kind, "investigator": investigator.username, "director": director.username})
    complaint.instance_id = instance.id
    complaint.answer_due_at = session.scalar(select(func.min(Timer.due_at)).where(
        Timer.instance_id == instance.id, Timer.state == TimerState.PENDING))
    uow.audit(actor.id, "complaint_recorded", "complaint", complaint.id, subject_kind=complaint.subject_kind,
              complainant_kind=complainant_kind, investigator=investigator.username)
    uow.commit()
    return complaint


def _line(c: Complaint, names: dict[int, str], codes: dict[int, str]) -> dict:
    return {"id": c.id, "status": c.status, "complainant_kind": c.complainant_kind, "subject_kind": c.subject_kind,
            "case_code": codes.get(c.case_id) if c.case_id else None,
            "staff_member": names.get(c.staff_member_id) if c.staff_member_id else None,
            "investigator": names.get(c.investigator_id) if c.investigator_id else None,
            "received_at": c.received_at, "answer_due_at": c.answer_due_at, "answered_at": c.answered_at,
            "escalated": c.escalated_at is not None}


def _names(session, complaints) -> tuple[dict[int, str], dict[int, str]]:
    ids = [i for c in complaints for i in (c.staff_member_id, c.investigator_id, c.recorded_by, c.answered_by)]
    case_ids = {c.case_id for c in complaints if c.case_id}
    codes = dict(session.execute(select(Case.id, Case.code).where(Case.id.in_(case_ids))).all()) if case_ids else {}
    return usernames(session, ids), codes


def list_complaints(uow, user_id: int, limit: int = 50, offset: int = 0) -> list[ComplaintLine]:
    """The complaints this user may see, newest first (no complainant, no text). The
    listing is audited. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    limit, offset = max(1, min(int(limit), MAX_PAGE)), max(0, int(offset))
    rows = [c for c in session.scalars(parties.visible_query(session, user)
                                       .order_by(Complaint.received_at.desc(), Complaint.id.desc())
                                       .limit(limit).offset(offset))
            if parties.may_see(session, user, c)]
    names, codes = _names(session, rows)
    uow.audit(user.id, "complaints_listed", "complaint", "list", shown=[c.id for c in rows])
    uow.commit()
    return [ComplaintLine(**_line(c, names, codes)) for c in rows]


def get_complaint(uow, user_id: int, complaint_id: int) -> ComplaintRecord:
    """One complaint in full for those who may see it (404 for everyone else: its very
    existence is confidential). Audited. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not parties.may_see(session, user, complaint):
        raise NotFound(message("no complaint %(id)s", id=complaint_id))
    names, codes = _names(session, [complaint])
    uow.audit(user.id, "complaint_viewed", "complaint", complaint.id)
    uow.commit()
    return ComplaintRecord(**_line(complaint, names, codes), complainant_name=complaint.complainant_name,
                           complainant_contact=complaint.complainant_contact, summary=complaint.summary,
                           recorded_by=names.get(complaint.recorded_by), acknowledged_at=complaint.acknowledged_at,
                           acknowledgement=complaint.acknowledgement, findings=complaint.findings,
                           response=complaint.response, answered_by=names.get(complaint.answered_by)
                           if complaint.answered_by else None, escalation_note=complaint.escalation_note)


def require_staff(session, user_id: int) -> User:
    """Complaints are recorded by staff (every active account is staff)."""
    user = get_user(session, user_id)
    if not user.roles:
        raise Forbidden("only staff members record complaints")
    return user
