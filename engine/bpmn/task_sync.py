"""Keep ``human_tasks`` and ``timers`` rows in step with one instance's task tree.

Called by the engine-step path (``engine.bpmn.engine_step``) inside the transaction that
saves the instance, so the tables people query can never disagree with the saved engine
state. The diagram decides form, due time, priority and assignee through user-task
properties:

- ``form``      JSON Schema file of the model version
- ``due``       ISO 8601 duration (``PT24H``) or an expression over task data giving hours
                or a duration (``intervene_within_hours``), bounded by
                ``engine.bpmn.durations`` (the parser deploy checks with too)
- ``priority``  ``risk`` (follows the data's ``risk_level``) or ``high``/``medium``/``low``
- ``assign_to`` a data variable holding the username of the assignee; otherwise the task
                is offered to the lane's role. An assignee who is absent (``users.available``
                false) has the task go to the one standing in for them (R49): their own
                supervisor — for a supervisor, the project director — up the line of
                supervision to the first one present; with nobody present it is offered
                to the lane's role. A committee member's vote is theirs alone.
- ``title``     shown in inboxes instead of the element's name; it may name the task's
                subject with ``{placeholders}`` (``engine.bpmn.task_titles``)

The risk level a row shows is its case's current one, never a copy that ages: a new row
reads it from the case, and after every step the instance's case's other open rows follow
it (a review that lowers the risk changes every row of that case in the same transaction);
the priority of a row whose ``priority`` property is ``risk`` follows too.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection

from sqlalchemy import select

from engine import clock
from engine.bpmn import durations, row_diff, spec_parsing, task_titles
from engine.bpmn.row_diff import is_finished as _finished
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import ScriptError
from engine.models import (
    PRIORITY_BY_RISK,
    UNRATED,
    Case,
    HumanTask,
    ProcessInstance,
    Supervision,
    TaskState,
    Timer,
    TimerState,
    User,
)

log = logging.getLogger(__name__)

PERSONAL_LANES = ("committee_member",)  # a vote is cast by the member asked, never by a stand-in
MAX_STAND_IN_LEVELS = 5  # levels of supervision looked up for someone present (a loop cannot run away)


def due_from_property(runtime: ProcessRuntime, task, value: str | None,
                      start: dt.datetime) -> dt.datetime | None:
    """The due instant a ``due`` property gives, counted from ``start``."""
    if not value:
        return None
    text = value.strip()
    try:
        if durations.is_duration(text):
            return durations.parse_duration(text).after(start)
        result = runtime.evaluate(task, text)
        if isinstance(result, str):
            return durations.due_after(result, start)
        return durations.hours_after(result, start)
    except durations.DurationError as err:
        raise ScriptError(f"the due time of {task.task_spec.bpmn_name or task.task_spec.bpmn_id} "
                          f"({text!r}) is not usable: {err}", element_id=task.task_spec.bpmn_id) from err


def priority_from_property(value: str | None, data: dict, case_risk: str | None = UNRATED) -> tuple[int, str | None]:
    """(priority, risk level shown). ``case_risk``: the case's current level (None: not rated
    yet); without a case (``UNRATED``, the default) the task data's ``risk_level`` counts."""
    if case_risk == UNRATED:
        risk = data.get("risk_level") if isinstance(data.get("risk_level"), str) else None
    else:
        risk = case_risk
    if value in PRIORITY_BY_RISK:
        return PRIORITY_BY_RISK[value], risk
    return PRIORITY_BY_RISK.get(risk or "", 1), risk  # "risk", or no usable property: follows the risk


def follows_risk(priority_property: str | None) -> bool:
    """A task's priority follows its case's risk unless the diagram fixes it."""
    return priority_property not in PRIORITY_BY_RISK


