"""Every BCP timing is a DMN output the diagrams read (R36, R40, R41), the pre-crisis risk
assessment rates each risk by likelihood x impact through ``bcp_risk_severity`` (R53), and
a case's real follow-up due during a disruption is found and reassigned (R38): driven
through the deployed diagrams with a frozen clock."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from lxml import etree
from sqlalchemy import select

from engine import clock
from engine.bpmn import durations, namespaces
from engine.crisis import readiness as crisis_readiness
from engine.models import Timer
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisFollowUp, ReadinessActivity
from engine.process import deployment, instances
from engine.process.decision_parameters import decision_row
from tests.engine.crisis_support import (
    T0,
    add_caseworker,
    complete,
    complete_step,
    declare,
    ready_task,
    run_crisis_jobs,
    set_available,
    user_id,
)
from tests.workflows.case_driver import NEEDS_HIGH, SQLITE_ONLY, CaseDriver

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
# each BCP task and the bcp_parameters output that times it (hours, or days of recovery)
RESUMPTION_DUE = {"crt_briefing": "crt_briefing_hours", "assign_communication_lead": "communication_lead_hours",
                  "assign_crt_tasks": "crt_tasks_hours", "review_client_impact": "client_impact_review_hours",
                  "arrange_alternative_services": "alternative_services_hours",
                  "restore_systems": "system_restore_hours"}
INFORM_DUE = {"inform_clients": "inform_clients_hours", "inform_staff": "inform_staff_hours",
              "inform_stakeholders": "inform_stakeholders_hours"}
RECOVERY_DUE = {"impact_assessment": "impact_assessment_days", "review_rescheduling": "rescheduling_review_days",
                "data_validation": "data_validation_days", "service_restoration": "service_restoration_days",
                "staff_wellbeing": "staff_wellbeing_days"}


def parameters(ctx, kind: str = "it_failure") -> dict:
    with ctx.session_factory() as s:
        return decision_row(s, "bcp_parameters", kind=kind)


def test_no_bcp_task_has_a_timing_of_its_own_every_one_is_a_dmn_output():
    """Every due time and timer of the BCP diagrams is an expression over decision outputs,
    never an ISO 8601 literal written into the diagram."""
    literals = []
    for path in sorted((WORKFLOWS / "bpmn").glob("bcp_*.bpmn")):
        root = etree.parse(str(path)).getroot()
        for prop in root.iter(f"{{{namespaces.SPIFF_NS}}}property"):
            if prop.get("name") == "due" and durations.is_duration(prop.get("value").strip()):
                literals.append((path.name, prop.getparent().getparent().getparent().get("id"), prop.get("value")))
        for tag in ("timeDuration", "timeDate", "timeCycle"):
            for timer in root.iter(f"{{{namespaces.BPMN_NS}}}{tag}"):
                if timer.text.strip().startswith(('"', "'")):
                    literals.append((path.name, tag, timer.text))
    assert literals == []


def test_resumption_and_recovery_tasks_are_due_when_bcp_parameters_says_R36_R40(ctx):
    """R36, R40: from the declaration, each RESUMPTION task is due its bcp_parameters hours
    after it opens; in RECOVERY each task its days; the BCP update its days after recovery."""
    clock.freeze(T0)
    params = parameters(ctx)
    record_id = declare(ctx, kind="it_failure", functions=("5.1",))
    with ctx.session_factory() as s:
        bcp = s.get(Crisis, record_id).instance_id
    for step, output in RESUMPTION_DUE.items():
        assert ready_task(ctx, bcp, step).due_at == T0 + params[output] * HOUR, step
    clock.freeze(T0 + HOUR)
    complete_step(ctx, "crisislead1", bcp, "crt_briefing", {"briefing_held": True, "communication_channel": "hotline"})
    complete_step(ctx, "crisislead1", bcp, "assign_communication_lead", {"communication_lead": "crisislead1"})
    for step, output in INFORM_DUE.items():
        task = ready_task(ctx, bcp, step)
        assert task.due_at == T0 + HOUR + params[output] * HOUR, step
        complete(ctx, "crisislead1", task, {"sent": True, "channels": ["sms"]})
    complete_step(ctx, "crisislead1", bcp, "assign_crt_tasks", {"assignments": [{"member": "crisislead1",
                                                                                 "task": "affected cases"}]})
    complete_step(ctx, "crisislead1", bcp, "review_client_impact", {"reviewed": True})
    complete_step(ctx, "crisislead1", bcp, "arrange_alternative_services", {"arrangements": ["remote_work"]})
    complete_step(ctx, "crisislead1", bcp, "resume_5_1", {"resumed": True})
    complete_step(ctx, "crisislead1", bcp, "restore_systems", {"systems_restored": ["case_management"],
                                                               "restored_from_backup": True})
    integrity = ready_task(ctx, bcp, "integrity_check")
    assert integrity.due_at == T0 + HOUR + params["integrity_check_hours"] * HOUR
    complete(ctx, "crisislead1", integrity, {"integrity_ok": True})
    recovered = T0 + 20 * HOUR
    clock.freeze(recovered)
    complete_step(ctx, "crisislead1", bcp, "confirm_resumption", {"resumption_confirmed": True})
    for step, output in RECOVERY_DUE.items():
        assert ready_task(ctx, bcp, step).due_at == recovered + params[output] * DAY, step
    for step in ("impact_assessment", "review_rescheduling", "service_restoration"):
        complete_step(ctx, "crisislead1", bcp, step, {"completed": True})
    complete_step(ctx, "crisislead1", bcp, "data_validation", {"records_verified": True, "discrepancies_found": False})
    complete_step(ctx, "director1", bcp, "staff_wellbeing", {"completed": True})
    assert ready_task(ctx, bcp, "crt_debrief").due_at == recovered + params["crt_debrief_days"] * DAY
    complete_step(ctx, "crisislead1", bcp, "crt_debrief", {"completed": True})
    assert ready_task(ctx, bcp, "lessons_learned").due_at == recovered + params["lessons_learned_days"] * DAY
    complete_step(ctx, "crisislead1", bcp, "lessons_learned", {"lessons": "remote intake worked"})
    assert ready_task(ctx, bcp, "update_bcp").due_at == recovered + params["bcp_update_days"] * DAY


@SQLITE_ONLY
def test_a_timing_changed_in_bcp_parameters_times_the_next_disruption_without_code_R36(ctx):
    """R36: the CRT briefing within 2 h becomes 1 h in bcp_parameters, redeployed: the next
    declaration's briefing is due 1 h after it."""
    text = (WORKFLOWS / "dmn" / "bcp_parameters.dmn").read_text()
    old = '<dmn:outputEntry id="rule_it_failure_out5"><dmn:text>2</dmn:text></dmn:outputEntry>'
    assert old in text and parameters(ctx)["crt_briefing_hours"] == 2
    with ctx.uow() as uow:
        deployment.deploy_files(uow, {"bcp_parameters.dmn": text.replace(old, old.replace(">2<", ">1<"))})
        uow.commit()
    clock.freeze(T0)
    record_id = declare(ctx, kind="it_failure", functions=("5.1",))
    with ctx.session_factory() as s:
        bcp = s.get(Crisis, record_id).instance_id
    assert ready_task(ctx, bcp, "crt_briefing").due_at == T0 + HOUR


