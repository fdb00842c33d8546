"""issue 15 (running it for real): the request that caused each job (carried into the
worker's logs), the restore checks of backups (shown in the BCP "backup restore test"), an
index for counting overdue tasks at every metrics scrape, and the audit rows written before
the hash chain existed linked into it

0006 added the chain but left the rows already written unlinked, so `audit verify` (and a
backup's restore check) failed on every installation that had data before it. When any row
lacks its link, the whole chain is linked again in id order with the rule of this day (the
later rows' links change: each now follows the rows before it; the head moves to the last).

Revision ID: 0016
Revises: 0015
"""
import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
    op.create_index("ix_human_tasks_state_due", "human_tasks", ["state", "due_at"])
    op.create_table(
        "backup_verifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("verified_at", engine.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("backup_path", sa.String(1000), nullable=False),
        sa.Column("backup_taken_at", engine.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("backend", sa.String(20), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("rows_checked", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
    )
    op.create_index("ix_backup_verifications_verified_at", "backup_verifications", ["verified_at"])
    _link_unchained_audit_rows()


_AUDIT = sa.table("audit_events", sa.column("id", sa.Integer()),
                  sa.column("at", engine.models.base.UTCDateTime(timezone=True)), sa.column("actor_id", sa.Integer()),
                  sa.column("action", sa.String()), sa.column("subject_type", sa.String()),
                  sa.column("subject_id", sa.String()), sa.column("case_code", sa.String()),
                  sa.column("detail_json", sa.Text()), sa.column("prev_hash", sa.String()),
                  sa.column("row_hash", sa.String()))
_HEAD = sa.table("audit_chain", sa.column("id", sa.Integer()), sa.column("head_id", sa.Integer()),
                 sa.column("head_hash", sa.String()))


def _row_hash(prev_hash: str, row) -> str:
    """engine.infra.audit_chain.row_hash as it was when this migration was written."""
    fields = {"at": row.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
              "actor_id": row.actor_id, "action": row.action, "subject_type": row.subject_type,
              "subject_id": row.subject_id, "case_code": row.case_code, "detail": row.detail_json}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _link_unchained_audit_rows() -> None:
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).select_from(_AUDIT).where(_AUDIT.c.row_hash.is_(None))).scalar() == 0:
        return
    postgres = bind.dialect.name == "postgresql"
    if postgres:  # the append-only trigger (0006), off for this one rewrite of the links
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    prev_hash, last_id, head_id = "", 0, None
    while True:
        rows = bind.execute(sa.select(_AUDIT).where(_AUDIT.c.id > last_id).order_by(_AUDIT.c.id).limit(1000)).all()
        if not rows:
            break
        for row in rows:
            linked = _row_hash(prev_hash, row)
            bind.execute(sa.update(_AUDIT).where(_AUDIT.c.id == row.id).values(prev_hash=prev_hash, row_hash=linked))
            prev_hash, head_id = linked, row.id
        last_id = rows[-1].id
    if postgres:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
    bind.execute(sa.delete(_HEAD))
    bind.execute(sa.insert(_HEAD).values(id=1, head_id=head_id, head_hash=prev_hash))


def downgrade() -> None:
    op.drop_index("ix_backup_verifications_verified_at", table_name="backup_verifications")
    op.drop_table("backup_verifications")
    op.drop_index("ix_human_tasks_state_due", table_name="human_tasks")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("request_id")
