"""issue 16, item 6 (the pages people open all day, at 100,000 cases)

The case list reads a page newest first (``updated_at``) instead of sorting every case it may
show; the supervisor's "hand a case over" list by caseworker and code, and "reviews due" by
the review date, likewise straight off an index. Who may see a case (its open tasks held by
them, or offered to their roles) is read from the case codes of the ready tasks alone: two
partial indexes hold them (the held one by role too: the committee counts what it holds), so
that set is read without visiting the task rows.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

READY = "state = 'ready'"
OFFERED = "state = 'ready' AND assignee_id IS NULL"


def upgrade() -> None:
    op.create_index("ix_cases_updated", "cases", ["updated_at", "id"])
    op.create_index("ix_cases_caseworker_code", "cases", ["caseworker_id", "code"])
    op.create_index("ix_cases_next_review", "cases", ["date_next_review"])
    op.create_index("ix_human_tasks_ready_held", "human_tasks", ["assignee_id", "role", "case_code"],
                    postgresql_where=sa.text(READY), sqlite_where=sa.text(READY))
    op.create_index("ix_human_tasks_offered_case", "human_tasks", ["role", "case_code"],
                    postgresql_where=sa.text(OFFERED), sqlite_where=sa.text(OFFERED))


def downgrade() -> None:
    op.drop_index("ix_human_tasks_offered_case", table_name="human_tasks")
    op.drop_index("ix_human_tasks_ready_held", table_name="human_tasks")
    op.drop_index("ix_cases_next_review", table_name="cases")
    op.drop_index("ix_cases_caseworker_code", table_name="cases")
    op.drop_index("ix_cases_updated", table_name="cases")