def _severity(likelihood: str, impact: str) -> str:
    """The default matrix, written out independently of the table: low 1, medium 2, high 3."""
    score = {"low": 1, "medium": 2, "high": 3}
    product = score[likelihood] * score[impact]
    return "high" if product >= 6 else "medium" if product >= 3 else "low"


def test_the_pre_crisis_risk_assessment_rates_each_risk_by_likelihood_and_impact_R53(ctx):
    """R53 (seed 000 pre-crisis §1): the recurring risk assessment lists threats with their
    likelihood and impact; each is rated high / medium / low by the bcp_risk_severity table
    and the register, most severe first, is kept as the activity's findings. Its task is due
    when bcp_readiness_schedule says (R41)."""
    clock.freeze(T0)
    with ctx.uow() as uow:
        crisis_readiness.schedule_readiness(uow, ctx.runtime, user_id(ctx, "crisislead1"))
        uow.commit()
    with ctx.session_factory() as s:
        row = s.get(ReadinessActivity, "risk_assessment")
        timer = s.scalar(select(Timer).where(Timer.instance_id == row.instance_id, Timer.state == "pending"))
        due_days = decision_row(s, "bcp_readiness_schedule", activity="risk_assessment")[
            "readiness_interval.due_within_days"]
    clock.freeze(timer.due_at)
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, timer.id)
    task = ready_task(ctx, row.instance_id, "do_risk_assessment")
    assert task.due_at == timer.due_at + due_days * DAY and task.form == "bcp_risk_assessment.json"
    risks = [{"threat": "flood closes the office", "likelihood": "medium", "impact": "high"},
             {"threat": "server failure", "likelihood": "low", "impact": "medium"},
             {"threat": "staff shortage in summer", "likelihood": "high", "impact": "medium"},
             {"threat": "power cut", "likelihood": "medium", "impact": "medium"}]
    complete(ctx, "crisislead1", task, {"done": True, "risks": risks})
    with ctx.session_factory() as s:
        outcome = s.get(ReadinessActivity, "risk_assessment").last_outcome
    expected = [(r["threat"], _severity(r["likelihood"], r["impact"])) for r in risks]
    order = {"high": 0, "medium": 1, "low": 2}
    lines = outcome.splitlines()
    most_severe_first = sorted(expected, key=lambda e: order[e[1]])
    assert [line.split(": ", 1)[0] for line in lines] == [severity.upper() for _, severity in most_severe_first]
    for threat, severity in expected:
        assert any(line.startswith(f"{severity.upper()}: {threat}") for line in lines), threat
    assert {s for _, s in expected} == {"high", "medium", "low"}


def test_a_real_follow_up_due_during_the_disruption_goes_to_available_staff_R38(ctx):
    """R38 on the case diagrams themselves: a high-risk case's daily follow-up, due within
    the resumption window while its caseworker is off, is found and given to the colleague
    doing the case's crisis check."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    d.do(code, "initial_assessment", NEEDS_HIGH)
    follow_up = d.task(code, "follow_up")
    assert follow_up.due_at <= T0 + 24 * HOUR and d.assignee(follow_up) == "caseworker1"
    add_caseworker(ctx, "caseworker3")
    set_available(ctx, "caseworker1", False)
    d.later(2 * HOUR)  # the disruption: the follow-up falls due within its resumption window
    crisis_id = declare(ctx, functions=("5.1", "5.4"))
    run_crisis_jobs(ctx)
    with ctx.session_factory() as s:
        found = s.scalar(select(CrisisFollowUp).where(CrisisFollowUp.crisis_id == crisis_id,
                                                      CrisisFollowUp.task_id == follow_up.id))
        check = s.scalar(select(CrisisCaseCheck).where(CrisisCaseCheck.case_code == code))
    assert found is not None and found.action == "reassigned"
    assert d.task(code, "follow_up").assignee_id == check.assignee_id != d.uid("caseworker1")
