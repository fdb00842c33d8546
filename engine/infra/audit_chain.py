"""The audit trail as a hash chain: each row carries the hash of the row before it.

``row_hash = sha256(prev_hash + canonical JSON of at, actor_id, action, subject_type,
subject_id, case_code, detail)``, and the one ``audit_chain`` row holds the last link
(``head_id``, ``head_hash``). :func:`append` is called by the unit of work just before it
commits: it takes the head under lock (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
the first write of the transaction takes the database's write lock), hashes the
transaction's audit rows in order (a recursive CTE computing the same ``sha256`` as
:func:`row_hash`), inserts them and moves the head — one statement on PostgreSQL, two on
SQLite — so the rows' ids and the chain's order agree whatever commits at the same time,
and a transaction holds the lock only for those few statements.

:func:`verify` walks the chain from the first row: a row changed in place (its hash no
longer matches), deleted or inserted (the next row's ``prev_hash`` no longer points at the
row before it), or rows cut off the end (the head points past the last row) are found and
the first broken row named.

What it does not cover: the hash has no secret, so someone who can write to the database
and recompute every later hash and the head can rewrite history unnoticed; a backup's
manifest records the head, so comparing against an earlier head (or one kept elsewhere)
shows that. Likewise a head row deleted together with the rows after it: the head is made
again from the last row left (a database emptied table by table has none). Rows are
append-only as well (the ORM refuses updates and deletes; on
PostgreSQL a trigger does too).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import orjson
from sqlalchemy import Dialect, Table, bindparam, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from engine import clock
from engine.models import AuditChainHead, AuditEvent

HEAD_ID = 1  # the one row of audit_chain


@dataclass(frozen=True, slots=True)
class PendingAudit:
    """An audit row waiting for its transaction's commit (``UnitOfWork.audit``): plain values,
    not an ORM object (it never enters the session: :func:`append` inserts it)."""
    at: dt.datetime
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: str
    case_code: str | None
    detail_json: str


def canonical(event: AuditEvent | PendingAudit) -> str:
    """What of ``event`` its hash covers, as canonical JSON (the link before it aside)."""
    fields = {"at": clock.as_utc(event.at).isoformat(timespec="microseconds"), "actor_id": event.actor_id,
              "action": event.action, "subject_type": event.subject_type, "subject_id": event.subject_id,
              "case_code": event.case_code, "detail": event.detail_json}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, event: AuditEvent | PendingAudit) -> str:
    """The hash of ``event`` as the link after ``prev_hash``."""
    return hashlib.sha256((prev_hash + canonical(event)).encode("utf-8")).hexdigest()


_CHUNK = 100  # audit rows per statement (the recursive join of a piece stays short)
_COLUMNS = ("at", "actor_id", "action", "subject_type", "subject_id", "case_code", "detail_json", "prev_hash",
            "row_hash")
_TABLE = cast(Table, AuditEvent.__table__)


_PG_FIELDS = ("at", "actor_id", "action", "subject_type", "subject_id", "case_code", "detail_json", "canonical")
_PG_CASTS = ("timestamptz", "integer", "varchar", "varchar", "varchar", "varchar", "text", "text")

# PostgreSQL: the whole append in one statement whose one parameter is the rows as JSON (their
# position ``n`` with them), so its text is the same whatever the count, short, and parsed once
# by psycopg and the server. The head is locked and read (``FOR UPDATE``: a concurrent append
# waits, then reads the head the other committed), each row's hash is ``sha256(prev_hash ||
# canonical JSON)`` exactly as :func:`row_hash` computes it (a recursive CTE, link after link),
# the rows are inserted in order (ids in chain order) and the head moves — made again from the
# last row if it was lost.
_CHAIN_ROWS_POSTGRESQL = text(f"""WITH RECURSIVE
head AS (SELECT head_hash FROM audit_chain WHERE id = {HEAD_ID} FOR UPDATE),
src AS (SELECT * FROM json_to_recordset(CAST(:rows AS json))
        AS r(n integer, {", ".join(f"{name} {cast}" for name, cast in zip(_PG_FIELDS, _PG_CASTS, strict=True))})),
