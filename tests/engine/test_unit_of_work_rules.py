"""The unit of work's own rules, on a fake session: a lost race is a 409 and nothing of it
stays; a busy database is a 503 (nothing changed, send it again), not a conflict; the
after-commit hooks (the outbox relay) run only once the commit succeeded; audit and outbox
rows ride in the same transaction (audit rows wait in the unit of work until the commit
chains them: tests/engine/test_audit_chain.py)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict, ServiceUnavailable
from engine.infra.audit_chain import PendingAudit
from engine.infra.unit_of_work import UnitOfWork
from engine.models import OutboxMessage
from tests.fakes import FakeSession


class FailingSession(FakeSession):
    def __init__(self, log, error):
        super().__init__(log)
        self.error = error

    def commit(self):
        self.log.append("commit")
        raise self.error


def unit(log, error=None, hooks=()):
    return UnitOfWork(lambda: FailingSession(log, error) if error else FakeSession(log), after_commit=hooks)


def test_the_relay_runs_only_after_the_commit_succeeded():
    log: list = []
    with unit(log, hooks=[lambda: log.append("relay")]) as uow:
        uow.commit()
    assert log == ["commit", "relay", "close"]


@pytest.mark.parametrize("error", [
    StaleDataError("UPDATE process_instances matched 0 rows"),
    IntegrityError("INSERT", {}, Exception("duplicate key")),
    OperationalError("COMMIT", {}, Exception("could not serialize access due to concurrent update")),
    OperationalError("COMMIT", {}, Exception("deadlock detected")),
], ids=["stale version", "unique key", "serialization failure", "deadlock"])
def test_a_lost_race_is_a_conflict_rolled_back_and_sends_nothing(error):
    log: list = []
    with pytest.raises(Conflict), unit(log, error, hooks=[lambda: log.append("relay")]) as uow:
        uow.commit()
    assert "relay" not in log
    assert log[:2] == ["commit", "rollback"]


def test_a_busy_sqlite_database_is_unavailable_not_a_conflict_and_sends_nothing():
    log: list = []
    busy = OperationalError("COMMIT", {}, Exception("database is locked"))
    with pytest.raises(ServiceUnavailable) as raised, unit(log, busy, hooks=[lambda: log.append("relay")]) as uow:
        uow.commit()
    assert raised.value.status == 503 and raised.value.retry_after > 0
    assert "relay" not in log
    assert log[:2] == ["commit", "rollback"]


def test_any_other_database_error_is_not_passed_off_as_a_conflict():
    log: list = []
    with pytest.raises(OperationalError), unit(log, OperationalError("COMMIT", {}, Exception("disk full"))) as uow:
        uow.commit()


def test_audit_rows_wait_for_the_commit_outbox_rows_join_the_transaction_and_nothing_commits_unasked():
    log: list = []
    with unit(log) as uow:
        uow.audit(3, "case_file_viewed", "case", 12, "CM-AAAA-BBBB", name_shown=False)
        uow.enqueue("fire_timer", 41)
        [message] = uow.session.added
        [audit] = uow.pending_audit
    assert isinstance(audit, PendingAudit) and (audit.action, audit.subject_id, audit.case_code) == (
        "case_file_viewed", "12", "CM-AAAA-BBBB")
    assert json.loads(audit.detail_json) == {"name_shown": False}
    assert isinstance(message, OutboxMessage) and json.loads(message.args_json) == [41]
    assert "commit" not in log  # leaving the block without commit() rolls everything back
    assert uow.pending_audit == []  # and forgets the audit rows
