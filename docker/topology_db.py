"""The database of the production topology without Docker: created before the first
migration, dropped on request (``prodctl.py down --drop-db``). PostgreSQL only; an SQLite
file needs neither."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url


@contextmanager
def _admin(url: str) -> Iterator[tuple[Connection, str]]:
    """An autocommit connection to the server's ``postgres`` database, and the target name."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            yield conn, str(target.database)
    finally:
        admin.dispose()


def ensure_database(url: str) -> bool:
    """Create the database of ``url`` if it is missing; True when it was created."""
    if not url.startswith("postgresql"):
        return False
    with _admin(url) as (conn, name):
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is not None:
            return False
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        return True


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    with _admin(url) as (conn, name):
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
