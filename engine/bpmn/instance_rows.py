"""The writes of a ``process_instances`` row's saved state: the two places a state is written.

* :func:`save_state` — an engine step's save (``engine.bpmn.engine_step``): the state, the
  status and the time in one prebuilt UPDATE that checks the version the step read and moves
  it on, run on the connection (no ORM flush). A row another writer saved since is a 409
  (``Conflict``), and the transaction is rolled back: nothing of the step is kept. The
  session's copy of the row takes the new version, as if it had been read back.
* :func:`insert_started` — the rows of instances just started by a batch
  (``engine_step.start_many``): one INSERT (``engine.models.bulk_rows``; no ORM flush), after which the session
  holds them as rows it read.
* :func:`rewrite_saved_state` — ``engine.bpmn.format_upgrade``'s conversion of a state saved
  in an older format: no step, so no rows to sync and nothing to audit.

Nothing else writes ``state_json`` (``tests/engine/test_layering.py`` checks the source).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, inspect, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.errors import Conflict
from engine.models import InstanceStatus, ProcessInstance, bulk_rows

_INSTANCES = cast(Table, ProcessInstance.__table__)
_SAVE_STATE = (update(_INSTANCES)
               .where(_INSTANCES.c.id == bindparam("row_id"), _INSTANCES.c.version == bindparam("read_version"))
               .values(state_json=bindparam("state_json"), status=bindparam("status"),
                       updated_at=bindparam("updated_at"), version=bindparam("new_version")))
_COLUMNS = [attr.key for attr in inspect(ProcessInstance).column_attrs]
_FIRST_VERSION = 1


def save_state(session: Session, instance: ProcessInstance, state_json: str, status: InstanceStatus,
               updated_at: dt.datetime) -> None:
    """Write ``instance``'s state over its row as read (its ``version``), moving the version on."""
    version = instance.version
    saved = session.connection().execute(_SAVE_STATE, {
        "row_id": instance.id, "read_version": version, "new_version": version + 1,
        "state_json": state_json, "status": status, "updated_at": updated_at}).rowcount
    if saved != 1:
        session.rollback()
        raise Conflict("someone else changed this process instance first; reload and try again")
    set_committed_value(instance, "version", version + 1)


def insert_started(session: Session, instances: Sequence[ProcessInstance]) -> None:
    """Write new instances (ids reserved, state and status set, not in the session) in one
    INSERT, at version 1, and let the session hold them as persistent rows, every column
    loaded. An id another process took meanwhile (SQLite) is a 409, as a flush's clash is."""
    if not instances:
        return
    values = []
    for instance in instances:
        loaded = inspect(instance).dict
        loaded["version"] = _FIRST_VERSION
        values.append({key: loaded.get(key) for key in _COLUMNS})
    try:
        bulk_rows.insert_objects(session, _INSTANCES, instances, values)
    except IntegrityError as err:
        session.rollback()
        raise Conflict("this change clashes with one made at the same time; reload and try again") from err


def rewrite_saved_state(session: Session, instance_id: int, read_version: int, state: dict[str, Any]) -> bool:
    """Write ``state`` (this instance's saved state, converted by ``engine.bpmn.format_upgrade``)
    over the row as read at ``read_version``, and move the version on. False when a step saved
    the instance meanwhile (its state wins)."""
    result = session.execute(
        update(ProcessInstance).where(ProcessInstance.id == instance_id, ProcessInstance.version == read_version)
        .values(state_json=json.dumps(state, separators=(",", ":")), version=read_version + 1)
        .execution_options(synchronize_session=False))
    return isinstance(result, CursorResult) and result.rowcount > 0
