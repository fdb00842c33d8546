"""The audit trail as a hash chain: each row carries the hash of the row before it.

``row_hash = sha256(prev_hash + canonical JSON of at, actor_id, action, subject_type,
subject_id, case_code, detail)``, and the one ``audit_chain`` row holds the last link
(``head_id``, ``head_hash``). :func:`append` is called by the unit of work just before it
commits: it takes the head under lock (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
the first write of the transaction takes the database's write lock), hashes the
transaction's audit rows in order, inserts them and moves the head — so the rows' ids and
the chain's order agree whatever commits at the same time, and a transaction holds the
lock only for those few statements.

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

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.models import AuditChainHead, AuditEvent
from engine.models.ops import dialect_insert

HEAD_ID = 1  # the one row of audit_chain


def row_hash(prev_hash: str, event: AuditEvent) -> str:
    """The hash of ``event`` as the link after ``prev_hash``."""
    fields = {"at": clock.as_utc(event.at).isoformat(timespec="microseconds"), "actor_id": event.actor_id,
              "action": event.action, "subject_type": event.subject_type, "subject_id": event.subject_id,
              "case_code": event.case_code, "detail": event.detail_json}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def append(session: Session, events: Sequence[AuditEvent]) -> None:
    """Link ``events`` (in order) after the chain's head and insert them, in the caller's
    transaction, which must commit right after (the head stays locked until it does)."""
    if not events:
        return
    _, head_hash = _take_head(session)
    for event in events:
        event.prev_hash = head_hash
        event.row_hash = head_hash = row_hash(head_hash, event)
    session.add_all(events)
    session.flush()  # ids in insertion order: nobody else inserts audit rows while the head is held
    session.execute(update(AuditChainHead).where(AuditChainHead.id == HEAD_ID)
                    .values(head_id=events[-1].id, head_hash=head_hash))


def _take_head(session: Session) -> tuple[int | None, str]:
    head = _locked_head(session)
    if head is None:
        # the head row is made by the migration; a database emptied table by table (the
        # tests) lost it: start it again from the last row there is
        last = session.execute(select(AuditEvent.id, AuditEvent.row_hash)
                               .order_by(AuditEvent.id.desc()).limit(1)).first()
        session.execute(dialect_insert(session, AuditChainHead)
                        .values(id=HEAD_ID, head_id=last.id if last else None,
                                head_hash=(last.row_hash or "") if last else "")
                        .on_conflict_do_nothing(index_elements=["id"]))
        head = _locked_head(session)
        if head is None:  # pragma: no cover - the insert above makes it
            raise RuntimeError("the audit chain head could not be created")
    return head


def _locked_head(session: Session) -> tuple[int | None, str] | None:
    """The head, locked, in one statement: an UPDATE that changes nothing takes the row's lock
    on PostgreSQL (a concurrent one waits, then reads the head the other committed) and, SQLite
    having no row locks, the database's write lock there; RETURNING reads the head."""
    row = session.execute(update(AuditChainHead).where(AuditChainHead.id == HEAD_ID)
                          .values(head_id=AuditChainHead.head_id)
                          .returning(AuditChainHead.head_id, AuditChainHead.head_hash)
                          .execution_options(synchronize_session=False)).first()
    return (row.head_id, row.head_hash or "") if row is not None else None


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
