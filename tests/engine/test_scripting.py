"""The sandboxed script engine, driven through real BpmnWorkflows (script tasks, gateway
conditions, DMN cells) and through ``lint``."""
from __future__ import annotations

import threading
import time
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.sandbox import LintIssue, SandboxViolation, lint
from engine.bpmn.script_engine import SandboxedScriptEngine, make_script_engine

DEFINITIONS = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="proc" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"""

SCRIPT_PROCESS = """
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script" />
  <bpmn:scriptTask id="script" name="Script">
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>{script}</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>"""

GATEWAY_PROCESS = """
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
  <bpmn:exclusiveGateway id="gw" default="to_small">
    <bpmn:incoming>f1</bpmn:incoming>
    <bpmn:outgoing>to_big</bpmn:outgoing><bpmn:outgoing>to_small</bpmn:outgoing>
  </bpmn:exclusiveGateway>
  <bpmn:sequenceFlow id="to_big" sourceRef="gw" targetRef="big">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_small" sourceRef="gw" targetRef="small" />
  <bpmn:scriptTask id="big"><bpmn:incoming>to_big</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>route = 'big'</bpmn:script></bpmn:scriptTask>
  <bpmn:scriptTask id="small"><bpmn:incoming>to_small</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:script>route = 'small'</bpmn:script></bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="big" targetRef="end" />
  <bpmn:sequenceFlow id="f3" sourceRef="small" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>"""

DECISION_PROCESS = """
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
  <bpmn:businessRuleTask id="decide" name="Decide">
    <bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>age_band</spiffworkflow:calledDecisionId>
    </bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
  </bpmn:businessRuleTask>
  <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>"""

TIMER_PROCESS = """
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
  <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:timerEventDefinition id="timer">
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDuration>
    </bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>"""

DMN = """<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dmn_defs"
  name="Age" namespace="http://example.org/dmn">
  <decision id="age_band" name="Age band">
    <decisionTable id="table">
      <input id="in_age" label="Age">
        <inputExpression id="in_age_expr" typeRef="integer"><text>age</text></inputExpression>
      </input>
      <output id="out_band" label="Band" name="band" typeRef="string" />
      <rule id="child"><inputEntry id="child_in"><text>{child_cell}</text></inputEntry>
        <outputEntry id="child_out"><text>"child"</text></outputEntry></rule>
      <rule id="adult"><inputEntry id="adult_in"><text>&gt;= 18</text></inputEntry>
        <outputEntry id="adult_out"><text>{adult_output}</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def build_workflow(body: str, data: dict | None = None, dmn: str | None = None,
                   engine: SandboxedScriptEngine | None = None) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(DEFINITIONS.format(body=body))
    if dmn is not None:
        parser.add_dmn_str(dmn)
    workflow = BpmnWorkflow(parser.get_spec("proc"), parser.get_subprocess_specs("proc"),
                            script_engine=engine or make_script_engine())
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data or {})
    return workflow


def script_workflow(script: str, data: dict | None = None, time_limit: float = 2.0) -> BpmnWorkflow:
    return build_workflow(SCRIPT_PROCESS.format(script=escape(script)), data,
                          engine=make_script_engine(time_limit=time_limit))


def task_named(workflow: BpmnWorkflow, bpmn_id: str):
    return next(t for t in workflow.get_tasks() if t.task_spec.bpmn_id == bpmn_id)


# -- script tasks -------------------------------------------------------------------------
def test_script_task_reads_and_writes_task_data():
    workflow = script_workflow(
        "total = sum(x * 2 for x in items)\n"
        "label = f'{name.upper()}-{total}'\n"
        "names = sorted({k: v for k, v in people.items() if v > 1})\n"
        "for i in range(3):\n"
        "    total += i\n"
        "del scratch",
        data={"items": [1, 2, 3], "name": "ann", "people": {"b": 2, "a": 3, "c": 0}, "scratch": 1})
    workflow.do_engine_steps()

    assert workflow.is_completed()
    data = task_named(workflow, "script").data
    assert data["total"] == 15 and data["label"] == "ANN-12" and data["names"] == ["a", "b"]
    assert "scratch" not in data
    assert not {"__builtins__", "_sandbox_tick", "range", "len"} & set(data)


