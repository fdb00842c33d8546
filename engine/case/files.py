"""The case file: everything recorded on one case, as plain dataclasses for the case page
and the API, opened only by those who need to know it (R32) and audited every time.

:func:`get_case_file` decides and audits (the name is shown only to those who may see it,
``access.may_see_client_name``; the strictly confidential section only to those allowed,
``access.may_see_confidential``), then :func:`load_case_file` reads.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from engine import clock
from engine.case import case_lists, record_locks
from engine.case.notes import NoteLine, note_lines
from engine.case.records import load_case
from engine.errors import Forbidden
from engine.models import (
    Case,
    CaseClientLink,
    CaseEvent,
    CaseNote,
    Client,
    HumanTask,
    ServiceReferral,
    TaskState,
    User,
    Vote,
)
from engine.models.case_decisions import CaseAssessment, CasePlan, CaseReview, ClosureRequest, Conference
from engine.people import access
from engine.people.directory import get_user, name_of, supervisee_ids, usernames
from engine.service_ops.translations import N_


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the case's history with its R33 header."""
    at: dt.datetime
    kind: str
    summary: str
    form: str | None
    actor: str | None
    case_status: str
    caseworker: str | None
    supervisor: str | None
    detail: dict


@dataclass(frozen=True)
class TaskLine:
    id: str
    name: str
    title: str
    process_id: str
    role: str | None
    assignee: str | None
    state: str
    due_at: dt.datetime | None
    priority: int
    risk_level: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    completed_by: str | None


@dataclass(frozen=True)
class VoteLine:
    conference_id: int
    conference: str
    member: str | None
    vote: str
    comment: str
    at: dt.datetime


@dataclass
class CaseFile:
    """A case file (DOMAIN §3). ``client`` is None when the reader may not see the name."""
    case: Case
    client: Client | None
    caseworker: str | None
    supervisor: str | None
    timeline: list[TimelineEntry]
    open_tasks: list[TaskLine]
    done_tasks: list[TaskLine]
    referrals: list[ServiceReferral]
    notes: list[NoteLine]
    votes: list[VoteLine]
    conferences: list[Conference]
    assessments: list[CaseAssessment]
    plans: list[CasePlan]
    reviews: list[CaseReview]
    closures: list[ClosureRequest]
    confidential: bool = False  # the strictly confidential section is shown (and its notes are in ``notes``)
    status_history: list[TimelineEntry] = field(default_factory=list)
    risk_history: list[TimelineEntry] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)  # what is locked during an emergency (R50), in words
    may_hand_over: bool = False
    may_write_notes: bool = False
    shadowing: int | None = None  # the handover through which the reader still sees the case (R29)

    @property
    def name_shown(self) -> bool:
        return self.client is not None


def _rows(session, model, case_id, order):
    return list(session.scalars(select(model).where(model.case_id == case_id).order_by(order)))


def load_case_file(session, case: Case, client: Client | None, open_tasks: list[HumanTask], *,
                   confidential: bool = False) -> CaseFile:
    """Everything recorded on ``case``; confidential notes only when ``confidential``."""
    events = _rows(session, CaseEvent, case.id, CaseEvent.at)
    events.sort(key=lambda e: (e.at, e.id))
    done = list(session.scalars(select(HumanTask).where(HumanTask.case_code == case.code,
                                                        HumanTask.state != TaskState.READY)
                                .order_by(HumanTask.completed_at, HumanTask.created_at)))
    votes = _rows(session, Vote, case.id, Vote.at)
    conferences = _rows(session, Conference, case.id, Conference.opened_at)
    ids = ([case.caseworker_id, case.supervisor_id] + [e.actor_id for e in events] + [e.caseworker_id for e in events]
           + [e.supervisor_id for e in events] + [t.assignee_id for t in open_tasks + done]
           + [t.completed_by for t in done] + [v.member_id for v in votes])
    names = usernames(session, ids)
    kinds = {c.id: c.kind for c in conferences}
    timeline = [TimelineEntry(e.at, e.kind, e.summary, e.form, names.get(e.actor_id), e.case_status,
                              names.get(e.caseworker_id), names.get(e.supervisor_id), json.loads(e.detail_json or "{}"))
                for e in events]

    def line(t: HumanTask) -> TaskLine:
        return TaskLine(t.id, t.name, t.title, t.process_id, t.role, name_of(names, t.assignee_id), t.state,
                        t.due_at, t.priority, t.risk_level, t.created_at, t.completed_at,
                        name_of(names, t.completed_by))

    return CaseFile(
        case=case, client=client, caseworker=name_of(names, case.caseworker_id),
        supervisor=name_of(names, case.supervisor_id),
        timeline=timeline,
        open_tasks=[line(t) for t in sorted(open_tasks, key=lambda t: (t.due_at is None, t.due_at, t.created_at))],
        done_tasks=[line(t) for t in done],
        referrals=_rows(session, ServiceReferral, case.id, ServiceReferral.referred_at),
        notes=note_lines(session, case.code, [n for n in _rows(session, CaseNote, case.id, CaseNote.at)
                                              if confidential or not n.confidential]),
        confidential=confidential,
        votes=[VoteLine(v.conference_id, kinds.get(v.conference_id, ""), names.get(v.member_id), v.vote, v.comment,
                        v.at) for v in votes],
        conferences=conferences,
        assessments=_rows(session, CaseAssessment, case.id, CaseAssessment.at),
        plans=_rows(session, CasePlan, case.id, CasePlan.submitted_at),
        reviews=_rows(session, CaseReview, case.id, CaseReview.at),
        closures=_rows(session, ClosureRequest, case.id, ClosureRequest.requested_at),
        status_history=[t for t in timeline if t.kind == "status"],
        risk_history=[t for t in timeline if t.kind == "risk"],
    )