chain (n, prev_hash, row_hash) AS (
  SELECT 0, CAST(NULL AS text), COALESCE((SELECT COALESCE(head_hash, '') FROM head),
                                       (SELECT row_hash FROM audit_events ORDER BY id DESC LIMIT 1), '')
  UNION ALL
  SELECT src.n, chain.row_hash, encode(sha256(convert_to(chain.row_hash || src.canonical, 'UTF8')), 'hex')
  FROM chain JOIN src ON src.n = chain.n + 1),
inserted AS (
  INSERT INTO audit_events ({", ".join(_COLUMNS[:7])}, prev_hash, row_hash)
  SELECT {", ".join(f"src.{c}" for c in _COLUMNS[:7])}, chain.prev_hash, chain.row_hash
  FROM src JOIN chain ON chain.n = src.n ORDER BY src.n
  RETURNING id)
INSERT INTO audit_chain (id, head_id, head_hash)
SELECT {HEAD_ID}, (SELECT max(id) FROM inserted), (SELECT row_hash FROM chain ORDER BY n DESC LIMIT 1)
ON CONFLICT (id) DO UPDATE SET head_id = EXCLUDED.head_id, head_hash = EXCLUDED.head_hash""")


def _rows_json(events: Sequence[PendingAudit], dialect: Dialect) -> str:
    """``events`` as the JSON :data:`_CHAIN_ROWS_POSTGRESQL` reads: each time through its
    column's type first (an aware time in UTC), as a bound parameter would be."""
    to_db = _TABLE.c.at.type._cached_bind_processor(dialect)
    return orjson.dumps([{"n": n, "at": to_db(event.at) if to_db else event.at, "actor_id": event.actor_id,
                          "action": event.action, "subject_type": event.subject_type,
                          "subject_id": event.subject_id, "case_code": event.case_code,
                          "detail_json": event.detail_json, "canonical": canonical(event)}
                         for n, event in enumerate(events, start=1)]).decode()


@lru_cache(maxsize=_CHUNK)
def _chain_rows_sqlite(rows: int) -> Executable:
    """SQLite: the rows hashed and inserted in one statement (the same recursive CTE as on
    PostgreSQL, ``audit_sha256_hex`` being :func:`_sha256_hex`, registered on every connection by
    :func:`register_sqlite_functions`),
    built once per size; the head moves in a second one (:data:`_MOVE_HEAD_SQLITE`). The
    transaction holds SQLite's write lock already (its other changes were flushed first), so no
    other writer can come between the two."""
    values = ", ".join("(" + ", ".join([str(n + 1)] + [f":{name}_{n}" for name in _PG_FIELDS]) + ")"
                       for n in range(rows))
    columns = ", ".join(_COLUMNS[:7])
    sql = f"""WITH RECURSIVE
src (n, {", ".join(_PG_FIELDS)}) AS (VALUES {values}),
chain (n, prev_hash, row_hash) AS (
  SELECT 0, NULL, COALESCE((SELECT COALESCE(head_hash, '') FROM audit_chain WHERE id = {HEAD_ID}),
                           (SELECT row_hash FROM audit_events ORDER BY id DESC LIMIT 1), '')
  UNION ALL
  SELECT src.n, chain.row_hash, audit_sha256_hex(chain.row_hash || src.canonical)
  FROM chain JOIN src ON src.n = chain.n + 1)
INSERT INTO audit_events ({columns}, prev_hash, row_hash)
SELECT {", ".join(f"src.{c}" for c in _COLUMNS[:7])}, chain.prev_hash, chain.row_hash
FROM src JOIN chain ON chain.n = src.n ORDER BY src.n"""
    return text(sql).bindparams(*[bindparam(f"{name}_{n}", type_=_TABLE.c[name].type)
                                  for n in range(rows) for name in _PG_FIELDS if name == "at"])