ESCAPES = {
    "open_file": ("ok = 1\nleak = open('/etc/passwd').read()", 2),
    "dunder_import": ("leak = __import__('os').popen('id').read()", 1),
    "subclass_walk": ("x = 1\n\nleak = ().__class__.__bases__[0].__subclasses__()", 3),
    "format_field_traversal": ('leak = "{0.__class__}".format(1)', 1),
    "getattr_builtin": ("leak = getattr(1, '__class__')", 1),
    "import_statement": ("import os\nleak = os.listdir('/')", 1),
    "from_import": ("a = 1\nfrom os import path", 2),
    "lambda": ("f = (lambda: 1)", 1),
    "generator_frame": ("g = (x for x in [1])\nleak = g.gi_frame.f_globals", 2),
}


@pytest.mark.parametrize("script,line", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_attempt_fails_the_task_cleanly(script, line):
    workflow = script_workflow(script)

    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()

    task = task_named(workflow, "script")
    assert task.state == TaskState.ERROR
    assert caught.value.task is task and caught.value.line_number == line
    assert "not allowed" in str(caught.value) or "not available" in str(caught.value)
    assert "leak" not in task.data and "root:" not in repr(task.data)


@pytest.mark.parametrize("script,line", ESCAPES.values(), ids=ESCAPES.keys())
def test_lint_reports_escape_attempt_with_line_number(script, line):
    issues = lint(script)

    assert issues and issues[0].line == line
    assert all(isinstance(issue, LintIssue) for issue in issues)


def test_refusal_message_names_what_was_refused():
    with pytest.raises(WorkflowTaskException, match=r"import is not allowed \(line 1\)"):
        script_workflow("import os").do_engine_steps()


def test_endless_loop_is_stopped_by_the_time_limit():
    workflow = script_workflow("n = 0\nwhile True: pass", time_limit=0.2)
    started = time.monotonic()

    with pytest.raises(WorkflowTaskException, match="time limit of 0.2 s exceeded") as caught:
        workflow.do_engine_steps()

    assert time.monotonic() - started < 1.5
    assert task_named(workflow, "script").state == TaskState.ERROR
    assert caught.value.line_number == 2
    assert "n" in task_named(workflow, "script").data  # ran until stopped
    assert lint("n = 0\nwhile True: pass") == [
        LintIssue(2, 1, "endless loop: 'while' is always true and has no break")]


def test_time_limit_also_stops_loops_lint_cannot_see_and_nested_comprehensions():
    for script in ("n = 0\nwhile n >= 0:\n    n += 1",
                   "x = [1 for a in range(10**6) for b in range(10**6)]"):
        assert lint(script) == []
        with pytest.raises(WorkflowTaskException, match="time limit"):
            script_workflow(script, time_limit=0.2).do_engine_steps()


def test_time_limit_works_in_a_worker_thread():
    workflow = script_workflow("n = 0\nwhile n >= 0:\n    n += 1", time_limit=0.2)
    errors = []

    def run():
        try:
            workflow.do_engine_steps()
        except WorkflowTaskException as err:
            errors.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=5)

    assert not worker.is_alive()
    assert len(errors) == 1 and "time limit" in str(errors[0])


def test_huge_range_is_refused_at_run_time():
    with pytest.raises(WorkflowTaskException, match="range"):
        script_workflow("n = 10 ** 8\nitems = list(range(n))").do_engine_steps()


@pytest.mark.parametrize("script", ["s = 'a' * 10**9", "s = [0] * 1000 * 1000 * 1000",
                                    "n = 9 ** 9 ** 9", "n = 1 << 100000", "s = 'a'.zfill(10**9)",
                                    "s = f'{1:>999999999}'", "s = '%999999999d' % 1"])
def test_obvious_memory_bombs_are_refused_before_running(script):
    assert lint(script)
    with pytest.raises(WorkflowTaskException, match="not allowed"):
        script_workflow(script).do_engine_steps()


def test_script_runtime_error_reports_type_and_line():
    with pytest.raises(WorkflowTaskException, match="ZeroDivisionError") as caught:
        script_workflow("a = 1\nb = a / 0").do_engine_steps()
    assert caught.value.line_number == 2 and caught.value.error_line == "b = a / 0"


# -- gateway conditions -------------------------------------------------------------------
@pytest.mark.parametrize("amount,route", [(500, "big"), (5, "small")])
def test_gateway_condition_runs_in_the_sandbox(amount, route):
    workflow = build_workflow(GATEWAY_PROCESS.format(condition="amount &gt; 100"), {"amount": amount})
    workflow.do_engine_steps()

    assert workflow.is_completed()
    assert workflow.data["route"] == route


