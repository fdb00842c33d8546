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
- ``announce``  ``task`` (the default: the new-task listeners send its assignee a notification
                and an e-mail) or ``summary``: the work is announced otherwise, in one summary
                for many such tasks (the crisis fan-out's), so the row carries
                ``announce = summary`` to its listeners. A summary task that went to someone
                standing in for the one the data names is announced per task after all: the
                summary reached the one named, not them.

Instances just started (:func:`sync_started`, a batch of the crisis fan-out's or one) have no
rows yet: their rows are made together, with one read of the cases' risk levels, the named
assignees and the cases' other open rows, and one INSERT per table.

The risk level a row shows is its case's current one, never a copy that ages: a new row
reads it from the case, and after every step the instance's case's other open rows follow
it (a review that lowers the risk changes every row of that case in the same transaction);
the priority of a row whose ``priority`` property is ``risk`` follows too.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Sequence
from typing import cast

from sqlalchemy import Table, inspect, select

from engine import clock
from engine.bpmn import durations, row_diff, spec_parsing, task_titles
from engine.bpmn.row_diff import is_finished as _finished
from engine.bpmn.runtime import PendingTimer, ProcessRuntime
from engine.errors import ScriptError
from engine.models import (
    PRIORITY_BY_RISK,
    UNRATED,
    Announcement,
    Case,
    HumanTask,
    ProcessInstance,
    ProcessModel,
    Supervision,
    TaskState,
    Timer,
    TimerState,
    User,
    bulk_rows,
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

    def prefetch(self, usernames: Iterable[object]) -> None:
        """Look up every name of ``usernames`` not known yet in one query (a batch of starts)."""
        names = {n for n in usernames if isinstance(n, str) and n not in self._ids}
        if not names:
            return
        found = {row.username: row for row in self._session.execute(
            select(User.id, User.username, User.available).where(User.username.in_(names), User.active))}
        for name in names:
            row = found.get(name)
            self._ids[name] = row.id if row is not None else None
            if row is not None and row.available:
                self._present[row.id] = row.id

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
                  *, users: UserLookup | None = None, before: row_diff.Waiting | None = None,
                  ready_tasks: list | None = None) -> list[HumanTask]:
    """Rewrite the human-task and timer rows of ``instance``, which has some already, from
    ``workflow``. ``before``: what waited when the step began (its rows are exactly those),
    so the rows are not read: the ones that ended are changed by one statement per table,
    the new ones inserted by one; ``ready_tasks``: the ready human tasks now, when the caller
    has them (a walk of the tree less). (An instance just started: :func:`sync_started`.)

    Returns the human tasks that became ready in this call (for notifications), not written yet:
    the caller writes them with :func:`insert_new_rows` once the new-task listeners saw them."""
    session = uow.session
    users = users or UserLookup(session)
    now = clock.now()
    ready = {str(t.id): t for t in (runtime.ready_human_tasks(workflow) if ready_tasks is None else ready_tasks)}
    existing: Collection[str]
    if before is not None:
        existing = before.tasks
        row_diff.end_task_rows(session, workflow, [i for i in before.tasks if i not in ready], completed_by, now)
    else:
        rows = {r.id: r for r in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == TaskState.READY))}
        existing = rows.keys()
        for task_id, row in rows.items():
            if task_id not in ready:
                row_diff.end_task_row(row, _finished(workflow, task_id), completed_by, now)
    case_risk = _followed_case_risk(session, runtime, instance.case_code)
    created = [new_human_task(runtime, instance, task, now, users, case_risk) for task_id, task in ready.items()
               if task_id not in existing]
    if before is not None:
        row_diff.sync_timers(uow, runtime, instance, workflow, before)
    else:
        _sync_timers(uow, runtime, instance, workflow)
    return created


