"""The case file as plain dataclasses: everything recorded on one case, for the case
page and the API. Loading it is not an access decision: ``cases.get_case_file`` decides
and audits, then calls :func:`load_case_file`.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from engine.models import Case, CaseEvent, CaseNote, Client, HumanTask, ServiceReferral, Vote
from engine.models.case_decisions import CaseAssessment, CasePlan, CaseReview, ClosureRequest, Conference
from engine.case.records import usernames


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
    notes: list[CaseNote]
    votes: list[VoteLine]
    conferences: list[Conference]
    assessments: list[CaseAssessment]
    plans: list[CasePlan]
    reviews: list[CaseReview]
    closures: list[ClosureRequest]
    status_history: list[TimelineEntry] = field(default_factory=list)
    risk_history: list[TimelineEntry] = field(default_factory=list)

    @property
    def name_shown(self) -> bool:
        return self.client is not None


def _rows(session, model, case_id, order):
    return list(session.scalars(select(model).where(model.case_id == case_id).order_by(order)))


def load_case_file(session, case: Case, client: Client | None, open_tasks: list[HumanTask]) -> CaseFile:
    events = _rows(session, CaseEvent, case.id, CaseEvent.at)
    events.sort(key=lambda e: (e.at, e.id))
    done = list(session.scalars(select(HumanTask).where(HumanTask.case_code == case.code,
                                                        HumanTask.state != "ready")
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
        return TaskLine(t.id, t.name, t.title, t.process_id, t.role, names.get(t.assignee_id), t.state, t.due_at,
                        t.priority, t.risk_level, t.created_at, t.completed_at, names.get(t.completed_by))

    return CaseFile(
        case=case, client=client, caseworker=names.get(case.caseworker_id), supervisor=names.get(case.supervisor_id),
        timeline=timeline,
        open_tasks=[line(t) for t in sorted(open_tasks, key=lambda t: (t.due_at is None, t.due_at, t.created_at))],
        done_tasks=[line(t) for t in done],
        referrals=_rows(session, ServiceReferral, case.id, ServiceReferral.referred_at),
        notes=_rows(session, CaseNote, case.id, CaseNote.at),
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
