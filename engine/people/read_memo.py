"""Who-is-who reads remembered for one database transaction of one session.

A page asks "who is this user?" and "whom do they supervise?" from several services in one
request; each asks the database again. The memo keeps those answers in ``session.info``,
tagged with the session's current transaction: a new transaction (the next unit of work, the
next request, another session) never sees them, and any write in the transaction (a flush,
an ORM ``UPDATE``/``DELETE``) or its end drops them. Nothing is remembered outside a
transaction, so no answer can pass from one user's request to another's.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

_KEY = "engine.people.read_memo"
T = TypeVar("T")


def _entries(session: Any, create: bool) -> dict | None:
    """The memo of ``session``'s current transaction (None outside one, or for a non-session)."""
    if not isinstance(session, Session):
        return None
    transaction = session.get_transaction()
    if transaction is None:
        return None
    held = session.info.get(_KEY)
    if held is not None and held[0] is transaction:
        return held[1]
    if not create:
        return None
    entries: dict = {}
    session.info[_KEY] = (transaction, entries)
    return entries


def remembered(session: Any, key: tuple, read: Callable[[], T]) -> T:
    """``read()``, once per transaction of ``session`` for ``key`` (the value as first read)."""
    entries = _entries(session, create=False)
    if entries is not None and key in entries:
        return entries[key]
    value = read()
    entries = _entries(session, create=True)  # read() may have begun the transaction
    if entries is not None:
        entries[key] = value
    return value


def forget(session: Session) -> None:
    session.info.pop(_KEY, None)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: Any) -> None:
    forget(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    forget(session)


@event.listens_for(Session, "do_orm_execute")
def _on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        forget(state.session)
