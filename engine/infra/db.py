"""Database engines, sessions and schema migrations (Alembic), without Flask."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import sessionmaker

from engine.infra import audit_chain, sqlite_writers
from engine.settings import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DEFAULT_BUSY_TIMEOUT_S = Settings.sqlite_busy_timeout_s
log = logging.getLogger(__name__)


def make_engine(url: str, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S, **kwargs) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, the audit chain's hash function
    (``audit_chain.register_sqlite_functions``), and WAL and a busy timeout so the embedded web
    app and its in-process worker can share one file; the timeout is short
    (``Settings.sqlite_busy_timeout_s``) so that a request meeting a lock held too long gets
    "database is locked" — answered 503 with Retry-After — instead of waiting half a minute."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": busy_timeout_s, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        busy_timeout_ms = int(busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cur.close()
            audit_chain.register_sqlite_functions(dbapi_conn)

        sqlite_writers.install(engine, busy_timeout_s)  # writers of this process queue fairly
        return engine
    engine = create_engine(url, **kwargs)
    ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 0.5  # HikariCP's default "alive bypass window": a connection used this recently is not pinged


def ping_when_idle(engine: Engine, idle_s: float = PING_AFTER_IDLE_S) -> None:
    """Check a pooled connection with a ping before it is handed out — the pool's pre-ping —
    but only when it has been idle ``idle_s`` or longer: a connection given back a moment ago
    was alive then, and the ping is a round trip that every transaction would otherwise pay
    (one of four on a short step: the ping, BEGIN, the statements, COMMIT). A dead one (the
    server restarted, the connection was ended) is dropped and the pool connects afresh, as
    with ``pool_pre_ping``; one that dies within the window fails its request as it would
    without a ping (the request is answered 503/409 and may be sent again)."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "connect")
    def _fresh(_dbapi_conn, record) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.pool, "checkin")
    def _given_back(_dbapi_conn, record) -> None:
        if record is not None:
            record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < idle_s:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                raise DisconnectionError(f"a pooled connection was dead: {err}") from err  # the pool reconnects
            raise


_LAST_USED = "casework_last_used"  # the pool record's info: when the connection was last given back


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration.

    On SQLite, Alembic's batch mode changes a table by copying it and dropping the old one,
    which foreign keys refuse once other tables hold rows naming it (a database with data
    from an older release): they are off while the migrations run — as SQLite's own
    procedure for changing a table says — and every reference is checked before the commit."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction, or it does nothing
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migrated database has rows naming missing rows: {broken[:5]}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    log.info("database schema is at head")
