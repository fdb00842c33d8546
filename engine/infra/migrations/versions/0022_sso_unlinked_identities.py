"""An administrator can unlink an account from its identity at the single sign-on provider;
``sso_unlinked_identities`` remembers each identity unlinked from an account, so that it is
never linked to that account again by its e-mail address.

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_unlinked_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sso_issuer", sa.String(length=500), nullable=False),
        sa.Column("sso_subject", sa.String(length=255), nullable=False),
        sa.Column("unlinked_at", engine.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unlinked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sso_unlinked_identities_user_id_users")),
        sa.ForeignKeyConstraint(["unlinked_by"], ["users.id"],
                                name=op.f("fk_sso_unlinked_identities_unlinked_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_unlinked_identities")),
        sa.UniqueConstraint("user_id", "sso_issuer", "sso_subject", name="uq_sso_unlinked_identities"),
    )


def downgrade() -> None:
    op.drop_table("sso_unlinked_identities")
