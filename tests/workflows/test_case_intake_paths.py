"""Path tests of the case-management process up to assignment: screening, emergency,
admission conference, consent and registration, caseload cap (R01-R06).

Each test drives the deployed diagrams through the engine services with a frozen clock;
every step is a separate unit of work, so the instance is saved and restored each time.
"""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, Invalid
from engine.models import AuditEvent, Case, CaseClientLink, Client, ProcessInstance, Vote
from engine.models.case_decisions import Conference
from tests.workflows.case_driver import CLIENT, COMMITTEE, DAY, HOUR, T0, CaseDriver

# Variants of a route run on SQLite only (the suite stays fast); the backbone tests without
# this mark run on SQLite and PostgreSQL.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_not_eligible_ends_with_no_action_required(ctx):
    """R01: not eligible at screening → the intake worker informs and refers elsewhere
    (within 2 weeks) and the case ends without case management."""
    d = CaseDriver(ctx)
    code = d.refer()
    screening = d.task(code, "screening")
    assert (screening.role, screening.assignee_id, screening.priority) == ("caseworker", None, 2)
    assert screening.due_at == T0 + DAY  # case_timeframes.screening_hours
    d.later(HOUR)
    d.screen(code, eligible=False, by="caseworker2")

    inform = d.task(code, "inform_and_refer")
    assert d.assignee(inform) == "caseworker2"  # the screener is the intake worker
    assert inform.due_at == d.now + 14 * DAY  # case_timeframes.inform_refer_days
    assert d.tasks(code, "cast_vote") == []
    d.do(code, "inform_and_refer", {"information_given": True, "referred_to": "health clinic"})

    case = d.case(code)
    assert (case.status, case.stage, case.closure_reason) == ("C", "no_action", "not_eligible")
    assert case.date_registered is None and case.caseworker_id is None
    assert [i.status for i in d.instances(code, None)] == ["complete"]
    assert d.tasks(code) == []


@SQLITE_ONLY
def test_immediate_danger_takes_the_emergency_path_first(ctx):
    """R02: immediate danger → emergency response (high priority, due within hours) before
    the admission conference, which is then an emergency conference that votes faster."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code, eligible=True, danger=True)
    case = d.case(code)
    assert (case.stage, case.risk_level, case.in_crisis) == ("emergency", "high", True)
    assert d.ready(code) == ["emergency_response"]
    emergency = d.task(code, "emergency_response")
    assert (d.assignee(emergency), emergency.priority) == ("caseworker1", 3)
    assert emergency.due_at == T0 + 4 * HOUR  # case_timeframes.emergency_response_hours

    d.later(2 * HOUR)
    d.do(code, "emergency_response", {"place_of_safety": "kinship_care", "authorities_informed": True})
    votes = d.tasks(code, "cast_vote")
    assert sorted(d.assignee(t) for t in votes) == sorted(COMMITTEE)
    assert {t.due_at for t in votes} == {d.now + DAY}  # committee_rules: emergency votes within 24 h
    assert {t.priority for t in votes} == {3}  # provisionally high risk
    with ctx.session_factory() as s:
        assert s.scalar(select(Conference.kind).where(Conference.case_id == case.id)) == "emergency"
    d.admit(code)
    d.register(code)
    assert d.task(code, "initial_assessment").priority == 3


def test_committee_rejects_admission(ctx):
    """R03: one recorded vote per member; a majority against → not admitted: the person is
    informed and referred, the case ends without registration."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    for member, vote in zip(COMMITTEE, ("reject", "reject", "approve", "reject"), strict=True):
        task = next(t for t in d.tasks(code, "cast_vote") if d.assignee(t) == member)
        d.complete(member, task, {"vote": vote, "comment": "decided"})

    with ctx.session_factory() as s:
        case = s.scalar(select(Case).where(Case.code == code))
        votes = {(s.get_one(Case, case.id).code, v.member_id, v.vote) for v in s.scalars(select(Vote))}
        assert len(votes) == 4
        conference = s.scalar(select(Conference).where(Conference.case_id == case.id))
        assert (conference.kind, conference.outcome) == ("admission", "rejected")
    d.do(code, "inform_and_refer", {"information_given": True})
    case = d.case(code)
    assert (case.status, case.closure_reason, case.date_registered) == ("C", "admission_rejected", None)


@SQLITE_ONLY
def test_admission_approved_by_majority_records_each_members_vote(ctx):
    """R03: three of four approve → admitted; each vote is recorded with its member."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    for member, vote in zip(COMMITTEE, ("approve", "approve", "reject", "approve"), strict=True):
        task = next(t for t in d.tasks(code, "cast_vote") if d.assignee(t) == member)
        d.complete(member, task, {"vote": vote})
    with ctx.session_factory() as s:
        recorded = {(d.username(v.member_id), v.vote) for v in s.scalars(select(Vote))}
    assert recorded == {("committee1", "approve"), ("committee2", "approve"), ("director1", "reject"),
                        ("supervisor1", "approve")}
    assert d.ready(code) == ["consent_registration"]


@SQLITE_ONLY
def test_a_vote_from_a_non_member_is_refused_and_changes_nothing(ctx):
    """R03: only the member asked may cast a vote; a caseworker's attempt is refused."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    task = next(t for t in d.tasks(code, "cast_vote") if d.assignee(t) == "committee1")
    with ctx.session_factory() as s:
        before = s.get(ProcessInstance, task.instance_id).version
    with pytest.raises(Forbidden):
        d.complete("caseworker1", task, {"vote": "approve"})
    with pytest.raises(Conflict):
        d.complete("committee2", task, {"vote": "reject"})  # a member, but this ballot is committee1's
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == 0
        assert s.get(ProcessInstance, task.instance_id).version == before
    assert len(d.tasks(code, "cast_vote")) == 4


