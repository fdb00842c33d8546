"""issue 17 (client contact, drills)

Revision ID: 0014
Revises: 0013
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