class UserLookup:
    """Active users' ids by username, asked once per name (a batch of starts shares one)."""

    def __init__(self, session, known: dict[str, int] | None = None):
        self._session = session
        self._ids: dict[str, int | None] = dict(known or {})
        self._present: dict[int, int | None] = {}

    @property
    def session(self):
        return self._session

    def id_of(self, username) -> int | None:
        if not isinstance(username, str):
            return None
        if username not in self._ids:
            row = self._session.execute(select(User.id, User.available).where(User.username == username,
                                                                            User.active)).first()
            self._ids[username] = row.id if row is not None else None
            if row is not None and row.available:
                self._present[row.id] = row.id  # present: no stand-in to look for
        return self._ids[username]

    def present(self, user_id: int) -> int | None:
        """``user_id`` when they are available, else the one standing in for them (R49)."""
        if user_id not in self._present:
            self._present[user_id] = stand_in_for(self._session, user_id)
        return self._present[user_id]


def stand_in_for(session, user_id: int) -> int | None:
    """``user_id`` if available; else the nearest active, available supervisor above them
    (the director for a supervisor); None if nobody in the line is present."""
    seen = {user_id}
    current: int | None = user_id
    for _ in range(MAX_STAND_IN_LEVELS + 1):
        row = session.execute(select(User.active, User.available).where(User.id == current)).first()
        if row is not None and row.active and row.available:
            return current
        current = session.scalar(select(Supervision.supervisor_id).where(Supervision.supervisee_id == current)
                                 .order_by(Supervision.supervisor_id).limit(1))
        if current is None or current in seen:
            return None
        seen.add(current)
    return None


def sync_instance(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow, completed_by: int | None = None,
                  *, new: bool = False, users: UserLookup | None = None,
                  before: row_diff.Waiting | None = None) -> list[HumanTask]:
    """Rewrite this instance's human-task and timer rows from ``workflow``. ``new``: the
    instance was just started, so it has no rows yet (nothing to read). ``before``: what
    waited when the step began (its rows are exactly those), so the rows are not read: the
    ones that ended are changed by one statement per table, the new ones inserted by one.

    Returns the human tasks that became ready in this call (for notifications)."""
    session = uow.session
    users = users or UserLookup(session)
    now = clock.now()
    ready = {str(t.id): t for t in runtime.ready_human_tasks(workflow)}
    existing: Collection[str]
    if before is not None:
        existing = before.tasks
        row_diff.end_task_rows(session, workflow, [i for i in before.tasks if i not in ready], completed_by, now)
    else:
        rows = {} if new else {r.id: r for r in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == TaskState.READY))}
        existing = rows.keys()
        for task_id, row in rows.items():
            if task_id not in ready:
                row_diff.end_task_row(row, _finished(workflow, task_id), completed_by, now)
    case_risk = current_case_risk(session, instance.case_code)
    created = [new_human_task(runtime, instance, task, now, users, case_risk) for task_id, task in ready.items()
               if task_id not in existing]
    session.add_all(created)
    if case_risk != UNRATED:
        follow_case_risk(session, runtime, instance.case_code, case_risk)
    if before is not None:
        row_diff.sync_timers(uow, runtime, instance, workflow, before)
    else:
        _sync_timers(uow, runtime, instance, workflow, new)
    return created


def current_case_risk(session, case_code: str | None) -> str | None:
    """The case's risk level now (None: not rated yet); ``UNRATED`` when there is no case."""
    if not case_code:
        return UNRATED
    row = session.execute(select(Case.risk_level).where(Case.code == case_code)).first()
    return UNRATED if row is None else row.risk_level


def follow_case_risk(session, runtime: ProcessRuntime, case_code: str | None, risk: str | None) -> int:
    """Open rows of the case that show another risk level than ``risk`` (the case's) show
    it now, and those whose priority follows the risk take its priority. Returns how many
    rows changed. Runs in the step's transaction."""
    stale = list(session.scalars(select(HumanTask).where(
        HumanTask.case_code == case_code, HumanTask.state == TaskState.READY,
        HumanTask.risk_level.is_distinct_from(risk))))
    models: dict[int, object] = {}
    for row in stale:
        row.risk_level = risk
        instance = session.get(ProcessInstance, row.instance_id)
        if instance is None:
            continue
        model = models.setdefault(instance.model_id, instance.model)
        if follows_risk(_priority_property(runtime, model, row.bpmn_id)):
            row.priority = PRIORITY_BY_RISK.get(risk or "", 1)
    return len(stale)