def sync_started(uow, runtime: ProcessRuntime,
                 started: Sequence[tuple[ProcessInstance, object]]) -> list[list[HumanTask]]:
    """Write the human-task and timer rows of instances just started (``(instance, workflow)``
    pairs; they have no rows yet, so none is read), all at once: the cases' risk levels and
    the assignees the data names are read in one query each, every new row is inserted by
    one statement per table, and the cases' other open rows follow their risk in one query.
    Returns each instance's new human tasks, in the order of ``started``, not written yet
    (:func:`insert_new_rows`)."""
    session = uow.session
    users = UserLookup(session)
    now = clock.now()
    ready = [runtime.ready_human_tasks(workflow) for _, workflow in started]
    users.prefetch(_named_assignees(t for tasks in ready for t in tasks))
    risks = current_case_risks(session, {instance.case_code for instance, _ in started})
    created = [[new_human_task(runtime, instance, task, now, users, risks.get(instance.case_code or "", UNRATED))
                for task in tasks] for (instance, _), tasks in zip(started, ready, strict=True)]
    follow_cases_risk(session, runtime, {code for code, risk in risks.items() if risk != UNRATED})
    _add_timers(uow, [(instance, timer) for instance, workflow in started
                      for timer in runtime.pending_timers(workflow)])
    return created


def insert_new_rows(session, rows: Sequence[HumanTask]) -> None:
    """Write new human-task rows in one INSERT (``engine.models.bulk_rows``, no ORM flush), and
    let the session hold them as it holds rows it read: persistent, every column loaded."""
    if not rows:
        return
    bulk_rows.insert_objects(session, _TASKS, rows, [{key: getattr(row, key) for key in _TASK_COLUMNS} for row in rows])


_TASK_COLUMNS = [attr.key for attr in inspect(HumanTask).column_attrs]
_TASKS = cast(Table, HumanTask.__table__)


def _named_assignees(tasks: Iterable) -> list[object]:
    """The usernames the ``assign_to`` variables of ``tasks`` hold."""
    named = []
    for task in tasks:
        variable = spec_parsing.user_task_properties(task.task_spec).get("assign_to")
        if variable:
            named.append(task.data.get(variable))
    return named


def current_case_risks(session, case_codes: Iterable[str | None]) -> dict[str, str | None]:
    """The risk levels of many cases in one query (None: not rated yet), by case code, for
    the codes that name a case."""
    codes = sorted({code for code in case_codes if code})
    if not codes:
        return {}
    return {row.code: row.risk_level for row in session.execute(
        select(Case.code, Case.risk_level).where(Case.code.in_(codes)))}


def _followed_case_risk(session, runtime: ProcessRuntime, case_code: str | None) -> str | None:
    """The case's risk level now (None: not rated yet; ``UNRATED`` when there is no case), and
    its open rows that show another risk level than the case's show it now (those whose
    priority follows the risk take its priority): one query (a step's sync), the case with
    those rows (none, mostly) joined to it. Runs in the step's transaction."""
    if not case_code:
        return UNRATED
    rows = session.execute(select(Case.risk_level, HumanTask, ProcessInstance.model_id).select_from(Case).outerjoin(
        HumanTask, (HumanTask.case_code == Case.code) & (HumanTask.state == TaskState.READY)
        & HumanTask.risk_level.is_distinct_from(Case.risk_level)).outerjoin(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(Case.code == case_code)).all()
    if not rows:
        return UNRATED
    risk = rows[0][0]
    _follow(session, runtime, [(row, model_id, risk) for _, row, model_id in rows if row is not None])
    return risk


def follow_cases_risk(session, runtime: ProcessRuntime, case_codes: Collection[str]) -> int:
    """:func:`_followed_case_risk`'s change of the open rows for the cases of ``case_codes``,
    each to its current risk level, in one query (a batch of starts)."""
    if not case_codes:
        return 0
    stale = list(session.execute(select(HumanTask, ProcessInstance.model_id, Case.risk_level).join(
        Case, Case.code == HumanTask.case_code).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.case_code.in_(sorted(case_codes)), HumanTask.state == TaskState.READY,
               HumanTask.risk_level.is_distinct_from(Case.risk_level))))
    return _follow(session, runtime, [(row, model_id, risk) for row, model_id, risk in stale])


