"""issue 14 (process owners' drafts)

Revision ID: 0012
Revises: 0011
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
