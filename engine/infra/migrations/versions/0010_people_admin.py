"""issue 15 (teams, people administration)

Revision ID: 0010
Revises: 0009
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
