"""First come, first served among the writers of one SQLite file in this process.

SQLite lets one transaction write at a time. A writer that finds the file locked waits in
SQLite's busy handler, which polls: it is not a queue, so a thread that writes again and
again (a caseworker's form sent in a loop, a batch job) can win every race and starve a
person who only wants to sign in, until the busy timeout turns them away with
"database is locked". In the embedded deployment every writer is a thread of one
process, so this module queues them itself: a transaction joins the queue at its first
write statement and leaves it when it commits or rolls back; the SQLite lock is then
never contended inside the process, and each writer waits only for those before it.

The wait is bounded by the same busy timeout; past it the writer gets the
"database is locked" OperationalError SQLite would have raised (answered 503 with
Retry-After). A thread that already holds the queue may open a second connection and write
(the queue is re-entrant per thread): SQLite itself then arbitrates, as before. Other
processes on the same file (a command-line deploy while the server runs) are still
arbitrated by SQLite's busy handler alone.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_HOLDS = "sqlite_writer_queue"  # key in the pool connection record's info


class WriterQueue:
    """A re-entrant, first-in first-out lock (per thread)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, timeout_s: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = object()
            self._waiting.append(ticket)
            deadline = time.monotonic() + timeout_s
            while self._owner is not None or self._waiting[0] is not ticket:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    if self._owner is None and self._waiting[0] is ticket:
                        break
                    self._waiting.remove(ticket)
                    self._cond.notify_all()
                    return False
            self._waiting.popleft()
            self._owner, self._depth = me, 1
            return True

    def release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth <= 0:
                self._owner, self._depth = None, 0
                self._cond.notify_all()


def install(engine: Engine, timeout_s: float) -> WriterQueue:
    """Queue the writers of ``engine`` (an SQLite engine) first come, first served."""
    queue = WriterQueue()

    @event.listens_for(engine, "before_cursor_execute")
    def _join_queue(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
        if conn.info.get(_HOLDS) or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        if not queue.acquire(timeout_s):
            raise OperationalError(statement, parameters, sqlite3.OperationalError("database is locked"))
        conn.info[_HOLDS] = True

    def _leave(info: dict[str, Any]) -> None:
        if info.pop(_HOLDS, None):
            queue.release()

    @event.listens_for(engine, "commit")
    def _committed(conn: Any) -> None:
        _leave(conn.info)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn: Any) -> None:
        _leave(conn.info)

    @event.listens_for(engine.pool, "reset")
    def _reset(dbapi_conn: Any, record: Any, reset_state: Any = None) -> None:  # returned to the pool unfinished
        _leave(record.info)

    @event.listens_for(engine.pool, "invalidate")
    def _invalidated(dbapi_conn: Any, record: Any, exception: Any) -> None:
        _leave(record.info)

    return queue
