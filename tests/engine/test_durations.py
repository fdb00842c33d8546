"""The one ISO 8601 parser (engine.bpmn.durations): what it reads, its bounds, and that a
due time or timer deploy accepts is one the engine can run, and means the same instant."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import durations, spec_parsing, spec_validation, task_sync
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import ScriptError
from tests.engine.spec_samples import REFERRAL, bundle

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.mark.parametrize("text, span", [
    ("PT24H", 24 * H), ("P7D", 7 * D), ("P2W", 14 * D), ("p2w", 14 * D), ("P1DT12H", 36 * H), ("PT1.5H", 1.5 * H),
    ("PT0,5H", 0.5 * H), ("P1M", 31 * D), ("P1Y", 365 * D), ("PT90M", 90 * dt.timedelta(minutes=1)),
    ("P1W2D", 9 * D), ("P10Y", 3652 * D)])
def test_durations_it_reads_and_the_instant_they_give(text, span):
    assert durations.parse_duration(text).after(T0) == T0 + span


def test_months_count_calendar_months_from_the_start_as_spiffworkflow_does():
    february = dt.datetime(2026, 2, 15, tzinfo=UTC)
    assert durations.parse_duration("P1M").after(february) == february + 28 * D
    assert durations.parse_duration("P13M").after(T0) == T0 + (365 + 31) * D


@pytest.mark.parametrize("text", ["P", "PT", "P1YT", "P1X", "PT24", "24H", "P1.5Y2M", "P-1D", " ", "P1234567890D",
                                  "PT1H1H"])
def test_malformed_durations_are_refused(text):
    with pytest.raises(durations.DurationError):
        durations.parse_duration(text)


@pytest.mark.parametrize("text", ["P11Y", "P3654D", "P999999999Y", "PT87673H", "P131M", "P523W"])
def test_durations_beyond_ten_years_are_refused_before_any_arithmetic(text):
    with pytest.raises(durations.DurationError, match="maximum"):
        durations.parse_duration(text)


def test_the_maximum_is_a_setting():
    durations.configure(30)
    try:
        with pytest.raises(durations.DurationError):
            durations.parse_duration("P31D")
        assert durations.parse_duration("P30D").after(T0) == T0 + 30 * D
    finally:
        durations.configure(durations.DEFAULT_MAX_DAYS)


@pytest.mark.parametrize("hours", [float("nan"), float("inf"), -1, -10**9, 1e300, 10**30, True, None, "48", [48]])
def test_a_due_expression_must_give_a_finite_number_of_hours_within_the_maximum(hours):
    with pytest.raises(durations.DurationError):
        durations.hours_after(hours, T0)


@pytest.mark.parametrize("text, cycles, first, every", [
    ("R3/PT1H", 3, T0 + H, H), ("R/P1D", -1, T0 + D, D),
    ("R2/2026-01-20T09:00:00+00:00/P1D", 2, T0 + 5 * D, D), ("R5/P1D/2026-01-25T09:00:00Z", 5, T0 + 9 * D, D)])
def test_repeating_intervals(text, cycles, first, every):
    cycle = durations.parse_cycle(text, T0)
    assert (cycle.cycles, cycle.first, cycle.every) == (cycles, first, every)


@pytest.mark.parametrize("text", ["R3/P0D", "R10001/PT1H", "R3/P11Y", "R3", "R3/2026-01-01/2026-02-01", "3/PT1H",
                                  "R3/2999-01-01T00:00:00Z/P1D"])
def test_bad_repeating_intervals_are_refused(text):
    with pytest.raises(durations.DurationError):
        durations.parse_cycle(text, T0)


@given(st.integers(0, 99), st.integers(0, 11), st.integers(0, 30), st.integers(0, 23), st.integers(0, 59),
       st.sampled_from([dt.datetime(2026, m, d, tzinfo=UTC) for m in (1, 2, 3, 12) for d in (1, 15, 28)]))
@settings(max_examples=200, deadline=None)
def test_within_bounds_our_instants_equal_spiffworkflows(years, months, days, hours, minutes, start):
    years = years % 9
    text = f"P{years}Y{months}M{days}DT{hours}H{minutes}M"
    ours = durations.parse_duration(text).after(start)
    theirs = start + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), start)
    assert ours == theirs


# -- what deploy accepts runs ----------------------------------------------------------------
def _review_task(due: str):
    """Deploy the sample with ``due`` on its 'review' task and run it to that task."""
    value = due.replace('"', "&quot;")
    parsed = spec_parsing.parse_bundle(bundle(referral_bpmn=REFERRAL.replace('value="PT24H"', f'value="{value}"')))
    process = parsed.processes["referral"]
    runtime = ProcessRuntime()
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=runtime.script_engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(prior_reports_count=0, severity="low", hours_left=4, pending_hours=6, assignee=None)
    workflow.do_engine_steps()
    [task] = runtime.ready_human_tasks(workflow)
    return runtime, task


@pytest.mark.parametrize("due, span", [
    ("P7D", 7 * D), ("PT24H", 24 * H), ("p2w", 14 * D), ("P1DT12H", 36 * H), ("48", 48 * H), ("(pending_hours)", 6 * H),
    ('"P3D"', 3 * D), ("hours_left * 2 if hours_left else 'P1D'", 8 * H), ("P1.5D", 36 * H)])
def test_every_due_that_deploy_accepts_runs_and_gives_its_instant(due, span):
    runtime, task = _review_task(due)
    assert task_sync.due_from_property(runtime, task, due, T0) == T0 + span


def _deploy_problems(due: str) -> list:
    prop = etree.fromstring(f'<property name="due" value="{due}"/>')
    return spec_validation._check_due("x.bpmn", "task", prop, due)


@given(st.text(alphabet="PpTYMWDHS0123456789.,", min_size=1, max_size=14).map(lambda s: "P" + s))
@settings(max_examples=400, deadline=None)
def test_a_duration_deploy_accepts_is_one_the_engine_runs_and_the_reverse(text):
    accepted = not _deploy_problems(text)
    try:
        durations.parse_duration(text).after(T0)
        runs = True
    except durations.DurationError:
        runs = False
    assert accepted == runs, text


def test_a_due_refused_at_run_time_fails_its_step_naming_the_element():
    runtime, task = _review_task("(pending_hours)")
    task.data["pending_hours"] = 10**9
    with pytest.raises(ScriptError) as err:
        task_sync.due_from_property(runtime, task, "(pending_hours)", T0)
    assert err.value.details["element_id"] == "review" and "maximum" in err.value.message


@pytest.mark.parametrize("timer, word", [('"P999999999Y"', "maximum"), ('"P11Y"', "maximum"), ('"P1X"', "ISO 8601"),
                                         ('"R3/P0D"', "longer than zero")])
def test_a_constant_timer_beyond_the_bounds_is_refused_at_deploy(timer, word):
    broken = REFERRAL.replace('<bpmn:timeDuration>"P7D"</bpmn:timeDuration>',
                              f"<bpmn:timeDuration>{timer}</bpmn:timeDuration>")
    if "R3/" in timer:
        broken = broken.replace("timeDuration", "timeCycle")
    with pytest.raises(Exception) as err:
        spec_parsing.parse_bundle(bundle(referral_bpmn=broken))
    assert word in str(err.value.errors)
