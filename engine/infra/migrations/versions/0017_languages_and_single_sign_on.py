"""issue 15 (running it for real): each user's language, and the link of an account to its
identity at an OpenID Connect provider (single sign-on)

``users.locale`` is the language the user chose for pages, messages, e-mails, forms and task
titles (empty: the browser's preferred language among those offered). ``users.sso_issuer`` and
``users.sso_subject`` name the provider's account (its ``iss`` and ``sub`` claims) an account
signs in with; one provider account links to at most one user.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(16), nullable=True))
        batch.add_column(sa.Column("sso_issuer", sa.String(500), nullable=True))
        batch.add_column(sa.Column("sso_subject", sa.String(255), nullable=True))
        batch.create_unique_constraint("uq_users_sso_identity", ["sso_issuer", "sso_subject"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_sso_identity", type_="unique")
        batch.drop_column("sso_subject")
        batch.drop_column("sso_issuer")
        batch.drop_column("locale")
