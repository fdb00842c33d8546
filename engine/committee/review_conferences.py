"""Calling a case conference on an open case (R47, 003 §5.2.2.4): a case review conference
"to review care plans and progress", or an emergency conference "to review a case
following an incident and to determine what follow up action is required".

The case's supervisor (or the supervisor of its caseworker, or the director) calls one,
and so may the caseworker, with the reason; an emergency conference first records the
incident in the case file. The conference runs the ``case_conference`` diagram: the
committee votes with its quorum (DMN ``committee_rules``), then the case supervisor records
the conclusions and ``committee.apply_review_outcome`` changes the plan or the risk rating.
One conference at a time per case.
"""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.bpmn.runtime import ProcessRuntime
from engine.case import processes as case_processes
from engine.case.records import load_case, record_event
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, CaseStatus, User
from engine.models.case_decisions import Conference
from engine.people.directory import get_user, supervisee_ids
from engine.service_ops.translations import N_

CONFERENCE_PROCESS = "case_conference"
OPEN_CASE_KINDS = ("case_review", "emergency_review")
KIND_LABELS = {"admission": "Admission", "emergency": "Emergency admission", "closure": "Closure",
               "case_review": "Case review", "emergency_review": "Emergency review"}
MAX_REASON = 2000


def kind_label(kind: str) -> str:
    """The conference kind in words, for pages."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def members_of(conference: Conference) -> list[int]:
    """The ids of the committee members the conference asked."""
    return list(json.loads(conference.member_ids_json or "[]"))


def may_call(user: User, case: Case, supervised: set[int]) -> bool:
    """The case's caseworker, its supervisor, the caseworker's supervisors, the director."""
    if "director" in user.roles or user.id in (case.caseworker_id, case.supervisor_id):
        return True
    return case.caseworker_id is not None and case.caseworker_id in supervised


def conference_under_way(session, case: Case) -> bool:
    """A conference not yet decided (or decided without its conclusions applied) is open."""
    undecided = session.scalar(select(Conference.id).where(
        Conference.case_id == case.id, Conference.outcome.is_(None) | (Conference.outcome == "no_quorum")).limit(1))
    return undecided is not None or bool(case_processes.running_instances(session, case.code, [CONFERENCE_PROCESS]))


def call_conference(uow, runtime: ProcessRuntime, actor_id: int, case_code: str, kind: str,
                    reason: str) -> Conference:
    """Call a case review or emergency conference on an open case. Refused (and nothing
    written) for anyone not on the case (403), a case not open (409), a conference already
    under way (409), an unknown kind or an empty reason (422). Commits."""
    session = uow.session
    actor = get_user(session, actor_id)
    case = load_case(session, case_code)
    if kind not in OPEN_CASE_KINDS:
        raise Invalid(N_("%(value)s is not a conference that can be called on an open case") % {"value": repr(kind)},
                      errors={"kind": list(OPEN_CASE_KINDS)})
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid("say why the conference is called", errors={"reason": [f"1 to {MAX_REASON} characters"]})
    if not may_call(actor, case, supervisee_ids(session, actor.id)):
        raise Forbidden(N_("case %(code)s is not one you work on: only its caseworker, its supervisors or the "
                           "director may call a conference on it") % {"code": case.code})
    if case.status == CaseStatus.CLOSED or case.date_registered is None:
        raise Conflict(N_("case %(code)s is not an open case: a review or emergency conference needs a registered, "
                          "open case") % {"code": case.code})
    if conference_under_way(session, case):
        raise Conflict(N_("a conference on case %(code)s is already under way") % {"code": case.code})
    if kind == "emergency_review":
        record_event(uow, case, actor.id, "incident", f"incident recorded: {reason}", form="incident_report",
                     reason=reason)
    instance = case_processes.start_case_process(uow, runtime, CONFERENCE_PROCESS, case, actor.id,
                                                 {"conference": kind, "stage_before": case.stage})
    conference = session.scalar(select(Conference).where(Conference.instance_id == instance.id))
    if conference is None:  # the diagram opens the conference in its first step
        raise RuntimeError(f"{CONFERENCE_PROCESS} did not open a conference")
    record_event(uow, case, actor.id, "conference", f"{kind_label(kind).lower()} conference called: {reason}",
                 form="conference_request", conference_id=conference.id, conference_kind=kind, reason=reason)
    uow.commit()
    return conference