def _follow(session, runtime: ProcessRuntime, stale: list[tuple[HumanTask, int, str | None]]) -> int:
    models: dict[int, ProcessModel | None] = {}
    for row, model_id, risk in stale:
        row.risk_level = risk
        if model_id not in models:
            models[model_id] = session.get(ProcessModel, model_id)
        model = models[model_id]
        if model is not None and follows_risk(_priority_property(runtime, model, row.bpmn_id)):
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
    announce = Announcement.SUMMARY if props.get("announce") == Announcement.SUMMARY else Announcement.TASK
    variable = props.get("assign_to")
    if variable:
        assignee_id = users.id_of(task.data.get(variable))
        if assignee_id is None:
            log.warning("task %s: assign_to %s=%r names no active user; offered to role %s",
                        spec.bpmn_id, variable, task.data.get(variable), spec.lane)
        elif spec.lane not in PERSONAL_LANES:
            named, assignee_id = assignee_id, users.present(assignee_id)
            if assignee_id != named:
                announce = Announcement.TASK  # a summary reached the one named, not the one standing in
                log.info("task %s: %r is absent; %s", spec.bpmn_id, task.data.get(variable),
                         f"given to user {assignee_id} standing in" if assignee_id else f"offered to role {spec.lane}")
    row = HumanTask(
        id=str(task.id), instance_id=instance.id, case_code=instance.case_code, process_id=instance.process_id,
        bpmn_id=spec.bpmn_id, name=spec.bpmn_id, title=_title(users.session, instance, task, props.get("title")),
        role=spec.lane, assignee_id=assignee_id, state=TaskState.READY, created_at=now,
        due_at=due_from_property(runtime, task, props.get("due"), now),
        priority=priority, risk_level=risk, form=props.get("form"),
    )
    row.announce = announce
    return row


def _title(session, instance: ProcessInstance, task, template: str | None) -> str:
    spec = task.task_spec
    name = spec.bpmn_name or spec.bpmn_id
    if not template:
        return name
    return task_titles.task_title(session, instance.case_code, template, task.data, name) or name


def _sync_timers(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow) -> None:
    session = uow.session
    pending = {t.task_id: t for t in runtime.pending_timers(workflow)}
    rows = {r.task_id: r for r in session.scalars(select(Timer).where(Timer.instance_id == instance.id))}
    for task_id, row in rows.items():
        if row.state == TimerState.PENDING and task_id not in pending:
            row.state = TimerState.FIRED if _finished(workflow, task_id) else TimerState.CANCELLED
            row.fired_at = row.fired_at or clock.now()
    _add_timers(uow, [(instance, timer) for task_id, timer in pending.items() if task_id not in rows])
    for task_id, timer in pending.items():
        row = rows.get(task_id)
        if row is not None and row.state == TimerState.PENDING and row.due_at != timer.due_at:
            row.due_at = timer.due_at  # a cycle timer moved on to its next instant
            uow.enqueue("fire_timer", row.id, eta=timer.due_at)


def _add_timers(uow, timers: list[tuple[ProcessInstance, PendingTimer]]) -> None:
    """Rows for timers that have none yet, in one flush, and each one's delayed message
    (which carries the row's id)."""
    if not timers:
        return
    rows = [(Timer(instance_id=instance.id, task_id=timer.task_id, bpmn_id=timer.bpmn_id, due_at=timer.due_at,
                   state=TimerState.PENDING), timer.due_at) for instance, timer in timers]
    uow.session.add_all([row for row, _ in rows])
    uow.session.flush()
    for row, due_at in rows:
        uow.enqueue("fire_timer", row.id, eta=due_at)
