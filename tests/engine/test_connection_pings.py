"""PostgreSQL's pooled connections are checked with a ping only after sitting idle
(``engine.infra.db.ping_when_idle``): one ended by the server meanwhile is replaced without
the caller noticing, and one given back a moment ago costs no extra round trip."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from engine.infra import db
from tests.conftest import PG_ADMIN_URL


def _end_connection(pid: int) -> bool:
    """The server ends one connection (this test's own: the other tests' stay up)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})  # waits until it is gone
    admin.dispose()
    return bool(ended)


def test_a_connection_the_server_ended_while_it_sat_idle_is_replaced_before_anyone_uses_it(postgres_url):
    engine = create_engine(postgres_url)
    db.ping_when_idle(engine, idle_s=0)  # every checkout counts as after an idle spell
    with engine.connect() as conn:
        before = conn.scalar(text("SELECT pg_backend_pid()"))
    assert _end_connection(before)
    with engine.connect() as conn:  # the pooled one is dead: the ping finds it, the pool connects again
        after = conn.scalar(text("SELECT pg_backend_pid()"))
    assert after != before
    engine.dispose()


def test_a_connection_given_back_a_moment_ago_is_handed_out_without_a_ping(postgres_url, monkeypatch):
    engine = db.make_engine(postgres_url)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    with engine.connect() as conn:  # a new connection: just made, nothing to check
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # the same one, given back a moment ago
        conn.execute(text("SELECT 1"))
    assert pings == [] and engine.pool.checkedin() == 1
    engine.dispose()
