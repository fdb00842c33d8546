"""issue 15 (teams, people administration): a teams table and each user's team

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", engine.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its foreign key in place (a batch rebuild of ``users`` would
        # drop the table, and with foreign keys on that deletes every row referring to it). Such a
        # column-level key reflects without its name or ON DELETE action, so the model has none.
        op.execute("ALTER TABLE users ADD COLUMN team_id INTEGER REFERENCES teams (id)")
    else:
        op.add_column("users", sa.Column("team_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_users_team_id_teams"), "users", "teams", ["team_id"], ["id"])
    op.create_index(op.f("ix_users_team_id"), "users", ["team_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_users_team_id"), table_name="users")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users DROP COLUMN team_id")  # in place, for the reason given above
    else:
        op.drop_constraint(op.f("fk_users_team_id_teams"), "users", type_="foreignkey")
        op.drop_column("users", "team_id")
    op.drop_table("teams")
