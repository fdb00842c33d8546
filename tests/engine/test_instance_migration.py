"""Moving instances between versions of a process (issue 14): a broken version strands no
case — its failed instance moves to the fixed version and completes —, a dry run lists what
can move and what cannot and why, a waiting task keeps its id, state and due date, every
move is audited, and process owners choose the version new instances start on."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine import clock
from engine.bpmn import spec_parsing
from engine.errors import Forbidden, Invalid, ScriptError
from engine.models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance, Timer
from engine.models.ops import Incident
from engine.process import deployment, human_tasks, instances, migration
from engine.service_ops.incidents import DIAGRAM_FAILURE
from tests.conftest import WORKFLOWS
from tests.engine.helpers import T0, only_ready_task, user_id
from tests.workflows.case_driver import NEEDS_LOW, CaseDriver

FORM = json.dumps({"type": "object", "properties": {"note": {"type": "string"}}})
STEPS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_steps" targetNamespace="t">
  <bpmn:process id="steps" name="Steps" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_cw" name="caseworker">
      <bpmn:flowNodeRef>{ask}</bpmn:flowNodeRef><bpmn:flowNodeRef>confirm</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{ask}"/>
    <bpmn:userTask id="{ask}" name="Ask">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="form" value="steps_note.json"/>
        <spiffworkflow:property name="due" value="PT24H"/>
        <spiffworkflow:property name="title" value="{title}"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="{ask}" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="Compute"><bpmn:script>{compute}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="compute" targetRef="{wait}"/>
    <bpmn:intermediateCatchEvent id="{wait}" name="Wait an hour">
      <bpmn:timerEventDefinition id="wait_timer"><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="{wait}" targetRef="after"/>
    <bpmn:scriptTask id="after" name="After the wait"><bpmn:script>{after}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f5" sourceRef="after" targetRef="confirm"/>
    <bpmn:userTask id="confirm" name="Confirm">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="form" value="steps_note.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f6" sourceRef="confirm" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
GOOD = {"ask": "ask", "wait": "wait", "title": "Ask for a note", "compute": "hours = base_hours * 2",
        "after": "total = hours + 1"}


def steps_version(ctx, **changes) -> int:
    text = STEPS.format(**{**GOOD, **changes})
    with ctx.uow() as uow:
        [result] = deployment.deploy_files(uow, {"steps.bpmn": text, "steps_note.json": FORM},
                                           merge_with_deployed=False)
        uow.commit()
    return result.version


def start(ctx, case_code="CM-TEST-0042") -> int:
    with ctx.uow() as uow:
        started = instances.start_process(uow, ctx.runtime, "steps", None, {"base_hours": 3}, case_code=case_code)
        uow.commit()
        return started.id


def complete(ctx, instance_id: int, username: str = "caseworker1"):
    task = only_ready_task(ctx, instance_id)
    with ctx.uow() as uow:
        human_tasks.complete_task(uow, ctx.runtime, user_id(ctx, username), task.id, {"note": "seen"})
    return task


def fire_due_timers(ctx, instance_id: int) -> None:
    with ctx.session_factory() as session:
        timer_ids = list(session.scalars(select(Timer.id).where(Timer.instance_id == instance_id,
                                                                Timer.state == "pending")))
    for timer_id in timer_ids:
        with ctx.uow() as uow:
            instances.fire_timer(uow, ctx.runtime, timer_id)


def row(ctx, instance_id: int) -> ProcessInstance:
    with ctx.session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        session.expunge(instance)
        return instance


def move(ctx, to_version: int, dry_run: bool = False, username: str = "processowner1", **chosen):
    with ctx.uow() as uow:
        return migration.migrate_instances(uow, ctx.runtime, user_id(ctx, username), "steps", to_version,
                                           dry_run=dry_run, **chosen)


def incident_state(ctx, instance_id: int) -> str | None:
    with ctx.session_factory() as session:
        for incident in session.scalars(select(Incident).where(Incident.actor == DIAGRAM_FAILURE)):
            if json.loads(incident.args_json)["instance_id"] == instance_id:
                return incident.state
    return None


def test_a_broken_version_strands_no_case_its_stopped_instance_resumes_on_the_fixed_version_and_completes(ctx):
    clock.freeze(T0)
    steps_version(ctx, after="total = hours + offset_hours")  # v1: 'offset_hours' is set nowhere
    instance_id = start(ctx)
    complete(ctx, instance_id)
    clock.freeze(T0 + dt.timedelta(hours=1, seconds=1))
    with pytest.raises(ScriptError):
        fire_due_timers(ctx, instance_id)  # nobody is there to try again: the instance stops at 'after'
    stopped = row(ctx, instance_id)
    assert (stopped.status, stopped.failed_element) == (InstanceStatus.ERROR, "after")
    assert "offset_hours" in stopped.error and "NameError" not in stopped.error
    assert incident_state(ctx, instance_id) == "open"

    assert steps_version(ctx) == 2  # the fix
    result = move(ctx, 2)
    assert (result.migrated, result.refused) == ([instance_id], [])
    resumed = row(ctx, instance_id)
    assert (resumed.status, resumed.model.version, resumed.failed_element) == (InstanceStatus.RUNNING, 2, None)
    assert only_ready_task(ctx, instance_id).bpmn_id == "confirm"  # 'after' ran again, on version 2
    assert incident_state(ctx, instance_id) == "resolved"
    complete(ctx, instance_id)
    assert row(ctx, instance_id).status == InstanceStatus.COMPLETE


def test_a_person_whose_step_failed_tries_again_after_the_move_and_the_case_goes_on(ctx):
    clock.freeze(T0)
    steps_version(ctx, compute="hours = base_hour * 2")  # v1: a typo the deploy cannot see
    instance_id = start(ctx)
    task = only_ready_task(ctx, instance_id)
    with pytest.raises(ScriptError) as told:
        complete(ctx, instance_id)
    assert "process owner has been told" in told.value.message and "compute" not in told.value.message
    marked = row(ctx, instance_id)
    assert (marked.status, marked.failed_element) == (InstanceStatus.RUNNING, "compute")  # they may try again
    assert only_ready_task(ctx, instance_id).id == task.id

    steps_version(ctx, title="Ask for a note (v2)")
    dry = move(ctx, 2, dry_run=True)
    [verdict] = dry.instances
    assert dry.migrated == [instance_id] and verdict.movable
    assert "runs again" in verdict.will and "compute" in verdict.will
    assert [(w.element_id, w.kind, w.in_target) for w in verdict.waiting] == [("ask", "task", True)]
    assert row(ctx, instance_id).model.version == 1  # a dry run changes nothing

    assert move(ctx, 2).migrated == [instance_id]
    moved = only_ready_task(ctx, instance_id)
    assert (moved.id, moved.due_at, moved.title) == (task.id, task.due_at, "Ask for a note (v2)")
    complete(ctx, instance_id)
    assert row(ctx, instance_id).failed_element is None and incident_state(ctx, instance_id) == "resolved"
    with ctx.session_factory() as session:
        [waiting] = session.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.state == "pending"))
        assert waiting.bpmn_id == "wait"


def test_a_dry_run_lists_movable_and_refused_instances_and_a_refused_one_stays_as_it_was(ctx):
    steps_version(ctx)
    waiting_at_ask, waiting_at_timer = start(ctx, "CM-TEST-0001"), start(ctx, "CM-TEST-0002")
    complete(ctx, waiting_at_timer)
    steps_version(ctx, wait="wait_a_day")  # v2: the timer is another element now
    before = row(ctx, waiting_at_timer).state_json

    dry = move(ctx, 2, dry_run=True, from_version=1)
    assert dry.migrated == [waiting_at_ask]
    assert dry.refused == [{"instance_id": waiting_at_timer,
                            "reason": "waiting element Wait an hour (wait) is not in version 2"}]
    by_id = {v.instance_id: v for v in dry.instances}
    assert [(w.element_id, w.kind, w.in_target) for w in by_id[waiting_at_timer].waiting] == [("wait", "timer", False)]
    assert [(w.element_id, w.kind, w.in_target) for w in by_id[waiting_at_ask].waiting] == [("ask", "task", True)]

    done = move(ctx, 2, instance_ids=[waiting_at_ask, waiting_at_timer, 999_999])
    assert done.migrated == [waiting_at_ask]
    assert {r["instance_id"] for r in done.refused} == {waiting_at_timer, 999_999}
    assert (row(ctx, waiting_at_timer).model.version, row(ctx, waiting_at_timer).state_json) == (1, before)
    assert row(ctx, waiting_at_ask).model.version == 2
    complete(ctx, waiting_at_ask)  # and on version 2 it waits at version 2's timer
    with ctx.session_factory() as session:
        assert session.scalars(select(Timer.bpmn_id).where(Timer.instance_id == waiting_at_ask)).all() == ["wait_a_day"]


def test_a_stopped_instance_whose_step_fails_again_is_refused_and_stays_stopped(ctx):
    clock.freeze(T0)
    steps_version(ctx, after="total = hours + offset_hours")
    instance_id = start(ctx)
    complete(ctx, instance_id)
    clock.freeze(T0 + dt.timedelta(hours=2))
    with pytest.raises(ScriptError):
        fire_due_timers(ctx, instance_id)
    steps_version(ctx, after="total = hours + still_missing")  # a "fix" that is not one
    result = move(ctx, 2)
    [refused] = result.refused
    assert result.migrated == [] and "fails again" in refused["reason"] and "still_missing" in refused["reason"]
    stopped = row(ctx, instance_id)
    assert (stopped.status, stopped.model.version, stopped.failed_element) == (InstanceStatus.ERROR, 1, "after")


def test_every_move_and_every_request_is_audited_and_only_process_owners_may_ask(ctx):
    steps_version(ctx)
    instance_id = start(ctx)
    steps_version(ctx, title="v2")
    with pytest.raises(Forbidden):
        move(ctx, 2, username="caseworker1")
    with pytest.raises(Invalid):
        move(ctx, 2, instance_ids=list(range(migration.MAX_PER_CALL + 1)))
    move(ctx, 2, dry_run=True)
    move(ctx, 2)
    with ctx.session_factory() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ("migration_dry_run", "instances_migrated", "instance_migrated"))).order_by(AuditEvent.id)))
        moved = session.scalar(select(AuditEvent).where(AuditEvent.action == "instance_migrated"))
    assert actions == ["migration_dry_run", "instance_migrated", "instances_migrated"]
    assert (moved.subject_id, moved.case_code, json.loads(moved.detail_json)["to_version"]) == \
        (str(instance_id), "CM-TEST-0042", 2)


def test_new_instances_start_on_the_version_the_process_owner_chooses_until_the_next_deploy(ctx):
    steps_version(ctx)
    steps_version(ctx, title="v2")
    with ctx.uow() as uow:
        deployment.set_start_version(uow, user_id(ctx, "processowner1"), "steps", 1)
    assert row(ctx, start(ctx)).model.version == 1  # rolled back
    with pytest.raises(Forbidden), ctx.uow() as uow:
        deployment.set_start_version(uow, user_id(ctx, "caseworker1"), "steps", 2)
    steps_version(ctx, title="v3")
    assert row(ctx, start(ctx)).model.version == 3  # a deploy is where new instances start
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(HumanTask)
                              .where(HumanTask.process_id == "steps")) == 2


def intervene_hours_for_low(dmn: bytes, hours: int) -> bytes:
    """risk_timeframes.dmn with another intervention time for low risk."""
    root = etree.fromstring(dmn)
    ns = etree.QName(root).namespace
    column = [o.get("name") for o in root.iter(f"{{{ns}}}output")].index("intervene_within_hours")
    for one in root.iter(f"{{{ns}}}rule"):
        if "".join(one.find(f"{{{ns}}}inputEntry").itertext()).strip() == '"low"':
            one.findall(f"{{{ns}}}outputEntry")[column].find(f"{{{ns}}}text").text = str(hours)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_case_waiting_inside_its_risk_rating_moves_and_the_new_table_decides_R14(ctx):
    """The case's main instance waits in a called process (the initial assessment): it moves
    with it, and the changed timeframes table sets the low-risk due date."""
    driver = CaseDriver(ctx)
    code = driver.refer()
    driver.to_registered(code)
    waiting = driver.task(code, "initial_assessment")
    stock = spec_parsing.load_directory(WORKFLOWS)["risk_timeframes.dmn"]
    with ctx.uow() as uow:
        deployment.deploy_upload(uow, driver.uid("processowner1"),
                                 {"risk_timeframes.dmn": intervene_hours_for_low(stock, 240)})
    with ctx.session_factory() as session:
        main = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == code,
                                                            ProcessInstance.process_id == "case_management"))
        version = deployment.latest_model(session, "case_management").version
    with ctx.uow() as uow:
        result = migration.migrate_instances(uow, ctx.runtime, driver.uid("processowner1"), "case_management",
                                             version, instance_ids=[main.id])
    assert (result.migrated, result.refused) == ([main.id], [])
    assert driver.task(code, "initial_assessment").id == waiting.id
    driver.do(code, "initial_assessment", NEEDS_LOW)
    assert driver.now + dt.timedelta(hours=240) in {t.due_at for t in driver.tasks(code)}


def test_every_instance_of_a_version_moves_however_many_there_are_page_by_page(ctx, monkeypatch):
    """"Move every instance of this version" is not refused above the listing limit: the
    instances are taken a page at a time; the dry run counts them all and lists the first."""
    monkeypatch.setattr(migration, "MAX_PER_CALL", 3)
    steps_version(ctx)
    started = [start(ctx, case_code=f"CM-TEST-{n:04d}") for n in range(7)]
    steps_version(ctx, title="v2")
    trial = move(ctx, 2, dry_run=True, from_version=1)
    assert (trial.total, len(trial.instances), trial.unlisted) == (7, 3, 4)
    assert sorted(trial.migrated) == started and trial.refused == []
    assert {row(ctx, i).model.version for i in started} == {1}  # a dry run changes nothing
    result = move(ctx, 2, from_version=1)
    assert (result.total, sorted(result.migrated), result.refused) == (7, started, [])
    assert {row(ctx, i).model.version for i in started} == {2}
    with pytest.raises(Invalid, match="choose none and move every instance"):
        move(ctx, 1, instance_ids=started[:4])  # a list is still at most the limit
