"""The who-is-who memo (``engine.people.read_memo``) answers from memory only inside the one
transaction of the one session that read it: a new transaction, another session, a write in
between or no transaction at all read again."""
from __future__ import annotations

import itertools

from sqlalchemy import create_engine, literal, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from engine.people.read_memo import remembered


def _reader():
    counter = itertools.count(1)
    return lambda: next(counter)


def test_an_answer_is_kept_for_the_transaction_that_read_it_and_no_longer():
    engine = create_engine("sqlite://")
    read = _reader()
    with Session(engine) as session, Session(engine) as other:
        assert remembered(session, ("user", 1), read) == 1  # no transaction yet: nothing kept
        session.execute(text("SELECT 1"))
        assert remembered(session, ("user", 1), read) == 2
        assert remembered(session, ("user", 1), read) == 2
        assert remembered(session, ("user", 2), read) == 3  # another key, another read
        other.execute(text("SELECT 1"))
        assert remembered(other, ("user", 1), read) == 4  # another session
        session.commit()
        session.execute(text("SELECT 1"))
        assert remembered(session, ("user", 1), read) == 5  # the next transaction reads again
        session.rollback()
        session.execute(text("SELECT 1"))
        assert remembered(session, ("user", 1), read) == 6
    assert remembered(object(), ("user", 1), read) == 7  # not a session: never kept
    assert remembered(object(), ("user", 1), read) == 8


def test_a_write_in_the_transaction_drops_what_was_kept():
    engine = create_engine("sqlite://")
    read = _reader()
    with Session(engine) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        assert remembered(session, ("supervisees", 1, True), read) == 1
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert remembered(session, ("supervisees", 1, True), read) == 2
        session.execute(select(literal(1)))  # a read keeps it
        assert remembered(session, ("supervisees", 1, True), read) == 2
        session.execute(text("DELETE FROM t"))  # any statement not known to be a read drops it
        assert remembered(session, ("supervisees", 1, True), read) == 3


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "memo_rows"
    id: Mapped[int] = mapped_column(primary_key=True)


def test_a_flush_drops_what_was_kept():
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    read = _reader()
    with Session(engine) as session:
        session.execute(select(literal(1)))
        assert remembered(session, ("team", 1), read) == 1
        session.add(_Row(id=1))
        session.flush()
        assert remembered(session, ("team", 1), read) == 2
        assert remembered(session, ("team", 1), read) == 2
