"""Bounded execution in the engine: what untrusted diagrams and workflow data can no longer
do to a step — wait for ever, fan out without end, loop until SpiffWorkflow loses track, leave
unsaveable data — and the deploy-time bounds on what a bundle may hold. Each case that used
to stall, crash or mis-report now fails cleanly: a 422 at deploy naming the file, element
and line, or a ``ScriptError`` (422) naming the element that fails its step, written nowhere
(a start) or recorded on the instance (a later step)."""
from __future__ import annotations

import json
import time
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from engine.bpmn import engine_step, limits, spec_parsing, step_budget
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import ScriptError
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.process import deployment, human_tasks, instances
from engine.settings import Settings
from tests.engine.helpers import user_id
from tests.engine.spec_samples import REFERRAL, RISK, assert_problem, bundle, dmn_table, invalid, line_of, rule
from tests.engine.test_scripting import DEFINITIONS, build_workflow
from tests.fakes import FakeRuntime, FakeUnitOfWork, instance

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
      'id="defs_bounds" targetNamespace="http://example.org/bounds"')


def process(process_id: str, body: str, lanes: str = "") -> str:
    return f'<bpmn:process id="{process_id}" isExecutable="true">{lanes}{body}</bpmn:process>'


def user_task(task_id: str, due: str | None = None) -> str:
    due_property = f'<spiffworkflow:property name="due" value="{escape(due, {chr(34): "&quot;"})}"/>' if due else ""
    return (f'<bpmn:userTask id="{task_id}" name="{task_id.title()}"><bpmn:extensionElements>'
            f'<spiffworkflow:properties><spiffworkflow:property name="form" value="bounds_task.json"/>{due_property}'
            f'</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')


def chain(prefix: str, *elements: tuple[str, str]) -> str:
    """start → each (id, xml) → end, with the sequence flows."""
    ids = [f"{prefix}_start", *(i for i, _ in elements), f"{prefix}_end"]
    flows = "".join(f'<bpmn:sequenceFlow id="{prefix}_f{n}" sourceRef="{a}" targetRef="{b}"/>'
                    for n, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    return (f'<bpmn:startEvent id="{prefix}_start"/>' + "".join(x for _, x in elements) + flows
            + f'<bpmn:endEvent id="{prefix}_end"/>')


def timer(timer_id: str, kind: str, expression: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="{timer_id}" name="{timer_id}"><bpmn:timerEventDefinition '
            f'id="{timer_id}_def"><bpmn:{kind}>{escape(expression)}</bpmn:{kind}></bpmn:timerEventDefinition>'
            f'</bpmn:intermediateCatchEvent>')


LANES = ('<bpmn:laneSet id="{p}_lanes"><bpmn:lane id="{p}_lane" name="caseworker">'
         '{refs}</bpmn:lane></bpmn:laneSet>')


def lanes(process_id: str, *task_ids: str) -> str:
    return LANES.format(p=process_id, refs="".join(f"<bpmn:flowNodeRef>{t}</bpmn:flowNodeRef>" for t in task_ids))


FANOUT = process("bounds_fanout", chain(
    "fo", ("ask", user_task("ask")),
    ("each", '<bpmn:scriptTask id="each" name="Each"><bpmn:multiInstanceLoopCharacteristics isSequential="false">'
             '<bpmn:loopCardinality>count</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>'
             '<bpmn:script>visited = True</bpmn:script></bpmn:scriptTask>'),
    ("leave", '<bpmn:scriptTask id="leave" name="Leave"><bpmn:script>'
              'pending = (x for x in [1]) if leave_generator else None</bpmn:script></bpmn:scriptTask>'),
    ("last", user_task("last"))), lanes("bounds_fanout", "ask", "last"))
TIMERS = "".join([
    process("bounds_timer", chain("tm", ("wait_for", timer("wait_for", "timeDuration", "wait")))),
    process("bounds_date", chain("td", ("wait_until", timer("wait_until", "timeDate", "until")))),
    process("bounds_huge_timer", chain("th", ("wait_long", timer("wait_long", "timeDuration", 'f"PT{10**4000}H"')))),
    process("bounds_due", chain("du", ("answer", user_task("answer", "(due_hours)"))), lanes("bounds_due", "answer")),
])
FILES = {"bounds.bpmn": f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS}>{FANOUT}{TIMERS}'
                        f'</bpmn:definitions>',
         "bounds_task.json": json.dumps({"type": "object"})}


