"""issue 18 (jobs until done, worker heartbeats)

Revision ID: 0011
Revises: 0010
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
