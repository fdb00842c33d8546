"""issue 16, item 6: the supervisor's dashboard counts the team's cases by status, risk level
and caseworker (every case a supervisor oversees: supervised by them or carried by their
team). An index holding those four columns lets PostgreSQL count them from the index alone
(an index-only scan, the visibility map kept by autovacuum) instead of reading every row of
``cases``: at 100,000 cases about half the time.

Revision ID: 0019
Revises: 0018
"""
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_team_counts", "cases", ["supervisor_id", "caseworker_id", "status", "risk_level"])


def downgrade() -> None:
    op.drop_index("ix_cases_team_counts", table_name="cases")