@pytest.fixture
def bounds(ctx):
    with ctx.uow() as uow:
        deployment.deploy_files(uow, FILES, merge_with_deployed=False)
        uow.commit()
    return ctx


def instance_count(ctx, process_id: str) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(func.count()).where(ProcessInstance.process_id == process_id))


def start(ctx, process_id: str, data: dict, username: str = "caseworker1") -> int:
    with ctx.uow() as uow:
        started = instances.start_process(uow, ctx.runtime, process_id, user_id(ctx, username), data)
        uow.commit()
        return started.id


def refused_start(ctx, process_id: str, data: dict, *words: str) -> ScriptError:
    """The start fails with a ScriptError within a second and writes nothing."""
    before = time.monotonic()
    with ctx.uow() as uow, pytest.raises(ScriptError) as caught:
        instances.start_process(uow, ctx.runtime, process_id, user_id(ctx, "caseworker1"), data)
    assert time.monotonic() - before < 1, f"{process_id} {data} took too long to refuse"
    assert caught.value.status == 422 and "process owner has been told" in caught.value.message
    cause = caught.value.__cause__  # what the person is not shown
    for word in words:
        assert word in cause.message, cause.message
    assert instance_count(ctx, process_id) == 0
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.subject_type == "process_instance")) == 0
    return cause


def ready(ctx, instance_id: int) -> list[HumanTask]:
    with ctx.session_factory() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.state == "ready")))


def refused_completion(ctx, instance_id: int, data: dict) -> ScriptError:
    """Completing the instance's one ready task fails its step: nothing of the step is
    saved, the failure is recorded on the instance (marked at its element), the task is
    still open, and the person is told in words (the engine's own error is its cause)."""
    [task] = ready(ctx, instance_id)
    before = time.monotonic()
    with ctx.uow() as uow, pytest.raises(ScriptError) as caught:
        human_tasks.complete_task(uow, ctx.runtime, user_id(ctx, "caseworker1"), task.id, data)
    assert time.monotonic() - before < 2
    assert "process owner has been told" in caught.value.message
    cause = caught.value.__cause__
    with ctx.session_factory() as session:
        row = session.get(ProcessInstance, instance_id)
        assert (row.status, row.failed_element) == ("running", cause.details.get("element_id") or task.bpmn_id)
    assert [t.id for t in ready(ctx, instance_id)] == [task.id]
    return cause


# -- finding 1: durations, end to end ---------------------------------------------------------
def test_a_readiness_activity_whose_interval_from_data_is_beyond_the_maximum_fails_its_start_R41(ctx):
    """Starting bcp_readiness_activity with every_days "10000000Y1" made SpiffWorkflow walk
    a duration of ten million years month by month: now the start fails at once."""
    err = refused_start(ctx, "bcp_readiness_activity", {"activity": "crisis_drill", "every_days": "10000000Y1"},
                        "maximum of 3653 days")
    assert err.details["element_id"] == "wait_interval"


def test_a_timer_of_a_billion_years_is_refused_at_deploy_naming_file_element_and_line():
    broken = REFERRAL.replace('<bpmn:timeDuration>"P7D"</bpmn:timeDuration>',
                              '<bpmn:timeDuration>"P999999999Y"</bpmn:timeDuration>')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review_timer", line_of(broken, '"P999999999Y"'), "maximum")


