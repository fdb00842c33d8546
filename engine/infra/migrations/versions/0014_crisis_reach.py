"""issue 17 (the crisis reaches every case and person): drills, the scope changes and staff
instructions of a disruption, the time each case was reached, staff unavailable during it
and the tasks that went to their backups, contacts with clients; the client's e-mail,
phone and consent to be contacted

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _when():
    return engine.models.base.UTCDateTime(timezone=True)


def _fk(column: str, table: str, referred: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"),
                                   ondelete=ondelete)


def upgrade():
    with op.batch_alter_table("crises") as batch:
        batch.add_column(sa.Column("drill", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("staff_instructions", sa.Text(), nullable=True))
        batch.add_column(sa.Column("scope_version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("lessons_learned", sa.Text(), nullable=True))
    with op.batch_alter_table("crisis_case_checks") as batch:
        batch.add_column(sa.Column("reached_at", _when(), nullable=True))
    op.create_index("ix_crisis_case_checks_instance_id", "crisis_case_checks", ["instance_id"])
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("consent_to_contact", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "crisis_staff_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=True),
        sa.Column("marked_at", _when(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("flag_set", sa.Boolean(), nullable=False),
        sa.Column("restored_at", _when(), nullable=True),
        _fk("crisis_id", "crisis_staff_absences", "crises", "CASCADE"),
        _fk("user_id", "crisis_staff_absences", "users"),
        _fk("marked_by", "crisis_staff_absences", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_staff_absences")),
        sa.UniqueConstraint("crisis_id", "user_id", name=op.f("uq_crisis_staff_absences_crisis_id")),
    )
    op.create_table(
        "crisis_task_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("case_code", sa.String(length=40), nullable=True),
        sa.Column("work", sa.String(length=20), nullable=False),
        sa.Column("from_user_id", sa.Integer(), nullable=False),
        sa.Column("to_user_id", sa.Integer(), nullable=True),
        sa.Column("moved_at", _when(), nullable=False),
        sa.Column("returned_at", _when(), nullable=True),
        _fk("crisis_id", "crisis_task_moves", "crises", "CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], name=op.f("fk_crisis_task_moves_task_id_human_tasks"),
                                ondelete="CASCADE"),
        _fk("from_user_id", "crisis_task_moves", "users"),
        _fk("to_user_id", "crisis_task_moves", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_task_moves")),
    )
    op.create_index("ix_crisis_task_moves_crisis_from", "crisis_task_moves", ["crisis_id", "from_user_id"])
    op.create_table(
        "crisis_client_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_code", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempted_at", _when(), nullable=False),
        sa.Column("attempted_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", _when(), nullable=True),
        sa.Column("done_at", _when(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        _fk("crisis_id", "crisis_client_contacts", "crises", "CASCADE"),
        _fk("case_id", "crisis_client_contacts", "cases", "CASCADE"),
        _fk("attempted_by", "crisis_client_contacts", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_client_contacts")),
    )
    op.create_index("ix_crisis_client_contacts_crisis_case", "crisis_client_contacts", ["crisis_id", "case_id"])
    op.create_index("ix_crisis_client_contacts_crisis_state", "crisis_client_contacts", ["crisis_id", "state"])


def downgrade():
    op.drop_index("ix_crisis_client_contacts_crisis_state", table_name="crisis_client_contacts")
    op.drop_index("ix_crisis_client_contacts_crisis_case", table_name="crisis_client_contacts")
    op.drop_table("crisis_client_contacts")
    op.drop_index("ix_crisis_task_moves_crisis_from", table_name="crisis_task_moves")
    op.drop_table("crisis_task_moves")
    op.drop_table("crisis_staff_absences")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("consent_to_contact")
        batch.drop_column("phone")
        batch.drop_column("email")
    op.drop_index("ix_crisis_case_checks_instance_id", table_name="crisis_case_checks")
    with op.batch_alter_table("crisis_case_checks") as batch:
        batch.drop_column("reached_at")
    with op.batch_alter_table("crises") as batch:
        batch.drop_column("lessons_learned")
        batch.drop_column("scope_version")
        batch.drop_column("staff_instructions")
        batch.drop_column("drill")
