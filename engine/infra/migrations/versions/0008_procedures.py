"""issue 12 (complaints, handover, supervision, conferences on open cases): the complaint,
handover and supervision tables

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, engine.models.base.UTCDateTime(timezone=True), nullable=nullable)


def _user(name: str, table: str, nullable: bool = True, ondelete: str | None = None) -> list:
    return [sa.Column(name, sa.Integer(), nullable=nullable),
            sa.ForeignKeyConstraint([name], ["users.id"], name=op.f(f"fk_{table}_{name}_users"), ondelete=ondelete)]


def upgrade():
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complainant_kind", sa.String(length=20), nullable=False),
        sa.Column("complainant_name", sa.String(length=200), nullable=False),
        sa.Column("complainant_contact", sa.String(length=200), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        *_user("case_caseworker_id", "complaints"),
        *_user("staff_member_id", "complaints"),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        *_user("recorded_by", "complaints", nullable=False),
        _at("received_at", nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        *_user("investigator_id", "complaints"),
        *_user("director_id", "complaints"),
        _at("answer_due_at"),
        _at("acknowledged_at"),
        *_user("acknowledged_by", "complaints"),
        sa.Column("acknowledgement", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        _at("answered_at"),
        *_user("answered_by", "complaints"),
        _at("escalated_at"),
        sa.Column("escalation_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_complaints_case_id_cases"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_complaints_instance_id_process_instances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index("ix_complaints_status_received", "complaints", ["status", "received_at"])
    op.create_index(op.f("ix_complaints_investigator_id"), "complaints", ["investigator_id"])

    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        *_user("from_caseworker_id", "handovers", nullable=False),
        *_user("to_caseworker_id", "handovers", nullable=False),
        *_user("requested_by", "handovers", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        _at("created_at", nullable=False),
        _at("shadow_until"),
        sa.Column("document", sa.Text(), nullable=False),
        _at("document_at"),
        _at("team_briefed_at"),
        sa.Column("team_briefing", sa.Text(), nullable=False),
        _at("completed_at"),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_handovers_instance_id_process_instances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    )
    op.create_index("ix_handovers_from_status", "handovers", ["from_caseworker_id", "status"])
    op.create_table(
        "handover_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        _at("file_reviewed_at"),
        *_user("file_reviewed_by", "handover_cases"),
        sa.Column("file_findings", sa.Text(), nullable=False),
        _at("moved_at"),
        _at("client_briefed_at"),
        sa.ForeignKeyConstraint(["handover_id"], ["handovers.id"], name=op.f("fk_handover_cases_handover_id_handovers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_handover_cases_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_handover_cases_instance_id_process_instances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_cases")),
        sa.UniqueConstraint("handover_id", "case_id", name=op.f("uq_handover_cases_handover_id")),
    )
    op.create_index(op.f("ix_handover_cases_case_id"), "handover_cases", ["case_id"])

    op.create_table(
        "supervision_duties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("duty", sa.String(length=40), nullable=False),
        *_user("supervisor_id", "supervision_duties", nullable=False, ondelete="CASCADE"),
        *_user("caseworker_id", "supervision_duties", ondelete="CASCADE"),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("cadence_json", sa.Text(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        _at("next_due_at"),
        _at("last_done_at"),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_supervision_duties_instance_id_process_instances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_duties")),
        sa.UniqueConstraint("key", name=op.f("uq_supervision_duties_key")),
    )
    op.create_index(op.f("ix_supervision_duties_supervisor_id"), "supervision_duties", ["supervisor_id"])
    op.create_table(
        "supervision_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=40), nullable=False),
        *_user("supervisor_id", "supervision_records", nullable=False),
        *_user("caseworker_id", "supervision_records"),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        _at("opened_at", nullable=False),
        _at("due_at"),
        _at("done_at"),
        *_user("done_by", "supervision_records"),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("sample_seed", sa.String(length=120), nullable=False),
        sa.Column("sampled_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_supervision_records_instance_id_process_instances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_records")),
    )
    op.create_index("ix_supervision_records_duty_period", "supervision_records", ["duty", "supervisor_id", "period"])
    op.create_index(op.f("ix_supervision_records_instance_id"), "supervision_records", ["instance_id"])
    op.create_table(
        "file_audit_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("forms_complete", sa.Boolean(), nullable=True),
        sa.Column("services_as_documented", sa.Boolean(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=False),
        _at("done_at"),
        *_user("done_by", "file_audit_findings"),
        sa.ForeignKeyConstraint(["record_id"], ["supervision_records.id"],
                                name=op.f("fk_file_audit_findings_record_id_supervision_records"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_file_audit_findings_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_file_audit_findings_instance_id_process_instances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_audit_findings")),
    )
    op.create_index(op.f("ix_file_audit_findings_record_id"), "file_audit_findings", ["record_id"])
    op.create_index(op.f("ix_file_audit_findings_instance_id"), "file_audit_findings", ["instance_id"])


def downgrade():
    op.drop_table("file_audit_findings")
    op.drop_table("supervision_records")
    op.drop_table("supervision_duties")
    op.drop_table("handover_cases")
    op.drop_table("handovers")
    op.drop_table("complaints")
