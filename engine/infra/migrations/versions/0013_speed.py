"""issue 16 (indexes and columns for speed)

A case's open task rows are found by (case code, state): after every step of one of its
instances (the rows follow the case's risk level) and on the case pages. The index on the case
code alone made that read every row the case ever had (hundreds after a long case), so a step
grew slower with the case's age.

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_human_tasks_case_state", "human_tasks", ["case_code", "state"])


def downgrade():
    op.drop_index("ix_human_tasks_case_state", table_name="human_tasks")
