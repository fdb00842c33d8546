"""Many rows in one statement with one parameter: PostgreSQL's ``json_populate_recordset``.

A list of parameter sets given to ``Connection.execute`` is an executemany: with psycopg one
statement per row (pipelined, but each row's parameters adapted and each statement run on its
own, about 40 µs of client time a row); SQLAlchemy's "insertmanyvalues" form is no cheaper
there (one long statement psycopg parses anew each time), nor is an array per column (psycopg
escapes each text element of an array with a regular expression: slow for saved states full of
quotes). On PostgreSQL these write a batch with one short, prepared statement whose one
parameter is the rows as JSON (orjson), read into the table's row type by the server;
elsewhere (SQLite, whose executemany is cheap) they are the executemany.

Every value goes through its column's type first (``UTCDateTime`` refuses a naive time), as
in the executemany; the server reads each from JSON by the column's own type. A column the
rows leave out gets its server default only (a sequence's id, say): rows name every column
with a default set in Python. Values are what orjson writes: text, numbers, booleans, None,
aware datetimes, enums of those.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, Table, TextClause, bindparam, insert, inspect, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.dml import Insert, Update


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                skip_duplicates_of: tuple[str, ...] = ()) -> None:
    """INSERT ``rows`` (dicts with the same keys, column names) into ``table``; with
    ``skip_duplicates_of`` (the columns of a unique index), a row that would clash with one
    stored is left out (``ON CONFLICT DO NOTHING``)."""
    if not rows:
        return
    keys = tuple(rows[0])
    if connection.dialect.name != "postgresql" or len(rows) == 1:
        connection.execute(_row_insert(connection.dialect.name, table, skip_duplicates_of), list(rows))
        return
    connection.execute(_json_insert(table, keys, skip_duplicates_of),
                       {"rows": _as_json(connection, table, keys, rows)})


def insert_objects(session: Session, table: Table, objects: Sequence[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (:func:`insert_rows`: every column of each of ``objects``, new ORM objects of
    ``table``'s class not in the session) and let the session hold the objects as it holds rows it
    read: persistent, every column loaded with what was written, no flush."""
    insert_rows(session.connection(), table, rows)
    for obj, written in zip(objects, rows, strict=True):
        inspect(obj).dict.update(written)  # the columns left unset are None, as written
        make_transient_to_detached(obj)
        session.add(obj)


def update_rows(connection: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """UPDATE the rows of ``table`` whose ``key`` column holds each row's ``key`` value, setting the
    other columns each row names (every row names the same)."""
    if not rows:
        return
    keys = tuple(rows[0])
    if connection.dialect.name != "postgresql" or len(rows) == 1:
        connection.execute(_keyed_update(table, key, keys), [{f"b_{k}": v for k, v in row.items()} for row in rows])
        return
    connection.execute(_json_update(table, key, keys), {"rows": _as_json(connection, table, keys, rows)})


def _as_json(connection: Connection, table: Table, keys: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> str:
    processors = [(k, table.c[k].type._cached_bind_processor(connection.dialect)) for k in keys]
    converted = [k for k, proc in processors if proc is not None]
    if converted:
        rows = [{**row, **{k: proc(row[k]) for k, proc in processors if proc is not None}} for row in rows]
    return orjson.dumps(list(rows) if not isinstance(rows, list) else rows).decode()


def _recordset(table: Table) -> str:
    return f"json_populate_recordset(NULL::{table.name}, CAST(:rows AS json))"


@cache
def _json_insert(table: Table, keys: tuple[str, ...], skip_duplicates_of: tuple[str, ...]) -> Insert:
    chosen = text(f"SELECT {', '.join(keys)} FROM {_recordset(table)}").columns(*[table.c[k] for k in keys])
    statement = postgresql.insert(table).from_select(list(keys), chosen)
    return statement.on_conflict_do_nothing(index_elements=list(skip_duplicates_of)) if skip_duplicates_of \
        else statement


@cache
def _row_insert(dialect: str, table: Table, skip_duplicates_of: tuple[str, ...]) -> Insert:
    if not skip_duplicates_of:
        return insert(table)
    statement = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return statement.on_conflict_do_nothing(index_elements=list(skip_duplicates_of))


@cache
def _json_update(table: Table, key: str, keys: tuple[str, ...]) -> TextClause:
    values = ", ".join(f"{k} = given.{k}" for k in keys if k != key)
    return text(f"UPDATE {table.name} SET {values} FROM {_recordset(table)} AS given "
                f"WHERE {table.name}.{key} = given.{key}")


@cache
def _keyed_update(table: Table, key: str, keys: tuple[str, ...]) -> Update:
    return (update(table).where(table.c[key] == bindparam(f"b_{key}"))
            .values({k: bindparam(f"b_{k}") for k in keys if k != key}))
