"""The BCP of CBF-5 driven end to end over a seeded caseload: declaration, RESUMPTION
within T+24 h (fan-out of crisis checks, missed follow-ups reassigned, escalation at the
deadline), RECOVERY (rescheduling, data validation, debrief, lessons -> BCP update)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock
from engine.crisis import reports as crisis_reports
from engine.models import HumanTask, ProcessInstance, Timer
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisCaseNote, CrisisFollowUp, DisruptionLogEntry
from engine.models.ops import Notification
from engine.process import instances
from tests.engine.crisis_support import (
    CHECK_ANSWERS,
    T0,
    add_case,
    add_caseworker,
    check_tasks,
    complete,
    complete_step,
    declare,
    ready_bpmn_ids,
    ready_task,
    run_crisis_jobs,
    set_available,
    user_id,
)

HOUR = dt.timedelta(hours=1)


def follow_up(ctx, case_code: str, holder: str | None, due_at: dt.datetime, role: str = "caseworker") -> str:
    """A follow-up of the case: a ready human task of one of its instances, with a holder and a due time."""
    with ctx.uow() as uow:
        instance = instances.start_process(uow, ctx.runtime, "sample_intake", None, {}, case_code=case_code)
        uow.flush()
        task = uow.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
        task.assignee_id = user_id(ctx, holder) if holder else None
        task.due_at, task.role = due_at, role
        uow.commit()
        return task.id


def seed_caseload(ctx) -> dict[str, str]:
    add_caseworker(ctx, "caseworker3")
    add_case(ctx, "C-HIGH", stage="implementation", risk="high", caseworker="caseworker2")
    add_case(ctx, "C-CRISIS", stage="planning", risk="medium", in_crisis=True)
    add_case(ctx, "C-SCREEN", stage="screening", risk=None)
    add_case(ctx, "C-REVIEW", stage="review", risk="low", caseworker="caseworker2")
    add_case(ctx, "C-MEDIUM", stage="implementation", risk="medium")
    add_case(ctx, "C-LOW", stage="implementation", risk="low")
    add_case(ctx, "C-CLOSED", stage="closed", risk="high", status="C")
    add_case(ctx, "C-INACTIVE", stage="implementation", risk="high", status="IA")
    add_case(ctx, "C-CLOSING", stage="closure", risk="high")  # 5.6 is not affected
    tasks = {
        "high_missed": follow_up(ctx, "C-HIGH", "caseworker2", T0 + 2 * HOUR),
        "medium_overdue": follow_up(ctx, "C-MEDIUM", "caseworker1", T0 - HOUR),
        "review_later": follow_up(ctx, "C-REVIEW", None, T0 + 25 * HOUR),
        "low_next_week": follow_up(ctx, "C-LOW", "caseworker1", T0 + 7 * 24 * HOUR),
        "approval_held": follow_up(ctx, "C-CRISIS", "caseworker2", T0 + 3 * HOUR, role="supervisor"),
    }
    set_available(ctx, "caseworker2", False)  # off sick since the flood
    return tasks


def timer_of(ctx, instance_id: int) -> Timer:
    with ctx.session_factory() as session:
        return session.scalar(select(Timer).where(Timer.instance_id == instance_id, Timer.state == "pending"))


def crisis_row(ctx, crisis_id: int) -> Crisis:
    with ctx.session_factory() as session:
        return session.get(Crisis, crisis_id)


def test_bcp_path_declaration_resumption_escalation_recovery(ctx):
    """R35-R42 on one disruption: checks for exactly the affected open cases in priority
    order (R37), missed follow-ups reassigned (R38), notes and log (R39), escalation at
    T+24 h (R42), rescheduling, data validation, lessons -> BCP update (R40)."""
    clock.freeze(T0)
    follow_ups = seed_caseload(ctx)

    crisis_id = declare(ctx, kind="it_failure", functions=("5.1", "5.2", "5.4"))
    record = crisis_row(ctx, crisis_id)
    assert record.resumption_due_at == T0 + 24 * HOUR and record.status == "resumption"
    bcp = record.instance_id
    opened = ready_bpmn_ids(ctx, bcp)
    assert {"crt_briefing", "assign_communication_lead", "assign_crt_tasks", "review_client_impact",
            "arrange_alternative_services", "resume_5_1", "resume_5_2", "resume_5_4", "restore_systems"} == opened
    deadline = timer_of(ctx, bcp)
    assert (deadline.bpmn_id, deadline.due_at) == ("resumption_deadline", T0 + 24 * HOUR)

    # -- R37: the fan-out, through the task-queue jobs ---------------------------------------
    assert run_crisis_jobs(ctx) == 6
    tasks = check_tasks(ctx)
    assert [t.case_code for t in tasks] == ["C-HIGH", "C-CRISIS", "C-REVIEW", "C-SCREEN", "C-MEDIUM", "C-LOW"]
    assert [(t.due_at - T0) / HOUR for t in tasks] == [4, 6, 12, 12, 18, 24]
    assert [t.priority for t in tasks] == [3, 2, 1, 1, 2, 1]  # the case's risk level
    with ctx.session_factory() as session:
        checks = {c.case_code: c for c in session.scalars(select(CrisisCaseCheck))}
    assert [code for code, _ in sorted(((c.case_code, c.rank) for c in checks.values()), key=lambda p: p[1])] == \
        [t.case_code for t in tasks]
    backups = {code: c.assignee_id for code, c in checks.items() if c.backup}
    assert backups == {"C-HIGH": user_id(ctx, "caseworker3"), "C-REVIEW": user_id(ctx, "caseworker3")}
    assert {t.case_code: t.assignee_id for t in tasks}["C-CRISIS"] == user_id(ctx, "caseworker1")

    # a repeated declaration message creates nothing new
    with ctx.uow() as uow:
        uow.enqueue("crisis_plan_checks", crisis_id)
        uow.commit()
    assert run_crisis_jobs(ctx) == 0 and len(check_tasks(ctx)) == 6

    # -- R38: follow-ups due or missed during the disruption ------------------------------
    with ctx.session_factory() as session:
        found = {f.task_id: f for f in session.scalars(select(CrisisFollowUp))}
        holders = {t.id: t.assignee_id for t in session.scalars(select(HumanTask).where(
            HumanTask.id.in_(follow_ups.values())))}
    assert {name: found[task].action for name, task in follow_ups.items() if task in found} == {
        "high_missed": "reassigned", "medium_overdue": "kept", "approval_held": "released"}
    assert holders[follow_ups["high_missed"]] == user_id(ctx, "caseworker3")
    assert holders[follow_ups["medium_overdue"]] == user_id(ctx, "caseworker1")
    assert holders[follow_ups["approval_held"]] is None  # back to the supervisors to claim

    # -- RESUMPTION: the crisis response team works, but nobody confirms in time ---------
    clock.freeze(T0 + HOUR)
    complete_step(ctx, "crisislead1", bcp, "crt_briefing", {"briefing_held": True, "communication_channel": "hotline"})
    complete_step(ctx, "crisislead1", bcp, "assign_communication_lead", {"communication_lead": "crisislead1"})
    for step in ("inform_clients", "inform_staff", "inform_stakeholders"):
        task = ready_task(ctx, bcp, step)
        assert task.assignee_id == user_id(ctx, "crisislead1")
        complete(ctx, "crisislead1", task, {"sent": True, "channels": ["sms", "phone"]})
    complete_step(ctx, "crisislead1", bcp, "resume_5_1", {"resumed": True, "alternative_methods": ["video_calls"]})
    complete(ctx, "caseworker3", tasks[0], {**CHECK_ANSWERS, "client_safe": False, "delays": "home visit missed",
                                            "alternative_methods": ["phone_follow_up"], "reassessment_needed": True})
    with ctx.session_factory() as session:
        board = crisis_reports.dashboard(session, user_id(ctx, "crisislead1"), crisis_id)
    assert board["checks"]["by_risk"]["high"] == {"total": 1, "tasks_created": 1, "checked": 1, "remaining": 0}
    assert board["checks"]["remaining"] == 5 and board["seconds_to_resumption_deadline"] == 23 * 3600
    assert {f["code"]: f["status"] for f in board["functions"]} == {
        "5.1": "resumed", "5.2": "in_progress", "5.3": "not_affected", "5.4": "in_progress", "5.5": "not_affected",
        "5.6": "not_affected"}
    assert board["follow_ups"]["reassigned"] == 1

    clock.freeze(T0 + 24 * HOUR + dt.timedelta(seconds=1))
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, deadline.id) is True
    assert crisis_row(ctx, crisis_id).escalated_at == T0 + 24 * HOUR + dt.timedelta(seconds=1)
    escalation = ready_task(ctx, bcp, "review_escalation")
    assert escalation.role == "director"
    with ctx.session_factory() as session:
        alerted = set(session.scalars(select(Notification.user_id).where(Notification.kind == "crisis_escalation")))
    assert alerted == {user_id(ctx, "director1"), user_id(ctx, "crisislead1")}
    assert "resume_5_2" in ready_bpmn_ids(ctx, bcp)  # non-interrupting: resumption carries on

    # -- the team finishes resumption late ----------------------------------------------
    complete(ctx, "director1", escalation, {"decision": "Bring in agency staff for intake"})
    complete_step(ctx, "crisislead1", bcp, "assign_crt_tasks", {"assignments": [{"member": "crisislead1",
                                                                                 "task": "affected cases"}]})
    complete_step(ctx, "crisislead1", bcp, "review_client_impact", {"reviewed": True})
    complete_step(ctx, "crisislead1", bcp, "arrange_alternative_services", {"arrangements": ["remote_work"]})
    for step in ("resume_5_2", "resume_5_4"):
        complete_step(ctx, "crisislead1", bcp, step, {"resumed": True})
    complete_step(ctx, "crisislead1", bcp, "restore_systems", {"systems_restored": ["case_management"],
                                                               "restored_from_backup": True})
    complete_step(ctx, "crisislead1", bcp, "integrity_check", {"integrity_ok": False, "issues": "two files"})
    complete_step(ctx, "crisislead1", bcp, "restore_systems", {"systems_restored": ["case_management"],
                                                               "restored_from_backup": True})
    complete_step(ctx, "crisislead1", bcp, "integrity_check", {"integrity_ok": True})
    clock.freeze(T0 + 30 * HOUR)
    complete_step(ctx, "crisislead1", bcp, "confirm_resumption", {"resumption_confirmed": True})
    record = crisis_row(ctx, crisis_id)
    assert record.status == "recovery" and record.resumption_confirmed_at == T0 + 30 * HOUR

    # -- RECOVERY (R40) -------------------------------------------------------------------
    assert {"impact_assessment", "review_rescheduling", "data_validation", "service_restoration",
            "staff_wellbeing"} <= ready_bpmn_ids(ctx, bcp)
    with ctx.session_factory() as session:
        moved = {f.task_id: (f.original_due_at, f.rescheduled_due_at, f.action)
                 for f in session.scalars(select(CrisisFollowUp))}
        due_now = {t.id: t.due_at for t in session.scalars(select(HumanTask).where(
            HumanTask.id.in_(follow_ups.values())))}
    new_due = T0 + 30 * HOUR + 48 * HOUR
    assert moved[follow_ups["high_missed"]] == (T0 + 2 * HOUR, new_due, "reassigned")
    assert moved[follow_ups["review_later"]] == (T0 + 25 * HOUR, new_due, "reassigned")  # missed after resumption
    assert due_now[follow_ups["medium_overdue"]] == new_due
    assert follow_ups["low_next_week"] not in moved and due_now[follow_ups["low_next_week"]] == T0 + 7 * 24 * HOUR

    with ctx.uow() as uow:
        report = crisis_reports.data_validation_report(uow, user_id(ctx, "crisislead1"), crisis_id)
    actions = {(k["subject_type"], k["action"]) for k in report["by_kind"]}
    assert {("human_task", "follow_up_reassigned"), ("human_task", "follow_up_rescheduled"),
            ("case", "crisis_check_recorded"), ("crisis", "crisis_declared")} <= actions
    assert report["cases_touched"] >= 4

    for step in ("impact_assessment", "review_rescheduling", "service_restoration"):
        complete_step(ctx, "crisislead1", bcp, step, {"completed": True})
    complete_step(ctx, "crisislead1", bcp, "data_validation", {"records_verified": True, "discrepancies_found": False})
    complete_step(ctx, "director1", bcp, "staff_wellbeing", {"completed": True})
    complete_step(ctx, "crisislead1", bcp, "crt_debrief", {"completed": True})
    complete_step(ctx, "crisislead1", bcp, "lessons_learned", {"lessons": "Remote intake worked; backups were slow"})
    assert crisis_row(ctx, crisis_id).status == "closed" and crisis_row(ctx, crisis_id).active_slot is None
    update = ready_task(ctx, bcp, "update_bcp")
    assert update.role == "process_owner"
    complete(ctx, "processowner1", update, {"bcp_updated": True, "changes": "Backup restore tested monthly"})
    with ctx.session_factory() as session:
        assert session.get(ProcessInstance, bcp).status == "complete"
        log = [e.text for e in session.scalars(select(DisruptionLogEntry).order_by(DisruptionLogEntry.id))]
        notes = {(n.case_code, n.kind) for n in session.scalars(select(CrisisCaseNote))}
    assert log[0].startswith("Disruption declared") and any("NOT confirmed" in e for e in log)
    assert any(e.startswith("BCP updated") for e in log)
    assert {("C-HIGH", "check"), ("C-HIGH", "delay"), ("C-HIGH", "alternative_method")} <= notes

    # the checked client needs a reassessment (R40), in the check's own short instance
    assert ready_bpmn_ids(ctx, tasks[0].instance_id) == {"client_reassessment"}
    # and a new disruption can be declared now that this one is closed
    assert declare(ctx, kind="pandemic", functions=("5.3",)) != crisis_id
