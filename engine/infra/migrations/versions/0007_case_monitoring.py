"""issue 12 (monitoring from the rating, aged-out, consent and closure rules)

Revision ID: 0007
Revises: 0006
"""
from alembic import op  # noqa: F401 - used once the migration has content

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
