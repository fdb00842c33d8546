"""Moving one workflow onto another version of its process spec, honestly.

Tasks are matched by their element id (SpiffWorkflow's task spec name), in the process and
in every called process running inside the instance:

* a task that is waiting (ready, waiting for a timer or a message, or running a called
  process) or that has run (completed, cancelled) keeps its id, its state, its data and a
  timer's due instant, on the element of the same id in the target version. If the target
  has no such element, or has it as another kind of element, or a running call activity
  calls another process there, the instance cannot move: :func:`plan` says why and
  nothing changes;
* what SpiffWorkflow only *predicts* below the waiting tasks (the routes not yet taken) is
  dropped and predicted again from the target's diagram (:func:`drop_predictions` before
  the state is saved, :func:`predict_again` after it is restored on the target spec).

What the plan notes, without refusing: a waiting user task whose form, title or lane
differs in the target (its row takes the new ones, its due date stays), a waiting timer
whose definition differs (it keeps its due instant), and a boundary event the target adds
to a waiting task (it starts only for tasks that begin after the move).

This module inspects and edits workflow objects; restoring and saving them is
``engine.bpmn.runtime`` / ``engine.bpmn.engine_step``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spec_parsing

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
PREDICTED = TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE
_SUFFIXES = (".BoundaryEventSplit", ".BoundaryEventJoin", ".EndJoin")


@dataclass(frozen=True)
class WaitingItem:
    """One waiting task or timer of the instance, and what becomes of it."""
    element_id: str
    name: str
    kind: str  # "task" | "timer" | "other"
    in_target: bool
    note: str = ""


@dataclass
class Plan:
    waiting: list[WaitingItem] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why it cannot move; empty: it can
    notes: list[str] = field(default_factory=list)

    @property
    def possible(self) -> bool:
        return not self.reasons


def element_of(spec_name: str) -> str:
    """The diagram element a task spec belongs to (``review.BoundaryEventSplit`` -> review)."""
    for suffix in _SUFFIXES:
        if spec_name.endswith(suffix):
            return spec_name[:-len(suffix)]
    return spec_name


def plan(workflow, target_spec, target_subprocess_specs: dict, version: int) -> Plan:
    """What moving ``workflow`` onto the target spec would do (nothing is changed)."""
    result = Plan()
    for sub_workflow, target in _pairs(workflow, target_spec, target_subprocess_specs, result, version):
        for task in list(sub_workflow.tasks.values()):
            if _dropped(task):
                continue
            _check_task(task, target, result, version)
    return result


def _pairs(workflow, target_spec, target_subprocess_specs: dict, result: Plan, version: int):
    """(workflow or running called process, the spec it moves onto), for every one that can."""
    yield workflow, target_spec
    for task_id, sub_workflow in workflow.subprocesses.items():
        parent = workflow.get_task_from_id(task_id)
        parent_target = _target_spec_of(parent, workflow, target_spec, target_subprocess_specs)
        calls = getattr(parent.task_spec, "spec", None)
        new_parent = parent_target.task_specs.get(parent.task_spec.name) if parent_target is not None else None
        target = target_subprocess_specs.get(calls) if calls else None
        if new_parent is None:
            continue  # reported with the parent task itself
        if getattr(new_parent, "spec", None) != calls or target is None:
            result.reasons.append(f"{_label(parent)} runs {calls} inside this instance, which version {version} "
                                  f"does not call there")
            continue
        yield sub_workflow, target


def _target_spec_of(task, workflow, target_spec, target_subprocess_specs: dict):
    owner = task.workflow
    if owner is workflow:
        return target_spec
    return target_subprocess_specs.get(owner.spec.name)


def _dropped(task) -> bool:
    """A prediction below a waiting task (predicted again after the move)."""
    if not task.has_state(PREDICTED):
        return False
    parent = task.parent
    while parent is not None:
        if parent.has_state(LIVE):
            return True
        if not parent.has_state(PREDICTED):
            return False
        parent = parent.parent
    return False


def _check_task(task, target, result: Plan, version: int) -> None:
    name = task.task_spec.name
    new = target.task_specs.get(name)
    live = task.has_state(LIVE)
    if new is None:
        result.reasons.append(f"{'waiting' if live else 'passed'} element {_label(task)} is not in version {version}")
    elif type(new) is not type(task.task_spec):
        result.reasons.append(f"{_label(task)} is a {_kind(task.task_spec)} here and a {_kind(new)} in version "
                              f"{version}")
    if not live or task.task_spec.bpmn_id is None:
        return
    kind = "timer" if _is_timer(task.task_spec) else ("task" if task.task_spec.manual else "other")
    note = _changes(task.task_spec, new) if new is not None else ""
    result.waiting.append(WaitingItem(task.task_spec.bpmn_id, task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                                      kind, new is not None, note))
    if new is not None:
        result.notes += _new_boundary_events(task, target)


def _changes(old, new) -> str:
    if _is_timer(old):
        same = getattr(old.event_definition, "expression", None) == getattr(new.event_definition, "expression", None)
        return "" if same else "its timer changed in the target: this one keeps its due time"
    before, after = spec_parsing.user_task_properties(old), spec_parsing.user_task_properties(new)
    changed = [what for what in ("form", "title") if before.get(what) != after.get(what)]
    if getattr(old, "lane", None) != getattr(new, "lane", None):
        changed.append(f"lane ({getattr(old, 'lane', None)} -> {getattr(new, 'lane', None)})")
    if before.get("due") != after.get("due"):
        changed.append("due (the date already set stays)")
    return f"changes in the target: {', '.join(changed)}" if changed else ""


def _new_boundary_events(task, target) -> list[str]:
    """Boundary events the target attaches to a waiting task that this task does not have."""
    split = target.task_specs.get(f"{task.task_spec.name}.BoundaryEventSplit")
    if split is None:
        return []
    present = {sibling.task_spec.name for sibling in (task.parent.children if task.parent else [])}
    added = [s.name for s in split.outputs if s.name != task.task_spec.name and s.name not in present]
    return [f"{added_id} is new on {_label(task)}: it starts only for tasks that begin after the move"
            for added_id in added]


def _is_timer(task_spec) -> bool:
    return isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)


def _kind(task_spec) -> str:
    return type(task_spec).__name__.replace("Task", " task").replace("Event", " event").strip().lower()


def _label(task) -> str:
    spec = task.task_spec
    element = spec.bpmn_id or element_of(spec.name)
    return f"{spec.bpmn_name} ({element})" if spec.bpmn_name and spec.bpmn_name != element else element


# -- the move itself -----------------------------------------------------------------------
def drop_predictions(workflow) -> None:
    """Remove what SpiffWorkflow predicted below every waiting task (in place)."""
    for sub_workflow in [workflow, *workflow.subprocesses.values()]:
        for task in list(sub_workflow.tasks.values()):
            if task.id in sub_workflow.tasks and task.has_state(LIVE):
                for child in list(task.children):
                    if child.has_state(PREDICTED):
                        sub_workflow._remove_task(child.id)


def predict_again(workflow) -> None:
    """Predict the routes below every waiting task from the (target) spec (in place)."""
    for sub_workflow in [workflow, *workflow.subprocesses.values()]:
        for task in list(sub_workflow.tasks.values()):
            if task.has_state(LIVE) and not task.children:  # its own state in the mask: predict from it
                task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE | task.state)
