"""One business transaction: a session, its audit rows and its outbox messages.

Services receive a unit of work and never commit on their own. ``commit()`` turns a lost
optimistic-lock race or a unique-key clash into ``Conflict`` (HTTP 409) and a busy
database (SQLite's "database is locked") into ``ServiceUnavailable`` (503: nothing was
changed, try again), and only after a successful commit are the ``after_commit`` hooks
called (the task-queue adapter uses one to relay outbox rows to the broker). Once the
commit succeeded nothing may turn it into an error: a hook that fails (the database or
the broker out of reach just then) is logged, and what it did not do is left to the
sweeper (the outbox rows wait, unsent).

``on_commit(callback)`` asks for an in-memory action once this transaction has committed
(the engine step keeps its workflow hot under the version it saved); a rollback, or a unit
of work that ends without committing, forgets it.

Audit rows wait in the unit of work until ``commit()``: it flushes the transaction's other
changes, then links the audit rows into the hash chain (``engine.infra.audit_chain``: the
chain's head is locked only from there to the commit) and commits. A rollback forgets them.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.errors import Conflict, ServiceUnavailable
from engine.infra import audit_chain, request_ids
from engine.models import OutboxMessage

log = logging.getLogger(__name__)


IN_USE = "casework_unit_of_work"  # ``session.info`` key: the unit of work running on this session now


class UnitOfWork:
    """On a session of its own from ``session_factory`` (workers, the command line), closed
    when it ends; or on a ``session`` it is handed (the web app's request-scoped session, owned
    by Flask-SQLAlchemy), which it never closes: it starts afresh on it (rolling back whatever a
    read between two use cases left open, so objects are read again) and rolls back what it
    did not commit. One unit of work at a time runs on a provided session (``in_use``)."""

    def __init__(self, session_factory: Callable[[], Session] | None = None,
                 after_commit: Iterable[Callable[[], None]] = (), owns_session: bool = True, *,
                 session: Session | None = None):
        if (session_factory is None) == (session is None):
            raise TypeError("a unit of work takes either a session factory or a session")
        self._session_factory = session_factory
        self._provided = session
        self._after_commit = list(after_commit)
        self._owns_session = owns_session and session is None
        self._session: Session | None = None
        self._pending_audit: list[audit_chain.PendingAudit] = []
        self._on_commit: list[Callable[[], None]] = []
        self.committed = False

    @property
    def session(self) -> Session:
        """The transaction's session; there is one only inside ``with uow:``."""
        if self._session is None:
            raise RuntimeError("the unit of work has no session: use it inside 'with uow:'")
        return self._session

    @staticmethod
    def in_use(session: Session) -> bool:
        """A unit of work runs on this session now: a use case called from inside it
        needs a session of its own, or it would commit or roll back the other one's work."""
        return bool(session.info.get(IN_USE))

    def __enter__(self) -> UnitOfWork:
        if self._provided is not None:
            if self.in_use(self._provided):
                raise RuntimeError("another unit of work is running on this session")
            self._provided.rollback()
            self._session = self._provided
        else:
            assert self._session_factory is not None
            self._session = self._session_factory()
        self._forget()
        self.committed = False
        if isinstance(self._session, Session):  # for in_use and _forget_on_rollback
            self._session.info[IN_USE] = self
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._forget()
        session = self.session
        try:
            if self._owns_session:
                # close() rolls back anything uncommitted but, unlike rollback(), leaves loaded
                # objects readable (detached) for the caller to render
                session.close()
            elif not self.committed:
                session.rollback()
        finally:
            if isinstance(session, Session):
                session.info.pop(IN_USE, None)

    def _forget(self) -> None:
        self._pending_audit = []
        self._on_commit = []

    # -- side effects recorded in the transaction -----------------------------------
    def audit(self, actor_id: int | None, action: str, subject_type: str, subject_id,
              case_code: str | None = None, **detail) -> None:
        """An audit row, written (and chained) when this transaction commits."""
        session = self.session
        if isinstance(session, Session) and not session.in_transaction():
            session.begin()  # so that a rollback, even before any statement ran, forgets it
        self._pending_audit.append(audit_chain.PendingAudit(clock.now(), actor_id, action, subject_type,
                                                            str(subject_id), case_code,
                                                            json.dumps(detail, default=str, sort_keys=True)))

    @property
    def pending_audit(self) -> list[audit_chain.PendingAudit]:
        """The audit rows this transaction will write, in order (not yet in the database)."""
        return list(self._pending_audit)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in memory only: it must not fail) right after this transaction
        commits; never if it rolls back."""
        self._on_commit.append(callback)

    def enqueue(self, actor: str, *args, eta=None) -> None:
        """Ask for a task-queue message, sent only once this transaction commits."""
        self.session.add(OutboxMessage(actor=actor, args_json=json.dumps(list(args)), eta=eta,
                                       request_id=request_ids.current()))

    # -- ending -----------------------------------------------------------------------
    def flush(self) -> None:
        with self._conflicts_as_409():
            self.session.flush()

    def commit(self) -> None:
        with self._conflicts_as_409():
            if self._pending_audit:
                self.session.flush()  # the slow part first: the chain's head is held only from here on
                events, self._pending_audit = self._pending_audit, []
                audit_chain.append(self.session, events)
            self.session.commit()
        self.committed = True
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            callback()
        for hook in self._after_commit:
            try:
                hook()
            except (SQLAlchemyError, OSError) as err:  # the change is committed: never an error now
                log.error("after-commit hook %s failed, the sweeper finishes its work: %s",
                          getattr(hook, "__qualname__", hook), err)

    @contextmanager
    def _conflicts_as_409(self):
        """A lost optimistic-lock race, a unique-key clash or a serialization failure
        means someone else's change won: roll back and report a conflict. A database too
        busy to take the write (SQLite's lock wait ran out) is no conflict: nothing was
        changed and the same request may simply be sent again (503)."""
        try:
            yield
        except StaleDataError as err:
            self.session.rollback()
            raise Conflict("someone else changed this process instance first; reload and try again") from err
        except IntegrityError as err:
            self.session.rollback()
            raise Conflict("this change clashes with one made at the same time; reload and try again") from err
        except OperationalError as err:
            self.session.rollback()
            if _is_database_busy(err):
                raise ServiceUnavailable("the database is busy; nothing was changed, try again in a moment") from err
            if _is_serialization_failure(err):
                raise Conflict("a concurrent change won; reload and try again") from err
            raise


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous: SessionTransaction) -> None:
    """A rollback by anyone (the engine step recording a failure, a lost race) drops the audit
    rows and commit callbacks of the work it undid (one listener for every session: listening
    on each unit of work's own session cost every transaction more than its audit rows)."""
    uow = session.info.get(IN_USE)
    if uow is not None and previous.parent is None:  # the whole transaction, not a savepoint inside it
        uow._forget()


def _is_serialization_failure(err: OperationalError) -> bool:
    """PostgreSQL gave up on this transaction in favour of a concurrent one."""
    text = str(err.orig).lower()
    return "could not serialize" in text or "deadlock" in text


def _is_database_busy(err: OperationalError) -> bool:
    """SQLite's busy timeout ran out waiting for another writer."""
    text = str(err.orig).lower()
    return "database is locked" in text or "database is busy" in text
