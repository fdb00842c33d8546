"""issue 12 (complaints, handover, supervision, conferences on open cases)

Revision ID: 0008
Revises: 0007
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