def test_without_a_quorum_when_voting_closes_the_director_decides(ctx):
    """R03: votes close after committee_rules.vote_within_hours; one vote of four is no
    quorum, so the project director decides (003 §5.2.3)."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    d.vote_all(code, "approve", members=("committee1",))
    timer = d.fire(code, "voting_closes")
    assert timer.due_at == T0 + 72 * HOUR
    assert d.tasks(code, "cast_vote") == []
    decision = d.task(code, "director_decision")
    assert (decision.role, decision.assignee_id) == ("director", None)
    with pytest.raises(Forbidden):
        d.claim("supervisor1", decision)
    d.do(code, "director_decision", {"vote": "approve", "comment": "urgent enough"}, by="director1")
    with ctx.session_factory() as s:
        conference = s.scalar(select(Conference))
        assert (conference.outcome, d.username(conference.decided_by)) == ("approved", "director1")
    assert d.ready(code) == ["consent_registration"]


@SQLITE_ONLY
def test_refused_consent_without_a_legal_mandate_means_no_registration(ctx):
    """R04, R48: without informed consent the case is not registered unless a supervisor
    records a legal mandate; with none recorded the person is informed and referred."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    d.admit(code)
    d.do(code, "consent_registration", {"consent": "refused", "consent_by": "caregiver",
                                        "child_assent": "not_applicable"})
    mandate = d.task(code, "legal_mandate")
    assert (mandate.role, mandate.assignee_id) == ("supervisor", None)
    d.do(code, "legal_mandate", {"legal_mandate": "none"}, by="supervisor1")
    assert d.ready(code) == ["inform_and_refer"]
    d.do(code, "inform_and_refer", {"information_given": True})
    case = d.case(code)
    assert (case.status, case.closure_reason, case.date_registered) == ("C", "consent_refused", None)


def test_case_code_is_pseudonymous_and_the_name_is_kept_apart(ctx):
    """R05: the code says nothing of the person; the name lives in clients, linked through
    its own table, and never enters the workflow data or the case history."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    assert re.fullmatch(r"CM-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    with ctx.session_factory() as s:
        case = s.scalar(select(Case).where(Case.code == code))
        link = s.scalar(select(CaseClientLink).where(CaseClientLink.case_id == case.id))
        assert s.get(Client, link.client_id).name == CLIENT["name"]
        states = " ".join(s.scalars(select(ProcessInstance.state_json)))
        audit = " ".join(s.scalars(select(AuditEvent.detail_json)))
    for text in (states, audit, json.dumps([str(getattr(case, c.name)) for c in Case.__table__.columns])):
        assert "Amina" not in text


@SQLITE_ONLY
def test_intake_worker_is_assigned_within_the_caseload_cap(ctx):
    """R06: the screener becomes the caseworker when within the cap; the supervisor comes
    from the supervision table."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    case = d.case(code)
    assert (d.username(case.caseworker_id), d.username(case.supervisor_id)) == ("caseworker1", "supervisor1")
    assessment = d.task(code, "initial_assessment")
    assert d.assignee(assessment) == "caseworker1"


def _fill_caseload(ctx, d, username, count):
    with ctx.uow() as uow:
        for n in range(count):
            uow.session.add(Case(code=f"FULL-{username}-{n}", status="O", stage="implementation",
                                 caseworker_id=d.uid(username), created_at=T0, updated_at=T0))
        uow.commit()


def test_no_caseworker_capacity_goes_to_a_supervisor_who_assigns(ctx):
    """R06: every caseworker at the cap (caseload_limits: 25) → a supervisor task; the
    supervisor may assign above the cap only with a reason (else 422, nothing changes)."""
    d = CaseDriver(ctx)
    _fill_caseload(ctx, d, "caseworker1", 25)
    code = d.refer()
    d.screen(code)
    d.admit(code)
    _fill_caseload(ctx, d, "caseworker2", 25)
    d.later(HOUR)
    d.register(code)
    task = d.task(code, "reassign_no_capacity")
    assert (task.role, task.assignee_id, task.priority) == ("supervisor", None, 3)
    assert task.due_at == d.now + DAY  # case_timeframes.reassign_hours
    d.claim("supervisor1", task)
    with pytest.raises(Invalid) as refused:
        d.complete("supervisor1", task, {"new_caseworker": "caseworker2"})
    assert "cap_override_reason" in refused.value.errors
    with pytest.raises(Invalid) as unknown:
        d.complete("supervisor1", task, {"new_caseworker": "committee1", "cap_override_reason": "x"})
    assert "new_caseworker" in unknown.value.errors
    assert d.case(code).caseworker_id is None and d.ready(code) == ["reassign_no_capacity"]

    d.complete("supervisor1", task, {"new_caseworker": "caseworker2", "cap_override_reason": "only Arabic speaker"})
    case = d.case(code)
    assert (d.username(case.caseworker_id), d.username(case.supervisor_id)) == ("caseworker2", "supervisor1")
    assessment = d.task(code, "initial_assessment")
    assert d.assignee(assessment) == "caseworker2"
    assert assessment.due_at == T0 + HOUR + DAY  # still 24 h after registration (R07)
