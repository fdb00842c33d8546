"""The audit trail cannot be rewritten unnoticed: rows are append-only and chained by hash,
the chain keeps one line however many transactions commit at once, and
``python -m webui.cli audit verify`` names the first row that was changed, deleted or
slipped in (R32: every access is audited, so the trail must be one to trust)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from engine.errors import DomainError
from engine.infra import audit_chain
from engine.models import AuditChainHead, AuditEvent
from engine.models.work import AuditRecordImmutable
from webui import cli


def write_events(ctx, *actions: str) -> None:
    """One transaction auditing ``actions`` in order."""
    with ctx.uow() as uow:
        for action in actions:
            uow.audit(None, action, "test", action, "CM-TEST-0001", detail=action)
        uow.commit()


def chain(ctx) -> list[AuditEvent]:
    with ctx.session_factory() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def verify_via_cli(monkeypatch, capsys, database_url) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    code = cli.main(["audit", "verify"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def raw(ctx, backend: str, sql: str, **params) -> None:
    """Change the table behind the application's back (the PostgreSQL trigger is lifted,
    as only the database superuser could)."""
    with ctx.engine.begin() as conn:
        if backend == "postgres":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        conn.execute(text(sql), params)
        if backend == "postgres":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def test_each_row_links_to_the_one_before_and_the_head_to_the_last(ctx):
    write_events(ctx, "first", "second")
    write_events(ctx, "third")
    rows = chain(ctx)[-3:]
    assert [r.action for r in rows] == ["first", "second", "third"]
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.row_hash
        assert after.row_hash == audit_chain.row_hash(before.row_hash, after)
    with ctx.session_factory() as session:
        head = session.get(AuditChainHead, audit_chain.HEAD_ID)
        assert (head.head_id, head.head_hash) == (rows[-1].id, rows[-1].row_hash)
        assert audit_chain.verify(session).intact


def test_a_transaction_with_more_rows_than_one_statement_takes_stays_one_chain(ctx):
    """A bulk change (a crisis fan-out, a migration of many instances) audits hundreds of
    rows in one commit; they go in pieces, each continuing from the one before."""
    actions = [f"bulk_{n}" for n in range(audit_chain._CHUNK * 2 + 7)]
    write_events(ctx, *actions)
    rows = chain(ctx)[-len(actions):]
    assert [r.action for r in rows] == actions
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.row_hash
    with ctx.session_factory() as session:
        head = session.get(AuditChainHead, audit_chain.HEAD_ID)
        assert (head.head_id, head.head_hash) == (rows[-1].id, rows[-1].row_hash)
        assert audit_chain.verify(session).intact


def test_a_rolled_back_transaction_leaves_no_audit_rows(ctx):
    before = len(chain(ctx))
    with ctx.uow() as uow:
        uow.audit(None, "never_happened", "test", 1)
    with ctx.uow() as uow:  # the engine step's failure record: roll the attempt back, audit the failure
        uow.audit(None, "attempt", "test", 2)
        uow.session.rollback()
        uow.audit(None, "failure_recorded", "test", 2)
        uow.commit()
    assert [r.action for r in chain(ctx)[before:]] == ["failure_recorded"]


def test_the_orm_refuses_to_change_or_delete_an_audit_row(ctx):
    write_events(ctx, "kept")
    with ctx.session_factory() as session:
        row = session.scalar(select(AuditEvent).where(AuditEvent.action == "kept"))
        row.action = "rewritten"
        with pytest.raises(AuditRecordImmutable):
            session.flush()
        session.rollback()
        session.delete(session.scalar(select(AuditEvent).where(AuditEvent.action == "kept")))
        with pytest.raises(AuditRecordImmutable):
            session.flush()


def test_postgresql_refuses_raw_updates_and_deletes_of_audit_rows(ctx, backend):
    if backend != "postgres":
        pytest.skip("the append-only trigger is PostgreSQL's")
    write_events(ctx, "kept")
    for statement in ("UPDATE audit_events SET action = 'rewritten'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
            conn.execute(text(statement))
    assert [r.action for r in chain(ctx)][-1] == "kept"


def test_a_lost_head_row_is_made_again_from_the_last_row(ctx):
    write_events(ctx, "before")
    with ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_chain"))
    write_events(ctx, "after")
    with ctx.session_factory() as session:
        assert audit_chain.verify(session).intact
    assert [r.action for r in chain(ctx)][-2:] == ["before", "after"]


def test_verify_passes_an_intact_chain(ctx, database_url, monkeypatch, capsys):
    write_events(ctx, "a", "b", "c")
    code, output = verify_via_cli(monkeypatch, capsys, database_url)
    assert code == 0 and "intact" in output


@pytest.mark.parametrize("tamper", ["changed", "deleted", "appended", "cut off"])
def test_verify_names_the_first_broken_row(ctx, backend, database_url, monkeypatch, capsys, tamper):
    write_events(ctx, "a", "b", "c", "d")
    a, b, c, d = chain(ctx)[-4:]
    if tamper == "changed":
        raw(ctx, backend, "UPDATE audit_events SET detail_json = '{}' WHERE id = :id", id=b.id)
        broken = b.id
    elif tamper == "deleted":
        raw(ctx, backend, "DELETE FROM audit_events WHERE id = :id", id=b.id)
        broken = c.id  # the row after the gap no longer follows the one before it
    elif tamper == "appended":
        raw(ctx, backend, "INSERT INTO audit_events (id, at, action, subject_type, subject_id, detail_json, "
                          "prev_hash, row_hash) SELECT :id, at, 'forged', 'test', 'x', '{}', row_hash, 'made-up' "
                          "FROM audit_events WHERE id = :last", id=d.id + 1, last=d.id)
        broken = d.id + 1
    else:
        raw(ctx, backend, "DELETE FROM audit_events WHERE id = :id", id=d.id)
        broken = c.id  # the chain now ends before the row its head names
    code, output = verify_via_cli(monkeypatch, capsys, database_url)
    assert code == 1
    assert f"audit row {broken}:" in output


def test_a_row_slipped_in_between_two_others_breaks_the_chain_after_it(ctx, backend):
    """Even a forged row hashed correctly onto the row before it: the next row does not
    follow it."""
    write_events(ctx, "a", "x", "b")
    a, x, b = chain(ctx)[-3:]
    raw(ctx, backend, "DELETE FROM audit_events WHERE id = :id", id=x.id)
    forged = AuditEvent(at=a.at, actor_id=None, action="forged", subject_type="test", subject_id="forged",
                        case_code=None, detail_json="{}")
    raw(ctx, backend, "INSERT INTO audit_events (id, at, action, subject_type, subject_id, detail_json, prev_hash, "
                      "row_hash) SELECT :id, at, 'forged', 'test', 'forged', '{}', :prev, :hash "
                      "FROM audit_events WHERE id = :a", id=x.id, prev=a.row_hash,
        hash=audit_chain.row_hash(a.row_hash, forged), a=a.id)
    with ctx.session_factory() as session:
        report = audit_chain.verify(session)
    assert report.broken is not None and report.broken.row_id == b.id


def test_concurrent_transactions_keep_one_chain_in_id_order(ctx, backend):
    if backend != "postgres":
        pytest.skip("needs concurrent writers")
    start = threading.Barrier(6, timeout=20)
    failures: list = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(5):
                write_events(ctx, f"w{n}-{i}-a", f"w{n}-{i}-b", f"w{n}-{i}-c")
        except (DomainError, SQLAlchemyError) as err:  # reported by the assertion below
            failures.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    rows = chain(ctx)
    assert len(rows) >= 90
    for n in range(6):  # each transaction's rows stay together, in the order they were audited
        for i in range(5):
            mine = [r.id for r in rows if r.action.startswith(f"w{n}-{i}-")]
            assert mine == list(range(mine[0], mine[0] + 3))
    with ctx.session_factory() as session:
        assert audit_chain.verify(session).intact
