"""partial index for the claimable inbox

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OFFERED = sa.text("state = 'ready' AND assignee_id IS NULL")


def upgrade():
    op.create_index("ix_human_tasks_offered", "human_tasks", ["role", "due_at"],
                    postgresql_where=_OFFERED, sqlite_where=_OFFERED)


def downgrade():
    op.drop_index("ix_human_tasks_offered", table_name="human_tasks")
