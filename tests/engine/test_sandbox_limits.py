"""The sandbox's size guards and the engine step's time budget, driven through real
BpmnWorkflows and the runtime: every attack that used to freeze the process for seconds or
allocate gigabytes inside one C-level operation is now refused before it runs, as a clean
diagram failure naming the element; ordinary scripts still compute what they did."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import limits, step_budget
from engine.bpmn.runtime import ProcessRuntime
from engine.bpmn.sandbox import MAX_ITEMS, lint
from engine.errors import ScriptError
from engine.infra import process_limits
from engine.settings import PROJECT_ROOT, Settings
from tests.engine.test_scripting import decision_workflow, script_workflow, task_named

# each of these ran for seconds or allocated gigabytes before the guards (see the issue)
ATTACKS = {
    "huge_power_from_data": ("x = 3 ** n", {"n": 2 * 10**7}),
    "string_times_data": ("s = 'a' * n", {"n": 2 * 10**9}),
    "augmented_repeat_passes_the_deploy_check": ("x = 'a'\nx *= 1500000000", {}),
    "augmented_repeat_of_an_item": ("d = {'k': 'a'}\nd['k'] *= n", {"n": 10**9}),
    "list_times_data": ("x = [0] * n", {"n": 10**9}),
    "shift_from_data": ("x = 1 << n", {"n": 10**9}),
    "squaring_in_a_loop": ("x = 7\nfor i in range(40):\n    x = x * x", {}),
    "doubling_by_plus": ("x = [1]\nfor i in range(40):\n    x = x + x", {}),
    "doubling_by_plus_equals": ("x = 'ab'\nfor i in range(40):\n    x += x", {}),
    "doubling_by_extend": ("x = [1]\nfor i in range(40):\n    x.extend(x)", {}),
    "doubling_by_starred_display": ("x = [1]\nfor i in range(40):\n    x = [*x, *x]", {}),
    "doubling_by_slice_assignment": ("x = [1]\nfor i in range(40):\n    x[:0] = x", {}),
    "doubling_by_f_string": ("x = 's'\nfor i in range(40):\n    x = f'{x}{x}'", {}),
    "doubling_by_percent": ("x = 's'\nfor i in range(40):\n    x = '%s%s' % (x, x)", {}),
    "join_of_many_long_parts": ("x = ','.join(['abc' * 1000] * 10000)", {}),
    "replace_growth": ("x = text.replace('a', 'b' * 50)", {"text": "a" * 10**5}),
    "padding_to_a_width_from_data": ("x = 'a'.ljust(n)", {"n": 10**9}),
    "zfill_from_data": ("x = '1'.zfill(n)", {"n": 10**9}),
    "f_string_width_from_data": ("x = f'{1:{n}}'", {"n": 10**9}),
    "percent_width_from_data": ("x = fmt % 1", {"fmt": "%999999999d"}),
    "text_of_many_references": ("x = str(['a' * 10**6] * 10**6)", {}),
    "sorting_many_references_to_a_long_string": ("x = sorted(['a' * 10**6] * 10**6)", {}),
    "comparing_with_an_equal_copy": ("a = 'a' * 10**6\nb = 'a' * 10**6\nx = [a] * 10**6 == [b] * 10**6", {}),
    "searching_a_comprehension": ("a = 'a' * 10**6\nb = 'a' * 10**6\nx = b in [a for i in range(10**6)]", {}),
    "counting_in_place": ("a = 'a' * 10**6\nx = [a] * 10**6\nn = x.count('a' * 10**6)", {}),
}


@pytest.mark.parametrize("script, data", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_operation_that_would_be_huge_is_refused_before_it_runs(script, data):
    workflow = script_workflow(script, data)
    started = time.monotonic()
    with pytest.raises(WorkflowTaskException, match="not allowed") as caught:
        workflow.do_engine_steps()
    assert time.monotonic() - started < 2  # it used to run for seconds or to allocate gigabytes
    assert task_named(workflow, "script").state == TaskState.ERROR
    assert caught.value.line_number is not None  # the line that would have blown up


def test_sum_of_many_lists_is_refused_and_a_smaller_one_runs_in_linear_time_with_the_same_result():
    """``sum([[1]] * 120000, [])`` froze the process for 6-8 s (each step copies the whole
    result so far)."""
    for script in ("x = sum([[1]] * n, [])", "x = sum(([1] for i in range(n)), [])"):
        started = time.monotonic()
        with pytest.raises(WorkflowTaskException, match="sum\\(\\) of more than 10000 lists or tuples"):
            script_workflow(script, {"n": 120_000}).do_engine_steps()
        assert time.monotonic() - started < 2
    workflow = script_workflow("x = sum(parts, [])\ny = sum([(1,), (2, 3)], ())\nz = sum([1, 2.5])",
                               {"parts": [[1, 2]] * 10_000})
    workflow.do_engine_steps()
    data = task_named(workflow, "script").data
    assert data["x"] == [1, 2] * 10_000 and data["y"] == (1, 2, 3) and data["z"] == 3.5
    with pytest.raises(WorkflowTaskException, match="can only concatenate list"):
        script_workflow("x = sum([[1], (2,)], [])").do_engine_steps()
    with pytest.raises(WorkflowTaskException, match="sum\\(\\) would have more than"):
        script_workflow("x = sum([big, big], [])", {"big": [0] * MAX_ITEMS}).do_engine_steps()


def test_ordinary_scripts_compute_what_they_did_with_the_guards_in_place():
    script = textwrap.dedent("""\
        w = 2 ** 10
        z = [1, 2] * 3
        y = 'ab' + name
        v = 'a-b'.replace('-', '+')
        u = ', '.join(sorted(tags))
        s = f'{w:>6}|{u!r}|{w:{width}}'
        t = 'x%05d' % 3
        items = [1]
        alias = items
        items += [2]
        counts = {'a': [1], 'n': 5}
        counts['a'] += [3]
        counts['n'] *= 2
        items[0:1] = [9, 9]
        both = [*items, *z]
        big = 10 ** 4000 // 10 ** 3999
        title = str(counts)
        ordered = sorted(str(i) for i in range(2000))[:2]
        found = 1999 in list(range(2000)) and [1, 2] < [1, 3] and max(3, 9) == 9 < 10""")
    workflow = script_workflow(script, {"name": "c", "tags": ["b", "a"], "width": 4})
    workflow.do_engine_steps()
    data = task_named(workflow, "script").data
    assert (data["w"], data["z"], data["y"], data["v"], data["u"]) == (1024, [1, 2, 1, 2, 1, 2], "abc", "a+b", "a, b")
    assert data["s"] == "  1024|'a, b'|1024" and data["t"] == "x00003"
    assert data["alias"] is data["items"] and data["items"] == [9, 9, 2]  # += still extends in place
    assert data["counts"] == {"a": [1, 3], "n": 10} and data["both"] == [9, 9, 2, 1, 2, 1, 2, 1, 2]
    assert data["big"] == 10 and data["title"] == "{'a': [1, 3], 'n': 10}"
    assert data["ordered"] == ["0", "1"] and data["found"] is True


def test_a_decision_table_cell_that_would_allocate_a_gigabyte_fails_the_business_rule_task():
    workflow = decision_workflow(adult_output='"x" * size')
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data["size"] = 10**9
    with pytest.raises(ScriptError, match="repeating a sequence would have more than") as caught:
        ProcessRuntime().advance(workflow)
    assert caught.value.details["element_id"] == "decide" and caught.value.status == 422


def test_a_size_refusal_through_the_runtime_is_a_script_error_naming_the_element():
    with pytest.raises(ScriptError, match="the diagram failed at Script: repeating a sequence") as caught:
        ProcessRuntime().advance(script_workflow("s = 'a' * n", {"n": 10**9}))
    assert caught.value.details["element_id"] == "script" and caught.value.status == 422


def test_lint_still_passes_code_whose_sizes_are_known_only_at_run_time():
    """The run-time guards add no deploy refusals: scripts that are fine for small data deploy."""
    assert lint("x *= 1500000000\ns = 'a' * n\nt = sep.join(parts)\np = '1'.zfill(width)") == []


# -- the engine step's time budget --------------------------------------------------------
def test_a_loop_stops_at_the_step_deadline_when_that_comes_before_the_scripts_own():
    workflow = script_workflow("n = 0\nwhile n >= 0:\n    n += 1", time_limit=30)
    with limits.overridden(step_time_limit=0.2), step_budget.running(), \
            pytest.raises(ScriptError, match="engine step's time limit of 0.2 s exceeded"):
        ProcessRuntime(script_time_limit=30).advance(workflow)


def test_nothing_more_runs_once_the_step_time_is_used_up():
    """Many short scripts and tasks cannot add up to more than the step budget: each engine
    task, and each script, condition or cell, checks the step's time before it starts."""
    workflow = script_workflow("ran = True")
    runtime = ProcessRuntime()
    with limits.overridden(step_time_limit=5.0), step_budget.running() as budget:
        budget.deadline = time.monotonic() - 1  # as after a step that already took its time
        with pytest.raises(ScriptError, match="time limit of 5 s is used up"):
            runtime.advance(workflow)
        with pytest.raises(ScriptError, match="time limit of 5 s is used up") as caught:
            runtime.evaluate(task_named(workflow, "script"), "1 + 1")  # as a due expression is
    assert "ran" not in task_named(workflow, "script").data
    assert caught.value.details["element_id"] == "script"


