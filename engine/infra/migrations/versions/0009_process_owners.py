"""issue 14 (start version, failed instances, view-only models)

Revision ID: 0009
Revises: 0008
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
