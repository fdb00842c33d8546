"""issue 16 (indexes and columns for speed)

Revision ID: 0013
Revises: 0012
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