def test_gateway_condition_escape_fails_the_gateway():
    condition = escape("().__class__.__bases__[0].__subclasses__()")
    workflow = build_workflow(GATEWAY_PROCESS.format(condition=condition), {"amount": 1})

    with pytest.raises(WorkflowTaskException, match="attribute '__class__' is not allowed"):
        workflow.do_engine_steps()
    assert task_named(workflow, "gw").state == TaskState.ERROR


# -- timer expressions --------------------------------------------------------------------
def test_timer_expression_runs_in_the_sandbox():
    workflow = build_workflow(TIMER_PROCESS.format(expression=escape("'PT' + str(hours) + 'H'")), {"hours": 3})
    workflow.do_engine_steps()

    wait = task_named(workflow, "wait")
    assert wait.state == TaskState.WAITING and wait.internal_data["event_value"]


def test_timer_expression_escape_fails_the_timer():
    workflow = build_workflow(TIMER_PROCESS.format(expression=escape("__import__('os').getcwd()")))

    with pytest.raises(WorkflowTaskException, match="'__import__' is not allowed"):
        workflow.do_engine_steps()


# -- DMN cells ----------------------------------------------------------------------------
def decision_workflow(child_cell: str = "&lt; 18", adult_output: str = '"adult"', age: int = 30):
    dmn = DMN.format(child_cell=child_cell, adult_output=adult_output)
    return build_workflow(DECISION_PROCESS, {"age": age}, dmn=dmn)


@pytest.mark.parametrize("age,band", [(30, "adult"), (7, "child")])
def test_dmn_cells_run_in_the_sandbox(age, band):
    workflow = decision_workflow(age=age)
    workflow.do_engine_steps()

    assert workflow.is_completed()
    assert workflow.data["band"] == band


@pytest.mark.parametrize("cells", [
    {"child_cell": escape("__import__('os').getcwd()")},
    {"child_cell": escape("().__class__")},
    {"adult_output": escape("open('/etc/passwd').read()")},
], ids=["input_import", "input_dunder", "output_open"])
def test_dmn_cell_escape_fails_the_business_rule_task(cells):
    workflow = decision_workflow(**cells)

    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()

    assert "not allowed" in str(caught.value) or "not available" in str(caught.value)
    assert task_named(workflow, "decide").state == TaskState.ERROR
    assert "band" not in task_named(workflow, "decide").data


def test_validate_raises_syntax_error_for_unparsable_dmn_cells_and_refuses_escapes():
    engine = make_script_engine()
    engine.validate("age >= 18")
    with pytest.raises(SyntaxError):
        engine.validate(">= 18")  # DMNEngine relies on this to prefix the input expression
    with pytest.raises(SandboxViolation, match="__class__"):
        engine.validate("().__class__")


def test_augmented_operators_are_ordinary_scripts_not_a_crash_of_the_checker():
    """``x %= n`` once crashed the checker (it read a left operand augmented assignments lack)."""
    assert lint("x = 17\nx %= 5\nx **= 2\nx <<= 1\nlabel = 'n=%d' % x") == []
    workflow = script_workflow("x = 17\nx %= 5\nx **= 2", data={})
    workflow.do_engine_steps()
    assert task_named(workflow, "script").data["x"] == 4


# -- lint ---------------------------------------------------------------------------------
def test_lint_accepts_ordinary_scripts_and_expressions():
    assert lint("x = [i * 2 for i in items if i]\nif x:\n    y = {'a': len(x)}\nelse:\n    y = None") == []
    assert lint("  amount > 100 and status.lower() == 'open'", mode="eval") == []


def test_lint_reports_syntax_errors_with_position():
    assert lint("x = 1\ny = (", mode="exec")[0].line == 2
    assert lint("x = 1", mode="eval")[0].message.startswith("syntax error")


def test_lint_reports_every_violation_in_order():
    issues = lint("import os\nx = y.__dict__\nprint(x)")
    assert [(i.line, i.message) for i in issues] == [
        (1, "import is not allowed"),
        (2, "attribute '__dict__' is not allowed"),
        (3, "'print' is not available in scripts"),
    ]


def test_lint_does_not_run_the_code():
    assert lint("while True:\n    pass") and lint("x = 1") == []  # returns at once


def test_lint_rejects_unknown_mode():
    with pytest.raises(ValueError):
        lint("x", mode="single")