def test_a_due_of_a_hundred_thousand_years_is_refused_at_deploy_naming_file_element_and_line():
    broken = REFERRAL.replace('name="due" value="PT24H"', 'name="due" value="P100000Y"')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review", line_of(broken, 'value="P100000Y"'), "maximum")


def test_due_times_computed_from_data_beyond_the_bounds_fail_the_step_cleanly(bounds):
    for hours in (10**30, float("nan"), 1e300, -10**9, 24 * 3654):
        err = refused_start(bounds, "bounds_due", {"due_hours": hours}, "due time of Answer")
        assert err.details["element_id"] == "answer"
    assert start(bounds, "bounds_due", {"due_hours": 48})  # within the bounds it runs


# -- finding 9: timer values from data --------------------------------------------------------
def test_timer_values_that_are_no_bounded_duration_or_date_fail_the_start_cleanly(bounds):
    for value in ("abc", 5, None, [1, 2], "PT" + "9" * 4001 + "H", "PT99999999999999999999H", "P10000000Y1D"):
        err = refused_start(bounds, "bounds_timer", {"wait": value}, "timer wait_for")
        assert err.details["element_id"] == "wait_for"
    refused_start(bounds, "bounds_date", {"until": "not-a-date"}, "not an ISO 8601 date and time")
    for far in ("2999-01-01T00:00:00Z", "2999-01-01"):  # a plain date from data, far beyond the maximum
        err = refused_start(bounds, "bounds_date", {"until": far}, "is more than 3653 days from now")
        assert err.details["element_id"] == "wait_until"
    refused_start(bounds, "bounds_huge_timer", {}, "is not an ISO 8601 duration")  # f"PT{10**4000}H"
    assert start(bounds, "bounds_timer", {"wait": "PT1H"})


def test_a_script_that_leaves_a_generator_in_task_data_fails_its_step_not_the_save(bounds):
    instance_id = start(bounds, "bounds_fanout", {})
    err = refused_completion(bounds, instance_id, {"count": 1, "leave_generator": True})
    assert err.details["element_id"] == "leave" and "'pending' holds a generator" in err.message


def test_an_instance_state_beyond_the_maximum_size_fails_its_step(bounds):
    instance_id = start(bounds, "bounds_fanout", {})
    with limits.overridden(max_state_kb=64):
        err = refused_completion(bounds, instance_id, {"count": 1, "leave_generator": False, "notes": "x" * 70_000})
    assert "more than the maximum of 64 KB (MAX_STATE_KB)" in err.message


# -- finding 5: fan-out, engine tasks per step, the task tree -------------------------------------
def test_a_multi_instance_count_beyond_the_maximum_fails_the_step_naming_the_element(bounds):
    """A cardinality of 5,000 from data ran for 39 s holding the write lock."""
    instance_id = start(bounds, "bounds_fanout", {})
    err = refused_completion(bounds, instance_id, {"count": 5000, "leave_generator": False})
    assert err.details["element_id"] == "each"
    assert "Each would make 5000 instances, more than the maximum of 200 (MAX_MULTI_INSTANCE)" in err.message
    err = refused_completion(bounds, instance_id, {"count": "many", "leave_generator": False})
    assert "gave 'many', not a whole number" in err.message
    with bounds.uow() as uow:  # within the bound the same task completes and the instance moves on
        human_tasks.complete_task(uow, bounds.runtime, user_id(bounds, "caseworker1"), ready(bounds, instance_id)[0].id,
                                  {"count": 3, "leave_generator": False})
    assert [t.bpmn_id for t in ready(bounds, instance_id)] == ["last"]


SEQUENTIAL = """
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each" />
  <bpmn:scriptTask id="each" name="Each item"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:multiInstanceLoopCharacteristics isSequential="true">{loop}
      <bpmn:loopDataOutputRef>seen</bpmn:loopDataOutputRef><bpmn:outputDataItem id="twice" name="twice" />
    </bpmn:multiInstanceLoopCharacteristics>
    <bpmn:script>twice = {item} * 2</bpmn:script></bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>"""
