"""issue 12 (monitoring from the rating, aged-out, consent and closure rules): the case's
monitoring dates since its current rating, the urgent flag of a missed first action or
follow-up, the legal mandate a supervisor records for a registration without consent

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DATES = ("date_monitoring_started", "date_first_action", "date_risks_mitigated", "urgent_since",
          "legal_mandate_at")


def upgrade():
    with op.batch_alter_table("cases") as batch:
        for name in _DATES:
            batch.add_column(sa.Column(name, engine.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("urgent_reason", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("legal_mandate_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_cases_legal_mandate_by_users"), "users", ["legal_mandate_by"], ["id"])
        batch.create_index("ix_cases_urgent_since", ["urgent_since"])


def downgrade():
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_urgent_since")
        batch.drop_constraint(op.f("fk_cases_legal_mandate_by_users"), type_="foreignkey")
        batch.drop_column("legal_mandate_by")
        batch.drop_column("urgent_reason")
        for name in reversed(_DATES):
            batch.drop_column(name)
