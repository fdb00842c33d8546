"""issue 18 (jobs until done, worker heartbeats): an outbox row stays open until its actor
finished (claimed by a worker, sent again after its visibility timeout); the heartbeats of
the task workers; Idempotency-Key claims for use cases that do not store answers themselves

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _when():
    return engine.models.base.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("redeliver_after", _when(), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("claimed_at", _when(), nullable=True))
        batch.add_column(sa.Column("done_at", _when(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=10), nullable=True))
    # rows sent before this migration counted as done once the broker took them
    op.execute("UPDATE outbox SET done_at = sent_at, outcome = 'done' WHERE sent_at IS NOT NULL")
    op.create_index("ix_outbox_open_jobs", "outbox", ["done_at", "redeliver_after"])
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claimed_at", _when(), nullable=True))
        batch.add_column(sa.Column("applied_at", _when(), nullable=True))
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hostname", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("parent_pid", sa.Integer(), nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("beat_at", _when(), nullable=False),
        sa.Column("stopped_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeats")),
    )
    op.create_index("ix_worker_heartbeats_kind_beat", "worker_heartbeats", ["kind", "beat_at"])


def downgrade():
    op.drop_index("ix_worker_heartbeats_kind_beat", table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("applied_at")
        batch.drop_column("claimed_at")
        batch.drop_column("claim_token")
    op.drop_index("ix_outbox_open_jobs", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("outcome")
        batch.drop_column("done_at")
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
        batch.drop_column("redeliver_after")