OVER_ITEMS = SEQUENTIAL.format(item="item", loop='<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>'
                                                '<bpmn:inputDataItem id="item" name="item" />')
BY_CARDINALITY = SEQUENTIAL.format(item="1", loop="<bpmn:loopCardinality>count</bpmn:loopCardinality>")


def test_a_sequential_multi_instance_from_data_is_bounded_too():
    with pytest.raises(ScriptError, match="Each item would make 201 instances, more than the maximum of 200"):
        ProcessRuntime().advance(build_workflow(OVER_ITEMS, {"items": list(range(201))}))
    with pytest.raises(ScriptError, match="Each item would make 5000 instances"):
        ProcessRuntime().advance(build_workflow(BY_CARDINALITY, {"count": 5000}))
    within = build_workflow(OVER_ITEMS, {"items": [1, 2, 3]})
    ProcessRuntime().advance(within)
    assert within.is_completed() and within.last_task.data["seen"] == [2, 4, 6]


def loop_workflow(passes: int):
    body = """
      <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="join" />
      <bpmn:exclusiveGateway id="join"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>back</bpmn:incoming>
        <bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
      <bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="count" />
      <bpmn:scriptTask id="count" name="Count"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
        <bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
      <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="again" />
      <bpmn:exclusiveGateway id="again" name="Again?" default="out"><bpmn:incoming>f3</bpmn:incoming>
        <bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>out</bpmn:outgoing></bpmn:exclusiveGateway>
      <bpmn:sequenceFlow id="back" sourceRef="again" targetRef="join">
        <bpmn:conditionExpression>n &lt; passes</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="out" sourceRef="again" targetRef="end" />
      <bpmn:endEvent id="end"><bpmn:incoming>out</bpmn:incoming></bpmn:endEvent>"""
    assert DEFINITIONS  # the same wrapper as the sandbox tests
    return build_workflow(body, {"n": 0, "passes": passes})


def test_a_loop_deeper_than_spiffworkflow_can_follow_fails_loudly_instead_of_reporting_complete():
    """Finding 11: SpiffWorkflow's task iterator stops at depth 1,000, so a loop of 400
    passes reported ``complete`` after 333 with a gateway still READY."""
    workflow = loop_workflow(400)
    with pytest.raises(ScriptError, match=r"more than 800 tasks deep \(MAX_TASK_DEPTH\)") as caught:
        ProcessRuntime().advance(workflow)
    assert caught.value.details["element_id"] in ("count", "again", "join")
    short = loop_workflow(50)
    ProcessRuntime().advance(short)
    assert short.is_completed() and short.last_task.data["n"] == 50  # a loop within the bound is untouched


def test_engine_tasks_per_step_are_bounded():
    with limits.overridden(max_engine_tasks=60), \
            pytest.raises(ScriptError, match=r"more than 60 engine tasks ran in one step \(MAX_ENGINE_TASKS\)"):
        ProcessRuntime().advance(loop_workflow(100))


def test_the_task_tree_size_is_bounded():
    with limits.overridden(max_tasks=100), pytest.raises(ScriptError, match=r"more than 100 tasks \(MAX_TASKS\)"):
        ProcessRuntime().advance(loop_workflow(100))


def test_every_engine_step_runs_within_one_budget_and_a_nested_step_shares_it():
    seen = []

    class BudgetSeeingRuntime(FakeRuntime):
        def advance(self, workflow) -> None:
            seen.append(step_budget.active())

    row = instance()
    engine_step.start(FakeUnitOfWork(), BudgetSeeingRuntime(), row.model, actor_id=5, data={})
    assert seen[0] is not None and step_budget.active() is None
    with step_budget.running() as outer:
        engine_step.start(FakeUnitOfWork(), BudgetSeeingRuntime(), row.model, actor_id=5, data={})
    assert seen[1] is outer


