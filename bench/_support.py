"""Shared set-up for benchmarks: throwaway databases on SQLite and PostgreSQL."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


@contextlib.contextmanager
def sqlite_url():
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextlib.contextmanager
def postgres_url(name: str):
    """A fresh PostgreSQL database for one benchmark run, or None when unreachable."""
    db_name = f"bench_{name}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    except OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def redis_reachable(url: str = REDIS_URL) -> bool:
    import redis
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False


def start_sample_intake(app) -> tuple[int, dict[str, int]]:
    """Sign in as caseworker1 and start ``sample_intake`` through the API, as a person would;
    returns the new instance's id and every demo user's id by username, for the bulk fills."""
    from sqlalchemy import select

    from engine.models import User
    client = app.test_client()
    token = client.post("/api/auth/token", json={"username": "caseworker1", "password": "demo"}).get_json()
    started = client.post("/api/processes/sample_intake/instances", json={},
                          headers={"Authorization": "Bearer " + token["access_token"]}).get_json()
    with app.extensions["engine_ctx"].session_factory() as session:
        user_ids = dict(session.execute(select(User.username, User.id)).all())
    return started["id"], user_ids
