"""Drills (R41, R54): a disruption declared as a drill runs the same BCP workflow, and every
task it makes says so.

The BCP instance of a drill and the short instances it starts (crisis checks, resumption
of a sub-function added later) carry ``drill`` in their data; this listener — one of the
runtime's new-task listeners, wired by the composition root before the "task assigned"
notification — puts "Drill — " before the title of each task those instances create, so
inboxes, task pages, notifications and the API all show it. What a drill must not do
(contact clients, change live case records or staff availability) the crisis modules
refuse themselves (``crisis.drill``).
"""
from __future__ import annotations

from sqlalchemy import event, select

from engine.crisis.declaration import BCP_PROCESS, CHECK_PROCESS
from engine.crisis.scope import FUNCTION_RESUMPTION_PROCESS
from engine.models import HumanTask, ProcessInstance
from engine.models.crisis import Crisis

DRILL_PREFIX = "Drill — "
TITLE_MAX = 300  # human_tasks.title
_BCP_PROCESSES = (BCP_PROCESS, CHECK_PROCESS, FUNCTION_RESUMPTION_PROCESS)
_CACHE = "crisis_drill_bcp_instances"  # session.info: the drills' BCP instance ids, for one transaction


def mark_drill_tasks(uow, tasks: list[HumanTask]) -> None:
    """New tasks of a drill's instances get the drill prefix. The drills' BCP instances
    are read once per transaction (a fan-out batch starts dozens of instances in one), so
    while there is no drill this costs no query per instance."""
    candidates = [t for t in tasks if t.process_id in _BCP_PROCESSES and not t.title.startswith(DRILL_PREFIX)]
    if not candidates:
        return
    session = uow.session
    drill_bcps = _drill_bcp_instances(session)
    declaring = session.info.get("crisis_being_declared")  # the BCP instance starting now is linked already
    if isinstance(declaring, Crisis) and declaring.drill and declaring.instance_id is not None:
        drill_bcps = drill_bcps | {declaring.instance_id}
    if not drill_bcps:
        return
    ids = {t.instance_id for t in candidates}
    drilled = ids & drill_bcps
    if ids - drilled:  # a check or a sub-function's resumption: is its parent a drill's BCP instance?
        drilled |= set(session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.id.in_(ids - drilled), ProcessInstance.parent_instance_id.in_(drill_bcps))))
    for task in candidates:
        if task.instance_id in drilled:
            task.title = (DRILL_PREFIX + task.title)[:TITLE_MAX]


def _drill_bcp_instances(session) -> frozenset[int]:
    cached = session.info.get(_CACHE)
    if cached is None:
        cached = frozenset(session.scalars(select(Crisis.instance_id).where(Crisis.drill,
                                                                            Crisis.instance_id.is_not(None))))
        session.info[_CACHE] = cached
        event.listen(session, "after_commit", _forget, once=True)
        event.listen(session, "after_rollback", _forget, once=True)
    return cached


def _forget(session) -> None:
    session.info.pop(_CACHE, None)
