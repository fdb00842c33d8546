"""Path tests of the supervision cadence (R30) and the director standing in (R49): every
supervisor's caseload reviews (every 2 weeks), file audits of 3 to 5 files drawn at random
but reproducibly (every 3 months), weekly supervision and monthly case-management
meetings, each a short instance scheduled from DMN ``supervision_cadence``; an absent
supervisor's tasks go to the director. They drive the real ``supervision_*`` diagrams with
a frozen clock."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.bpmn.operations import OperationContext
from engine.errors import Forbidden
from engine.models import HumanTask, ProcessInstance, Timer, User
from engine.models.supervision import FileAuditFinding, SupervisionDuty, SupervisionRecord
from engine.process import instances
from engine.supervision import absence, file_audit, operations, schedule
from tests.workflows.case_driver import DAY, SQLITE_ONLY, CaseDriver, open_case


def run_plan(d, by="supervisor1") -> dict:
    with d.ctx.uow() as uow:
        return schedule.schedule_supervision(uow, d.ctx.runtime, d.uid(by))


def duty_timer(d, duty, caseworker: str | None = "caseworker1") -> Timer:
    key = schedule.duty_key(duty, d.uid("supervisor1"), d.uid(caseworker) if caseworker else None)
    with d.ctx.session_factory() as s:
        row = s.scalar(select(SupervisionDuty).where(SupervisionDuty.key == key))
        return s.scalar(select(Timer).where(Timer.instance_id == row.instance_id, Timer.state == "pending"))


def fire(d, timer: Timer) -> None:
    d.at(max(d.now, timer.due_at))
    with d.ctx.uow() as uow:
        assert instances.fire_timer(uow, d.ctx.runtime, timer.id)


def supervision_tasks(d, bpmn_id) -> list[HumanTask]:
    with d.ctx.session_factory() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.bpmn_id == bpmn_id, HumanTask.state == "ready")
                              .order_by(HumanTask.created_at, HumanTask.id)))


def test_r30_each_caseworkers_caseload_is_reviewed_every_two_weeks(ctx, client, token_for):
    """R30: scheduling gives the supervisor one waiting occurrence per duty and caseworker
    (and one team meeting); a caseload review opens every 14 days, due within 3, and the
    next one is counted from when this one fell due, however late it is done."""
    d = CaseDriver(ctx)
    resp = client.post("/api/supervision/schedule", headers=token_for("supervisor1"))
    assert resp.status_code == 200, resp.get_json()
    assert len(resp.get_json()["scheduled"]) == 7  # 3 duties x 2 caseworkers + the team meeting
    assert run_plan(d)["scheduled"] == []  # running it again schedules nothing twice
    start = d.now
    fire(d, duty_timer(d, "caseload_review"))
    assert d.now == start + 14 * DAY
    (review,) = supervision_tasks(d, "caseload_review")
    assert (d.assignee(review), review.due_at, review.case_code) == ("supervisor1", d.now + 3 * DAY, None)
    assert duty_timer(d, "caseload_review").due_at == start + 28 * DAY
    d.later(6 * DAY)  # done late
    d.complete("supervisor1", review, {"caseload_manageable": "too_high", "actions": "move two cases"})
    with ctx.session_factory() as s:
        record = s.scalar(select(SupervisionRecord).where(SupervisionRecord.duty == "caseload_review"))
        assert (record.outcome, record.period, record.done_at) == ("too_high", (start + 14 * DAY).date().isoformat(),
                                                                   d.now)
    assert duty_timer(d, "caseload_review").due_at == start + 28 * DAY
    overview = client.get("/api/supervision/duties", headers=token_for("supervisor1")).get_json()
    assert {(row["duty_label"], row["caseworker"]) for row in overview["duties"]} >= {
        ("Caseload review", "caseworker1"), ("Case-management meeting", None)}


@SQLITE_ONLY
def test_r30_weekly_supervision_and_a_monthly_case_management_meeting(ctx):
    """R30 (004 §6.6): a supervision session with each caseworker every 7 days and the
    team's case-management meeting every 30 days, each as its own task."""
    d = CaseDriver(ctx)
    run_plan(d, by="director1")
    start = d.now
    assert duty_timer(d, "supervision").due_at == start + 7 * DAY
    assert duty_timer(d, "case_management_meeting", None).due_at == start + 30 * DAY
    fire(d, duty_timer(d, "supervision", "caseworker2"))
    (session,) = supervision_tasks(d, "supervision_session")
    d.complete("supervisor1", session, {"held": True, "topics": "two high-risk cases"})
    fire(d, duty_timer(d, "case_management_meeting", None))
    (meeting,) = supervision_tasks(d, "case_management_meeting")
    assert (d.assignee(meeting), meeting.due_at) == ("supervisor1", start + 37 * DAY)
    d.complete("supervisor1", meeting, {"held": True})
    with ctx.session_factory() as s:
        done = {(r.duty, r.outcome) for r in s.scalars(select(SupervisionRecord))}
    assert done == {("supervision", "held"), ("case_management_meeting", "held")}


