"""One business transaction: a session, its audit rows and its outbox messages.

Services receive a unit of work and never commit on their own. ``commit()`` turns a lost
optimistic-lock race or a unique-key clash into ``Conflict`` (HTTP 409), and only after a
successful commit are the ``after_commit`` hooks called (the task-queue adapter uses one
to relay outbox rows to the broker).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.errors import Conflict
from engine.models import AuditEvent, OutboxMessage

log = logging.getLogger(__name__)


class UnitOfWork:
    def __init__(self, session_factory: Callable[[], Session],
                 after_commit: Iterable[Callable[[], None]] = (), owns_session: bool = True):
        self._session_factory = session_factory
        self._after_commit = list(after_commit)
        self._owns_session = owns_session
        self._session: Session | None = None
        self.committed = False

    @property
    def session(self) -> Session:
        """The transaction's session; there is one only inside ``with uow:``."""
        if self._session is None:
            raise RuntimeError("the unit of work has no session: use it inside 'with uow:'")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        self.committed = False
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._owns_session:
            # close() rolls back anything uncommitted but, unlike rollback(), leaves loaded
            # objects readable (detached) for the caller to render
            self.session.close()
        elif not self.committed:
            self.session.rollback()

    # -- side effects recorded in the transaction -----------------------------------
    def audit(self, actor_id: int | None, action: str, subject_type: str, subject_id,
              case_code: str | None = None, **detail) -> None:
        self.session.add(AuditEvent(at=clock.now(), actor_id=actor_id, action=action,
                                    subject_type=subject_type, subject_id=str(subject_id),
                                    case_code=case_code,
                                    detail_json=json.dumps(detail, default=str, sort_keys=True)))

    def enqueue(self, actor: str, *args, eta=None) -> None:
        """Ask for a task-queue message, sent only once this transaction commits."""
        self.session.add(OutboxMessage(actor=actor, args_json=json.dumps(list(args)), eta=eta))

    # -- ending -----------------------------------------------------------------------
    def flush(self) -> None:
        with self._conflicts_as_409():
            self.session.flush()

    def commit(self) -> None:
        with self._conflicts_as_409():
            self.session.commit()
        self.committed = True
        for hook in self._after_commit:
            hook()

    @contextmanager
    def _conflicts_as_409(self):
        """A lost optimistic-lock race, a unique-key clash or a serialization failure
        means someone else's change won: roll back and report a conflict."""
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
            if _is_serialization_failure(err):
                raise Conflict("a concurrent change won; reload and try again") from err
            raise


def _is_serialization_failure(err: OperationalError) -> bool:
    text = str(err.orig).lower()
    return "could not serialize" in text or "deadlock" in text or "database is locked" in text