@dataclass(frozen=True)
class Reader:
    """What decides how much of one case file one person sees (``engine.people.access``)."""
    user: User
    supervised: set[int]
    open_tasks: list[HumanTask]
    holds_task: bool
    works_on_open_task: bool
    before_committee: bool
    team_referral: bool
    shadowing: int | None  # the handover through which the reader still sees the case (R29)

    def may_view(self, case: Case) -> bool:
        return access.may_view_case(self.user, case, self.supervised, holds_task=self.holds_task,
                                    before_committee=self.before_committee, team_referral=self.team_referral,
                                    shadowing=self.shadowing is not None)


def reader_of(session, user: User, case: Case) -> Reader:
    """The facts about ``user`` and ``case`` the access rules need (reads only)."""
    supervised = supervisee_ids(session, user.id)
    open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_code == case.code,
                                                              HumanTask.state == TaskState.READY)))
    before_committee = session.scalar(select(Conference.id).where(Conference.case_id == case.id,
                                                                  Conference.outcome.is_(None)).limit(1)) is not None
    return Reader(
        user, supervised, open_tasks,
        holds_task=any(t.assignee_id == user.id or (t.assignee_id is None and access.offered_to(user, t))
                       for t in open_tasks),
        works_on_open_task=any(t.assignee_id == user.id and t.role != "committee_member" for t in open_tasks),
        before_committee=before_committee,
        team_referral=case_lists.is_team_referral(user, case, supervised, case_lists.team_roles(session, supervised),
                                                  open_tasks),
        shadowing=case_lists.shadowing_handover(session, user.id, case.id))


def linked_client(session, case: Case) -> Client | None:
    """The person behind the case code (the name-code list), for those who may see it."""
    return session.scalar(select(Client).join(CaseClientLink, CaseClientLink.client_id == Client.id)
                          .where(CaseClientLink.case_id == case.id))


def get_case_file(uow, user_id: int, case_code: str) -> CaseFile:
    """The case file, if this user needs to know it (R32): the client only for those who
    may see the name, the strictly confidential section only for those allowed, neither
    while the crisis team has it locked (``record_locks``, R50: ``locked`` says so). Every
    opening is audited (with whether the name was shown, and the handover when the reader
    sees it while shadowing, R29), and so is every sight of the confidential section.
    Commits the audit rows."""
    session = uow.session
    user = get_user(session, user_id)
    case = load_case(session, case_code)
    reader = reader_of(session, user, case)
    if not reader.may_view(case):
        raise Forbidden(N_("case %(code)s is not yours to see (need-to-know)") % {"code": case.code})
    supervised = reader.supervised
    name_shown = access.may_see_client_name(user, case, supervised, works_on_open_task=reader.works_on_open_task,
                                            shadowing=reader.shadowing is not None)
    locks = record_locks.current(session)
    locked = ([record_locks.NAMES_LOCKED] if name_shown and locks.names else [])
    name_shown = name_shown and not locks.names
    client = linked_client(session, case) if name_shown else None
    confidential = access.may_see_confidential(user, case, supervised)
    if confidential and locks.confidential:
        confidential, locked = False, [record_locks.CONFIDENTIAL_LOCKED, *locked]
    seen_through: dict[str, object] = {"shadowing": reader.shadowing} if reader.shadowing is not None else {}
    if locked:
        seen_through["locked"] = sorted(locks.kinds)
    uow.audit(user.id, "case_file_viewed", "case", case.id, case.code, name_shown=name_shown, **seen_through)
    if confidential:
        uow.audit(user.id, "case_confidential_viewed", "case", case.id, case.code)
    record = load_case_file(session, case, client, reader.open_tasks, confidential=confidential)
    record.locked = locked
    record.may_hand_over = access.may_hand_over(user, case, supervised)
    record.may_write_notes = access.may_write_notes(user, case, supervised,
                                                    works_on_open_task=reader.works_on_open_task)
    record.shadowing = reader.shadowing
    uow.commit()
    return record


def form_context(session, case_code: str) -> dict:
    """The R33 header every form and note of the case carries, for display beside a form:
    date, case code, status, caseworker, supervisor (read-only fields of every case form)."""
    case = load_case(session, case_code)
    names = usernames(session, [case.caseworker_id, case.supervisor_id])
    return {"form_date": clock.now().date().isoformat(), "case_code": case.code, "case_status": case.status,
            "caseworker": name_of(names, case.caseworker_id), "supervisor": name_of(names, case.supervisor_id)}
