"""Ids for new process instances, known before their workflows start (a start's rows can
then name their instance before it is written; see ``engine.bpmn.engine_step.start``)."""
from __future__ import annotations

import threading

from sqlalchemy import URL, func, select, text
from sqlalchemy.orm import Session

from engine.models import ProcessInstance


def reserve_instance_ids(session: Session, count: int) -> list[int]:
    """Ids for ``count`` new instances, known before their workflows start, reserved without
    writing: PostgreSQL's sequence; on SQLite (one process serves an embedded database) ids
    handed out by this process above the highest stored one. Should another process insert
    instances into the same file meanwhile, a clash fails that save as a conflict (409),
    never a wrong row."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(text("SELECT nextval(pg_get_serial_sequence('process_instances', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": count}))
    highest = session.scalar(select(func.max(ProcessInstance.id))) or 0
    return _sqlite_ids.reserve(session.get_bind().engine.url, highest, count)


class _ProcessLocalIds:
    """The next free instance id per SQLite database, shared by this process's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[URL, int] = {}  # by the database's URL (a value: equal for every engine on a file)

    def reserve(self, database: URL, highest_stored: int, count: int) -> list[int]:
        with self._lock:
            first = max(self._next.get(database, 0), highest_stored + 1)
            self._next[database] = first + count
        return list(range(first, first + count))


_sqlite_ids = _ProcessLocalIds()