# the head made again if lost (a database emptied table by table), as on PostgreSQL
_MOVE_HEAD_SQLITE = text(f"""INSERT INTO audit_chain (id, head_id, head_hash)
SELECT {HEAD_ID}, id, row_hash FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)
ON CONFLICT (id) DO UPDATE SET head_id = excluded.head_id, head_hash = excluded.head_hash""")


def _sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def register_sqlite_functions(connection: sqlite3.Connection) -> None:
    """What the SQLite append needs on each connection (``engine.infra.db`` calls it when one
    opens): the hash function of :data:`_chain_rows_sqlite`."""
    connection.create_function("audit_sha256_hex", 1, _sha256_hex, deterministic=True)


def append(session: Session, events: Sequence[PendingAudit]) -> None:
    """Link ``events`` (in order) after the chain's head and insert them, in the caller's
    transaction, which must commit right after (the head stays locked until it does).

    On PostgreSQL one statement with one parameter does it all, the hashing included (up to
    ``_CHUNK`` rows; one per ``_CHUNK`` rows more: each continues from the head the one before
    moved, and the recursive join stays short), so the head
    is locked only from that statement to the commit. On SQLite (whose first write of the
    transaction took the database's lock: nobody else inserts audit rows meanwhile, so ids
    follow the chain) the same recursive statement hashes and inserts, and a second one moves
    the head; two more for each ``_CHUNK`` rows beyond. Core statements, built once per size:
    the rows never enter the session (an ORM flush of them costs more than the INSERT)."""
    if not events:
        return
    connection = session.connection()  # Core statements: the ORM's execute path adds nothing to them
    postgresql = connection.dialect.name == "postgresql"
    for start in range(0, len(events), _CHUNK):
        piece = events[start:start + _CHUNK]
        if postgresql:
            connection.execute(_CHAIN_ROWS_POSTGRESQL, {"rows": _rows_json(piece, connection.dialect)})
            continue
        connection.execute(_chain_rows_sqlite(len(piece)), {
            f"{name}_{n}": canonical(event) if name == "canonical" else getattr(event, name)
            for n, event in enumerate(piece) for name in _PG_FIELDS})
        connection.execute(_MOVE_HEAD_SQLITE)  # before the next piece, which continues from it


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold: the row (id) and what is wrong with it."""
    row_id: int | None
    reason: str

    def describe(self) -> str:
        where = f"audit row {self.row_id}" if self.row_id is not None else "the audit chain head"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head_id: int | None
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(session: Session, batch: int = 1000) -> ChainReport:
    """Walk the whole chain in id order (``batch`` rows at a time) and compare it with the head."""
    rows = 0
    prev_id, prev_hash = None, ""
    broken = None
    for event in _in_order(session, batch):
        rows += 1
        if event.prev_hash != prev_hash:
            after = f"row {prev_id}" if prev_id is not None else "the start of the chain"
            broken = ChainBreak(event.id, f"does not follow {after} (a row before it was deleted or inserted, "
                                          "or its link was changed)")
            break
        if event.row_hash != row_hash(prev_hash, event):
            broken = ChainBreak(event.id, "its content was changed after it was written (hash mismatch)")
            break
        prev_id, prev_hash = event.id, event.row_hash or ""
    head = session.execute(select(AuditChainHead.head_id, AuditChainHead.head_hash)
                           .where(AuditChainHead.id == HEAD_ID)).first()
    if broken is None:
        head_id, head_hash = (head.head_id, head.head_hash or "") if head is not None else (None, "")
        if (head_id, head_hash) != (prev_id, prev_hash) and not (head is None and rows == 0):
            broken = ChainBreak(prev_id, f"the chain ends here but its head says row {head_id}: rows after it were "
                                         "deleted, or rows were added outside the chain")
    return ChainReport(rows, head.head_id if head is not None else None, broken)


def _in_order(session: Session, batch: int) -> Iterable[AuditEvent]:
    last_id = 0
    while True:
        chunk = list(session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                     .order_by(AuditEvent.id).limit(batch)))
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1].id
        session.expunge_all()  # a long chain is read in constant memory
