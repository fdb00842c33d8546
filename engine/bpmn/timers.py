"""SpiffWorkflow's timer events, evaluated with our bounded parser and our clock.

SpiffWorkflow 3.2 computes a timer's instant with its own ISO 8601 parser, which walks a
duration month by month (``P999999999Y`` runs for hours) and reads the wall clock. The
three ways a timer waits — ``timeDuration``, ``timeDate``, ``timeCycle`` — are replaced
here, once, when this module is imported (``engine.bpmn.runtime`` does), by versions that:

* evaluate the timer's expression with the workflow's (sandboxed) script engine, as before;
* parse the value with ``engine.bpmn.durations`` (bounded, refused beyond the maximum);
* read the time from ``engine.clock`` (frozen in tests; the same clock the database
  sweeper uses to decide a timer is due);
* report a bad value as a ``WorkflowTaskException`` on the timer's task, so the engine step
  fails cleanly naming the element, never with a bare exception.

What is stored in the task's internal data is unchanged (``event_value`` is an ISO instant;
a cycle's is ``{'cycles', 'next', 'duration'}``), so saved instances stay readable.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.task import Task

from engine import clock
from engine.bpmn import durations


def _value(definition: TimerEventDefinition, my_task: Task) -> object:
    return my_task.workflow.script_engine.evaluate(my_task, definition.expression)


def _failed(definition: TimerEventDefinition, my_task: Task, err: durations.DurationError) -> WorkflowTaskException:
    return WorkflowTaskException(f"timer {definition.name or ''}: {err}".replace("timer : ", "timer: "),
                                 task=my_task, exception=err)


def _has_fired(definition: TimerEventDefinition, my_task: Task,
               instant_of: Callable[[object, dt.datetime], dt.datetime]) -> bool:
    """A one-off timer: compute its instant once (from the evaluated expression), then fire
    when the clock passes it."""
    event_value = my_task._get_internal_data("event_value")
    try:
        if event_value is None:
            event_value = instant_of(_value(definition, my_task), clock.now()).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if durations.parse_instant(event_value) < clock.now():
            my_task._set_internal_data(event_fired=True)
    except durations.DurationError as err:
        raise _failed(definition, my_task, err) from err
    return bool(my_task._get_internal_data("event_fired", False))


def _duration_has_fired(self: DurationTimerEventDefinition, my_task: Task) -> bool:
    return _has_fired(self, my_task, lambda value, now: durations.parse_duration(value).after(now))


def _date_has_fired(self: TimeDateEventDefinition, my_task: Task) -> bool:
    return _has_fired(self, my_task,
                      lambda value, now: durations.instant_within_bounds(durations.parse_instant(value), now))


def _cycle_complete(self: CycleTimerEventDefinition, my_task: Task) -> bool:
    """True when the next repetition is due (the caller then starts one more run)."""
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        try:
            cycle = durations.parse_cycle(_value(self, my_task), clock.now())
        except durations.DurationError as err:
            raise _failed(self, my_task, err) from err
        event_value = {"cycles": cycle.cycles, "next": cycle.first.isoformat(),
                       "duration": cycle.every.total_seconds()}
    ready = False
    if event_value["cycles"] != 0:
        next_event = durations.parse_instant(event_value["next"])
        if next_event < clock.now():
            event_value["next"] = (next_event + dt.timedelta(seconds=event_value["duration"])).isoformat()
            event_value["cycles"] -= 1
            ready = True
    else:
        my_task.internal_data.pop("event_value", None)
        my_task.internal_data["event_fired"] = True
    my_task._set_internal_data(event_value=event_value)
    return ready


DurationTimerEventDefinition.has_fired = _duration_has_fired
TimeDateEventDefinition.has_fired = _date_has_fired
CycleTimerEventDefinition.cycle_complete = _cycle_complete


def due_instant(event_value: object) -> dt.datetime | None:
    """When a waiting timer task is due, from its stored ``event_value``."""
    if isinstance(event_value, dict):  # a cycle: its next repetition
        event_value = event_value.get("next")
    if not event_value:
        return None
    return durations.parse_instant(event_value)
