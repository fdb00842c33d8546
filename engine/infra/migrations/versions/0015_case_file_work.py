"""issue 13 (likely duplicate referrals, notes on the case file)

Revision ID: 0015
Revises: 0014
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