def test_a_step_inside_a_step_shares_its_budget():
    with step_budget.running() as outer, step_budget.running() as inner:
        assert inner is outer
    assert step_budget.active() is None


# -- the address-space limit of production processes ---------------------------------------
def test_the_memory_limit_applies_to_production_processes_only():
    production = Settings(database_url="postgresql+psycopg://db/casework", production=True, max_memory_mb=512)
    assert process_limits.memory_limit_bytes(production) == 512 * 1024 * 1024
    assert process_limits.memory_limit_bytes(Settings(database_url="postgresql+psycopg://db/x")) is None
    assert process_limits.memory_limit_bytes(Settings(database_url="sqlite:///x.db", production=True)) is None
    assert process_limits.memory_limit_bytes(
        Settings(database_url="postgresql+psycopg://db/x", production=True, testing=True)) is None
    assert process_limits.memory_limit_bytes(
        Settings(database_url="postgresql+psycopg://db/x", production=True, max_memory_mb=0)) is None


def test_a_limited_process_refuses_an_allocation_beyond_the_limit_with_memory_error():
    program = textwrap.dedent("""\
        from engine.infra.process_limits import apply_memory_limit
        from engine.settings import Settings
        limit = apply_memory_limit(Settings(database_url="postgresql+psycopg://db/x", production=True,
                                            max_memory_mb=1024))
        try:
            block = bytearray(2 * limit)
        except MemoryError:
            print("refused", limit)
        """)
    result = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.split() == ["refused", str(1024 * 1024 * 1024)]


@pytest.mark.parametrize("entry_point, builds", [("webui/wsgi.py", "create_app(settings)"),
                                                  ("tasks/worker.py", "bootstrap.build(settings")])
def test_the_production_entry_points_apply_the_memory_limit_before_building_anything(entry_point, builds):
    source = Path(PROJECT_ROOT, entry_point).read_text()
    assert 0 < source.index("apply_memory_limit(settings)") < source.index(builds)