@SQLITE_ONLY
def test_r30_a_file_audit_draws_three_to_five_files_at_random_but_reproducibly(ctx):
    """R30: every 90 days 3 to 5 of the caseworker's active files are drawn, seeded by
    caseworker and period (the same draw again gives the same files); each drawn file is a
    task for the supervisor, and the findings are recorded per file."""
    d = CaseDriver(ctx)
    codes = []
    for _ in range(6):
        code = d.refer()
        d.to_registered(code)
        codes.append(code)
    run_plan(d)
    timer = duty_timer(d, "file_audit")
    assert timer.due_at == d.now + 90 * DAY
    fire(d, timer)
    with ctx.session_factory() as s:
        record = s.scalar(select(SupervisionRecord).where(SupervisionRecord.duty == "file_audit"))
    drawn = json.loads(record.sampled_json)
    assert 3 <= len(drawn) <= 5 and set(drawn) <= set(codes)
    assert drawn == file_audit.sample_files(codes, "caseworker1", record.period, 3, 5)
    for code in drawn:
        task = d.task(code, "audit_file")
        assert (d.assignee(task), task.due_at) == ("supervisor1", d.now + 14 * DAY)
    for code in drawn:
        d.do(code, "audit_file", {"forms_complete": code != drawn[0], "services_as_documented": True,
                                  "findings": "ok"})
    with ctx.session_factory() as s:
        findings = list(s.scalars(select(FileAuditFinding).where(FileAuditFinding.record_id == record.id)))
        assert len(findings) == len(drawn) and all(f.done_at == d.now for f in findings)
        assert sum(1 for f in findings if not f.forms_complete) == 1
        assert s.get(SupervisionRecord, record.id).outcome == "audited"


def test_r49_the_director_receives_an_absent_supervisors_tasks(ctx, client, token_for):
    """R49: while the supervisor is absent, their open tasks and every new task that would be
    theirs go to the project director (their own supervisor) — but a committee vote stays
    the member's; back at work, new tasks are theirs again."""
    d, code = open_case(ctx)
    run_plan(d)
    fire(d, duty_timer(d, "supervision"))
    (session,) = supervision_tasks(d, "supervision_session")
    assert d.assignee(session) == "supervisor1"
    resp = client.post("/api/supervision/absences", headers=token_for("director1"),
                       json={"username": "supervisor1", "available": False})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["stand_in"] == "director1" and resp.get_json()["tasks_moved"] >= 1
    assert d.assignee(supervision_tasks(d, "supervision_session")[0]) == "director1"
    fire(d, duty_timer(d, "caseload_review"))
    (caseload,) = supervision_tasks(d, "caseload_review")
    assert d.assignee(caseload) == "director1"
    d.complete("director1", caseload, {"caseload_manageable": "manageable"})
    resp = client.post(f"/api/cases/{code}/conferences", headers=token_for("caseworker1"),
                       json={"kind": "case_review", "reason": "plan review"})
    assert resp.status_code == 201
    assert "supervisor1" in {d.assignee(t) for t in d.tasks(code, "cast_vote")}  # a vote is personal
    assert client.post("/api/supervision/absences", headers=token_for("caseworker1"),
                       json={"username": "supervisor1", "available": True}).status_code == 403
    with ctx.uow() as uow:
        absence.set_availability(uow, d.uid("supervisor1"), "supervisor1", True)
    with ctx.session_factory() as s:
        assert s.scalar(select(User.available).where(User.username == "supervisor1")) is True
    d.vote_all(code, "approve", members=("committee1", "committee2", "director1", "supervisor1"))
    assert d.assignee(d.task(code, "record_conclusions")) == "supervisor1"


@SQLITE_ONLY
def test_r30_a_duty_is_recorded_only_by_its_supervisor_or_the_one_standing_in(ctx):
    """R30, R49: the occurrence's record acts on the occurrence its instance carries and
    refuses a caseworker (403, nothing written); the director standing in may record it."""
    d = CaseDriver(ctx)
    run_plan(d)
    fire(d, duty_timer(d, "caseload_review"))
    (review,) = supervision_tasks(d, "caseload_review")

    def record(actor):
        with ctx.uow() as uow:
            instance = uow.session.get(ProcessInstance, review.instance_id)
            try:
                return operations.record_occurrence(OperationContext(uow, instance, d.uid(actor), ctx.runtime),
                                                    {"caseload_manageable": "manageable"})
            finally:
                uow.commit()

    with pytest.raises(Forbidden):
        record("caseworker1")
    with ctx.session_factory() as s:
        assert s.scalar(select(SupervisionRecord.done_at).where(SupervisionRecord.duty == "caseload_review")) is None
    assert record("director1")["recorded"] is True