# -- deploy-time size bounds --------------------------------------------------------------------
def chain_of(count: int) -> str:
    tasks = "".join(f'<bpmn:scriptTask id="s{i}"><bpmn:script>x = {i}</bpmn:script></bpmn:scriptTask>'
                    f'<bpmn:sequenceFlow id="f{i}" sourceRef="{"start" if i == 0 else f"s{i - 1}"}" '
                    f'targetRef="s{i}"/>' for i in range(count))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS}>\n<bpmn:process id="big" '
            f'isExecutable="true"><bpmn:startEvent id="start"/>{tasks}<bpmn:sequenceFlow id="fend" '
            f'sourceRef="s{count - 1}" targetRef="end"/><bpmn:endEvent id="end"/></bpmn:process></bpmn:definitions>')


def test_a_process_with_more_flow_elements_than_the_maximum_is_refused_at_deploy_at_once():
    """A deployable 10,000-element diagram took 620 s to start."""
    started = time.monotonic()
    err = invalid(bundle(big_bpmn=chain_of(5000)))
    assert time.monotonic() - started < 2
    assert_problem(err, "big.bpmn", "big", 3, "10003 flow elements", "maximum of 2000 (MAX_FLOW_ELEMENTS)")
    assert "big" in spec_parsing.parse_bundle(bundle(big_bpmn=chain_of(300))).processes  # 603: within


def test_a_decision_table_with_more_rules_than_the_maximum_is_refused_before_its_gap_check():
    """The gap check is quadratic: 4,000 rules took 23 s at upload."""
    rules = "\n".join(rule(f"r{i}", f"== {i}") for i in range(4000))
    started = time.monotonic()
    err = invalid(bundle(risk_dmn=dmn_table(rules, policy=' hitPolicy="FIRST"')))
    assert time.monotonic() - started < 2
    assert_problem(err, "risk.dmn", "risk", 5, "4000 rules", "maximum of 500 (MAX_DMN_RULES)")
    assert RISK  # the sample's own table (3 rules) deploys, as every other test shows


def test_a_chain_too_long_for_spiffworkflows_parser_is_refused_with_a_hint_not_a_recursion_error():
    err = invalid(bundle(big_bpmn=chain_of(900)))  # within the element bound, beyond the parser's recursion
    assert err.file == "big.bpmn" and err.status == 422 and err.element_id
    assert "too long a chain" in err.message and "Recursion" not in err.message


def test_every_bound_is_a_setting_read_from_the_environment_and_checked(tmp_path):
    env = {"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x", "STEP_TIME_LIMIT": "1.5", "MAX_ENGINE_TASKS": "70",
           "MAX_TASKS": "900", "MAX_TASK_DEPTH": "300", "MAX_MULTI_INSTANCE": "7", "MAX_STATE_KB": "64",
           "MAX_FLOW_ELEMENTS": "50", "MAX_DMN_RULES": "9", "MAX_FORM_DEPTH": "4", "MAX_FORM_KB": "8",
           "MAX_MEMORY_MB": "512"}
    settings = Settings.from_env(env)
    assert limits.Limits.from_settings(settings) == limits.Limits(
        step_time_limit=1.5, max_engine_tasks=70, max_tasks=900, max_task_depth=300, max_multi_instance=7,
        max_state_kb=64, max_flow_elements=50, max_dmn_rules=9, max_form_depth=4, max_form_kb=8)
    assert settings.max_memory_mb == 512
    defaults = Settings.from_env({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x"})
    assert limits.Limits.from_settings(defaults) == limits.Limits()  # the same defaults both ways
    with pytest.raises(ValueError, match="below 950"):
        limits.Limits(max_task_depth=1200)  # SpiffWorkflow would skip the deeper tasks silently
    with pytest.raises(ValueError, match="positive"):
        limits.Limits(max_multi_instance=0)
