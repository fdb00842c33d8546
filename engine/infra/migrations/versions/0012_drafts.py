"""issue 14 (process owners' drafts): each process owner's edits of diagrams, decision
tables, forms and path tests, kept until deployed or discarded

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "process_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("updated_at", engine.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("base_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_process_drafts_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_drafts")),
        sa.UniqueConstraint("owner_id", "filename", name=op.f("uq_process_drafts_owner_id")),
    )
    op.create_index(op.f("ix_process_drafts_owner_id"), "process_drafts", ["owner_id"])


def downgrade():
    op.drop_index(op.f("ix_process_drafts_owner_id"), table_name="process_drafts")
    op.drop_table("process_drafts")
