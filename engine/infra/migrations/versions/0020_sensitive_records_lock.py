"""R50: the kinds of sensitive record the crisis team locked on an evacuation or a breach are
locked by the system too, until a director lifts the lock (``sensitive_record_locks``).

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sensitive_record_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("held_kind", sa.String(length=40), nullable=True),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("locked_at", engine.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.Integer(), nullable=True),
        sa.Column("unlocked_at", engine.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unlocked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["crisis_id"], ["crises.id"], name=op.f("fk_sensitive_record_locks_crisis_id_crises"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["locked_by"], ["users.id"], name=op.f("fk_sensitive_record_locks_locked_by_users")),
        sa.ForeignKeyConstraint(["unlocked_by"], ["users.id"],
                                name=op.f("fk_sensitive_record_locks_unlocked_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensitive_record_locks")),
        sa.UniqueConstraint("held_kind", name=op.f("uq_sensitive_record_locks_held_kind")),
    )
    op.create_index(op.f("ix_sensitive_record_locks_crisis_id"), "sensitive_record_locks", ["crisis_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sensitive_record_locks_crisis_id"), table_name="sensitive_record_locks")
    op.drop_table("sensitive_record_locks")
