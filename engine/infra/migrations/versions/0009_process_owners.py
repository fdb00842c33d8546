"""issue 14 (start version, failed instances, view-only models): which version of a process
new instances start on, versions that are drawn but cannot run here (and why), and the
element and step an instance failed at

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("process_models") as batch:
        batch.add_column(sa.Column("runnable", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("view_only_reasons", sa.Text(), nullable=True))
        batch.add_column(sa.Column("starts_new_instances", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("failed_element", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("failed_step", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("failed_step")
        batch.drop_column("failed_element")
    with op.batch_alter_table("process_models") as batch:
        batch.drop_column("starts_new_instances")
        batch.drop_column("view_only_reasons")
        batch.drop_column("runnable")