def _priority_property(runtime: ProcessRuntime, model, bpmn_id: str) -> str | None:
    spec, subprocess_specs = runtime.specs_of(model)
    for process in (spec, *subprocess_specs.values()):
        task_spec = process.task_specs.get(bpmn_id)
        if task_spec is not None:
            return spec_parsing.user_task_properties(task_spec).get("priority")
    return None


def new_human_task(runtime: ProcessRuntime, instance: ProcessInstance, task, now: dt.datetime,
                   users: UserLookup, case_risk: str | None = UNRATED) -> HumanTask:
    """The row of one ready user task, from the properties of its diagram element and, for a
    task of a case, the case's current risk level."""
    props = spec_parsing.user_task_properties(task.task_spec)
    priority, risk = priority_from_property(props.get("priority"), task.data, case_risk)
    spec = task.task_spec
    assignee_id = None
    variable = props.get("assign_to")
    if variable:
        assignee_id = users.id_of(task.data.get(variable))
        if assignee_id is None:
            log.warning("task %s: assign_to %s=%r names no active user; offered to role %s",
                        spec.bpmn_id, variable, task.data.get(variable), spec.lane)
        elif spec.lane not in PERSONAL_LANES:
            named, assignee_id = assignee_id, users.present(assignee_id)
            if assignee_id != named:
                log.info("task %s: %r is absent; %s", spec.bpmn_id, task.data.get(variable),
                         f"given to user {assignee_id} standing in" if assignee_id else f"offered to role {spec.lane}")
    return HumanTask(
        id=str(task.id), instance_id=instance.id, case_code=instance.case_code, process_id=instance.process_id,
        bpmn_id=spec.bpmn_id, name=spec.bpmn_id, title=_title(users.session, instance, task, props.get("title")),
        role=spec.lane, assignee_id=assignee_id, state=TaskState.READY, created_at=now,
        due_at=due_from_property(runtime, task, props.get("due"), now),
        priority=priority, risk_level=risk, form=props.get("form"),
    )


def _title(session, instance: ProcessInstance, task, template: str | None) -> str:
    spec = task.task_spec
    name = spec.bpmn_name or spec.bpmn_id
    if not template:
        return name
    return task_titles.task_title(session, instance.case_code, template, task.data, name) or name


def _sync_timers(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow, new: bool) -> None:
    session = uow.session
    pending = {t.task_id: t for t in runtime.pending_timers(workflow)}
    if new and not pending:
        return
    rows = {} if new else {r.task_id: r for r in session.scalars(select(Timer).where(Timer.instance_id == instance.id))}
    for task_id, row in rows.items():
        if row.state == TimerState.PENDING and task_id not in pending:
            row.state = TimerState.FIRED if _finished(workflow, task_id) else TimerState.CANCELLED
            row.fired_at = row.fired_at or clock.now()
    for task_id, timer in pending.items():
        row = rows.get(task_id)
        if row is None:
            row = Timer(instance_id=instance.id, task_id=task_id, bpmn_id=timer.bpmn_id,
                        due_at=timer.due_at, state=TimerState.PENDING)
            session.add(row)
            session.flush()  # the message carries the timer's id
            uow.enqueue("fire_timer", row.id, eta=timer.due_at)
        elif row.state == TimerState.PENDING and row.due_at != timer.due_at:
            row.due_at = timer.due_at  # a cycle timer moved on to its next instant
            uow.enqueue("fire_timer", row.id, eta=timer.due_at)
