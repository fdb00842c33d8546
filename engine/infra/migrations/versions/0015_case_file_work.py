"""issue 13 (likely duplicate referrals, notes on the case file): the clients' names
normalised for finding likely duplicates (filled in for the clients already recorded), and
contacts that say whether they were direct or indirect and when they happened

Revision ID: 0015
Revises: 0014
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NAME_KEY_MAX = 300


def _name_key(name: str) -> str:
    """The rule of ``engine.case.intake.name_key`` as it was when this migration was
    written (a migration keeps the rule of its day): case-folded, accents dropped,
    whitespace removed."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace())
    return unicodedata.normalize("NFKC", bare)[:NAME_KEY_MAX]


def upgrade():
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("name_key", sa.String(length=NAME_KEY_MAX), nullable=True))
    op.create_index("ix_clients_name_key_birth", "clients", ["name_key", "date_of_birth"])
    with op.batch_alter_table("case_notes") as batch:
        batch.add_column(sa.Column("contact_type", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("contact_at", engine.models.base.UTCDateTime(timezone=True), nullable=True))
    clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("name", sa.String),
                       sa.column("name_key", sa.String))
    connection = op.get_bind()
    last = 0
    while True:  # in batches, so that a large table never sits in memory at once
        rows = connection.execute(sa.select(clients.c.id, clients.c.name).where(clients.c.id > last)
                                  .order_by(clients.c.id).limit(1000)).all()
        if not rows:
            break
        for client_id, name in rows:
            connection.execute(clients.update().where(clients.c.id == client_id)
                               .values(name_key=_name_key(name or "")))
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table("case_notes") as batch:
        batch.drop_column("contact_at")
        batch.drop_column("contact_type")
    op.drop_index("ix_clients_name_key_birth", table_name="clients")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("name_key")
