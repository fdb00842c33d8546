"""Path tests process owners write: scenario files beside the diagrams
(``workflows/tests/*.json``), run against a set of files — a draft before it is deployed,
the deployed set, or ``workflows/`` in ``make test``.

A scenario::

    {"name": "low risk: information, then the case ends",
     "process": "case_management",
     "start": {"case_code": "CM-TEST-0001"},
     "services": {"register": {"data": {"caseworker": "caseworker1"}}},
     "steps": [
       {"complete": "screening", "data": {"eligible": true, "immediate_danger": false}},
       {"fire": "assessment_overdue"},
       {"complete": "vote", "each": [{"vote": "approve"}, {"vote": "approve"}]},
       {"expect": {"tasks": ["consent_registration"], "due": {"consent_registration": "PT72H"},
                   "decisions": {"suggest_risk": {"risk_level": "low"}}, "data": {"eligible": true},
                   "timers": {"assessment_overdue": "PT48H"}, "end": "complete"}}
     ]}

* ``start``: the data the process starts with;
* ``services``: what service tasks answer, by element id or operation name (``data``
  merged into the task data as the engine's operations publish it, ``result`` their
  result): a path test checks the diagram's routes, decisions and due times, never case
  records (``engine.bpmn.rehearsal``);
* each step does one thing — ``complete`` a ready user task with ``data`` (or each of a
  multi-instance's ready tasks with one of ``each``), ``fire`` a waiting timer — and/or
  checks ``expect``: exactly these ``tasks`` ready and these timers ``waiting`` (element
  ids), ``due`` offsets of ready
  tasks and ``timers`` offsets of waiting timers (ISO 8601 durations, counted from when the
  task became ready or the timer began waiting), ``decisions``: outputs of business rule
  tasks that ran, ``data`` values, and ``end``: ``"complete"``, ``"waiting"`` or the id of
  the end event the process ended at.

The result per scenario says whether it passed, else the step that failed (1-based) and
why. A scenario file may hold one scenario or a list of them.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.bpmn import durations, spec_parsing
from engine.bpmn.rehearsal import Rehearsal
from engine.bpmn.runtime import ProcessRuntime
from engine.bpmn.step_failures import in_words
from engine.errors import DomainError, Forbidden, Invalid
from engine.people.directory import get_user
from engine.process.deployment import DEPLOY_ROLES, deployed_files

log = logging.getLogger(__name__)

TOLERANCE = dt.timedelta(minutes=1)
MAX_STEPS = 500  # per scenario
MAX_SCENARIOS = 200  # per run
EXPECTATIONS = ("tasks", "waiting", "due", "timers", "decisions", "data", "end")
ACTIONS = ("complete", "fire")


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str
    process: str
    start: dict
    services: dict
    steps: list


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    file: str
    process: str
    passed: bool
    failed_step: int | None = None
    why: str | None = None
    steps: int = 0


class _StepFailed(Exception):
    pass


# -- reading scenario files ------------------------------------------------------------------
def read_scenarios(files: Mapping[str, bytes | str]) -> list[Scenario]:
    """Every scenario of the files (``Invalid`` naming the file for one that is not one)."""
    found: list[Scenario] = []
    for name in sorted(files):
        content = files[name]
        try:
            parsed = json.loads(content.decode("utf-8-sig") if isinstance(content, bytes) else content)
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            raise Invalid(f"{name} is not a JSON scenario file: {err}", errors={name: ["not JSON"]}) from err
        for item in parsed if isinstance(parsed, list) else [parsed]:
            found.append(_scenario(name, item))
            if len(found) > MAX_SCENARIOS:
                raise Invalid(f"at most {MAX_SCENARIOS} scenarios run at once", errors={name: ["too many scenarios"]})
    return found


def _scenario(file: str, item: object) -> Scenario:
    def bad(why: str) -> Invalid:
        return Invalid(f"{file}: {why}", errors={file: [why]})

    if not isinstance(item, dict) or not isinstance(item.get("process"), str):
        raise bad("a scenario is an object naming its 'process'")
    steps = item.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps) or len(steps) > MAX_STEPS:
        raise bad(f"'steps' is a list of at most {MAX_STEPS} objects")
    for number, step in enumerate(steps, 1):
        why = _step_problem(step)
        if why:
            raise bad(f"step {number}: {why}")
    start, services = item.get("start", {}), item.get("services", {})
    if not isinstance(start, dict) or not isinstance(services, dict) or not all(
            isinstance(a, dict) and isinstance(a.get("data", {}), dict) for a in services.values()):
        raise bad("'start' is an object, 'services' an object of {\"data\": {...}, \"result\": ...} answers")
    return Scenario(str(item.get("name") or f"{file}: {item['process']}"), file, item["process"], start, services,
                    steps)


def _step_problem(step: dict) -> str | None:
    """Why a step is not one (None when it is)."""
    unknown = set(step) - {*ACTIONS, "expect", "data", "each"}
    if unknown or len(set(step) & set(ACTIONS)) > 1:
        return f"one of {', '.join(ACTIONS)} (with its 'data' or 'each') and/or 'expect'"
    if any(not isinstance(step[a], str) for a in ACTIONS if a in step):
        return "complete and fire name an element id"
    if not isinstance(step.get("data", {}), dict) or not (
            isinstance(step.get("each", []), list) and all(isinstance(d, dict) for d in step.get("each", []))):
        return "'data' is an object, 'each' a list of objects"
    expect = step.get("expect", {})
    if not isinstance(expect, dict):
        return f"'expect' is an object of {', '.join(EXPECTATIONS)}"
    if set(expect) - set(EXPECTATIONS):
        return f"'expect' knows {', '.join(EXPECTATIONS)}, not {', '.join(sorted(set(expect) - set(EXPECTATIONS)))}"
    lists = all(isinstance(expect.get(k, []), list) and all(isinstance(v, str) for v in expect.get(k, []))
                for k in ("tasks", "waiting"))
    objects = all(isinstance(expect.get(k, {}), dict) for k in ("due", "timers", "decisions", "data"))
    decisions = all(isinstance(v, dict) for v in (expect.get("decisions") or {}).values())
    if not (lists and objects and decisions and isinstance(expect.get("end", ""), str)):
        return ("in 'expect', tasks and waiting are lists of element ids; due, timers, decisions and data are "
                "objects (decisions: of objects); end is text")
    return None


def scenario_files(directory: Path) -> dict[str, bytes]:
    """The scenario files of a ``workflows/`` folder (its ``tests`` folder)."""
    folder = Path(directory) / "tests"
    return {f.name: f.read_bytes() for f in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


# -- running -----------------------------------------------------------------------------------
def run_scenarios(runtime: ProcessRuntime, bundle: spec_parsing.ParsedBundle, scenarios: list[Scenario],
                  only: str | None = None) -> list[ScenarioResult]:
    """Run each scenario (or the one named ``only``) against the processes of ``bundle``
    (view-only ones too: they can be tested, only not started)."""
    chosen = [s for s in scenarios if only is None or s.name == only]
    if only is not None and not chosen:
        raise Invalid(f"no scenario is named {only!r}", errors={"scenario": [s.name for s in scenarios][:50]})
    processes = {**bundle.view_only, **bundle.processes}
    return [_run(runtime, processes, s) for s in chosen]


def _run(runtime: ProcessRuntime, processes: dict, scenario: Scenario) -> ScenarioResult:
    def failed(step: int | None, why: str, steps: int) -> ScenarioResult:
        return ScenarioResult(scenario.name, scenario.file, scenario.process, False, step, why, steps)

    parsed = processes.get(scenario.process)
    if parsed is None or parsed.spec is None:
        why = "no such process in these files" if parsed is None else "; ".join(p.message for p in parsed.reasons)
        return failed(None, f"{scenario.process} cannot be run: {why}", 0)
    try:
        rehearsal = Rehearsal(runtime, parsed.spec, parsed.subprocess_specs, dict(scenario.start), scenario.services)
    except DomainError as err:
        return failed(0, f"the start failed: {in_words(err)}", 0)
    for number, step in enumerate(scenario.steps, 1):
        try:
            _act(rehearsal, step)
            _check(rehearsal, step.get("expect") or {})
        except _StepFailed as err:
            return failed(number, str(err), number)
        except DomainError as err:
            return failed(number, in_words(err) if err.details.get("element_id") else err.message, number)
    return ScenarioResult(scenario.name, scenario.file, scenario.process, True, steps=len(scenario.steps))


def _act(rehearsal: Rehearsal, step: dict) -> None:
    if "complete" in step:
        for data in step.get("each") or [step.get("data") or {}]:
            if not isinstance(data, dict):
                raise _StepFailed("the data to complete a task with is an object")
            rehearsal.complete(str(step["complete"]), data)
    elif "fire" in step:
        rehearsal.fire(str(step["fire"]))


def _check(rehearsal: Rehearsal, expect: dict) -> None:
    if "tasks" in expect and sorted(expect["tasks"]) != rehearsal.ready_tasks():
        raise _StepFailed(f"ready tasks are {rehearsal.ready_tasks() or 'none'}, expected {sorted(expect['tasks'])}")
    if "waiting" in expect and sorted(expect["waiting"]) != rehearsal.waiting_timers():
        raise _StepFailed(f"waiting timers are {rehearsal.waiting_timers() or 'none'}, "
                          f"expected {sorted(expect['waiting']) or 'none'}")
    for element, offset in (expect.get("due") or {}).items():
        _same_offset(f"{element} is due", rehearsal.due_after(element), offset)
    for element, offset in (expect.get("timers") or {}).items():
        _same_offset(f"timer {element} fires", rehearsal.timer_after(element), offset)
    for element, outputs in (expect.get("decisions") or {}).items():
        _same_values(f"decision at {element}", rehearsal.outputs_of(element), outputs)
    _same_values("the data", rehearsal.data, expect.get("data") or {})
    end = expect.get("end")
    if end == "complete" and not rehearsal.finished:
        raise _StepFailed(f"the process has not ended (ready: {rehearsal.ready_tasks() or 'none'}, "
                          f"timers: {rehearsal.waiting_timers() or 'none'})")
    if end == "waiting" and rehearsal.finished:
        raise _StepFailed("the process has ended")
    if end not in (None, "complete", "waiting") and not (rehearsal.finished and rehearsal.ended_at(str(end))):
        raise _StepFailed(f"the process did not end at {end}")


def _same_offset(what: str, actual: dt.timedelta | None, expected: object) -> None:
    if expected is None:
        if actual is not None:
            raise _StepFailed(f"{what} after {span_in_words(actual)}, expected no due time")
        return
    try:
        wanted = durations.parse_duration(expected).span_from(dt.datetime(2001, 1, 1, tzinfo=dt.UTC))
    except durations.DurationError as err:
        raise _StepFailed(f"{what}: expected {expected!r}, which is no duration ({err})") from err
    if actual is None:
        raise _StepFailed(f"{what}: it has no due time, expected {span_in_words(wanted)}")
    if abs(actual - wanted) > TOLERANCE:
        raise _StepFailed(f"{what} after {span_in_words(actual)}, expected {span_in_words(wanted)}")


def span_in_words(span: dt.timedelta) -> str:
    """``1 day 12 hours (P1DT12H)``: in words, then as ISO 8601, the same way for every
    duration a path test reports (seconds are rounded to the minute unless under one)."""
    total = round(span.total_seconds())
    sign, total = ("-" if total < 0 else ""), abs(total)
    if total >= 60:
        total = round(total / 60) * 60
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "day", "D"), (hours, "hour", "H"), (minutes, "minute", "M"), (seconds, "second", "S")]
    words = " ".join(f"{n} {unit}{'' if n == 1 else 's'}" for n, unit, _ in parts if n) or "0 minutes"
    time = "".join(f"{n}{letter}" for n, _, letter in parts[1:] if n)
    iso = f"{sign}P{f'{days}D' if days else ''}{'T' + time if time else ''}" if total else "PT0M"
    return f"{sign}{words} ({iso})"


def _same_values(what: str, actual: dict, expected: dict) -> None:
    for key, value in expected.items():
        if key not in actual:
            raise _StepFailed(f"{what} has no {key} (expected {value!r})")
        if actual[key] != value:
            raise _StepFailed(f"{what}: {key} is {actual[key]!r}, expected {value!r}")


# -- the use case ------------------------------------------------------------------------------
def run_for_owner(uow, runtime: ProcessRuntime, user_id: int, files: Mapping[str, bytes],
                  scenarios: Mapping[str, bytes], only: str | None = None,
                  stock: Path | None = None) -> list[ScenarioResult]:
    """A process owner runs path tests against a draft (``files``, over the deployed set)
    or the deployed set, with the scenario files sent or, none sent, those of ``stock``
    (the ``workflows/`` folder). Nothing is stored; a draft that does not validate is
    refused as a deploy would be."""
    user = get_user(uow.session, user_id)
    if not user.has_role(*DEPLOY_ROLES):
        raise Forbidden("only process owners and admins run path tests")
    bundle_files: dict[str, bytes | str] = dict(deployed_files(uow.session))
    bundle_files.update(files)
    bundle = spec_parsing.parse_bundle(bundle_files, view_only=True)
    chosen = dict(scenarios) or (scenario_files(stock) if stock is not None else {})
    if not chosen:
        raise Invalid("no scenario files were sent and none are shipped", errors={"scenarios": ["send scenario files"]})
    return run_scenarios(runtime, bundle, read_scenarios(chosen), only)
