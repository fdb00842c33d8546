"""crisis tables: declarations, per-case checks, follow-ups found, disruption log,
per-case crisis notes, readiness schedule

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('affected_functions', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('active_slot', sa.Integer(), nullable=True),
    sa.Column('declared_by', sa.Integer(), nullable=False),
    sa.Column('declared_at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resumption_due_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resumption_confirmed_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resumption_confirmed_by', sa.Integer(), nullable=True),
    sa.Column('escalated_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('communication_lead_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('impact_parameters', sa.Text(), nullable=False),
    sa.Column('affected_cases', sa.Integer(), nullable=True),
    sa.Column('checks_planned_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['communication_lead_id'], ['users.id'], name=op.f('fk_crises_communication_lead_id_users')),
    sa.ForeignKeyConstraint(['declared_by'], ['users.id'], name=op.f('fk_crises_declared_by_users')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_crises_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['resumption_confirmed_by'], ['users.id'], name=op.f('fk_crises_resumption_confirmed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crises')),
    sa.UniqueConstraint('active_slot', name=op.f('uq_crises_active_slot'))
    )

    op.create_table('readiness_activities',
    sa.Column('activity', sa.String(length=60), nullable=False),
    sa.Column('every_days', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('next_due_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_completed_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_completed_by', sa.Integer(), nullable=True),
    sa.Column('last_outcome', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_readiness_activities_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['last_completed_by'], ['users.id'], name=op.f('fk_readiness_activities_last_completed_by_users')),
    sa.PrimaryKeyConstraint('activity', name=op.f('pk_readiness_activities'))
    )

    op.create_table('crisis_case_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=40), nullable=False),
    sa.Column('risk_level', sa.String(length=10), nullable=True),
    sa.Column('in_crisis', sa.Boolean(), nullable=False),
    sa.Column('pending_review', sa.Boolean(), nullable=False),
    sa.Column('check_order', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('check_within_hours', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('backup', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('planned_at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_by', sa.Integer(), nullable=True),
    sa.Column('client_reached', sa.Boolean(), nullable=True),
    sa.Column('client_safe', sa.Boolean(), nullable=True),
    sa.Column('reassessment_needed', sa.Boolean(), nullable=True),
    sa.Column('reassessed_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_crisis_case_checks_assignee_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_crisis_case_checks_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_crisis_case_checks_checked_by_users')),
    sa.ForeignKeyConstraint(['crisis_id'], ['crises.id'], name=op.f('fk_crisis_case_checks_crisis_id_crises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_crisis_case_checks_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crisis_case_checks')),
    sa.UniqueConstraint('crisis_id', 'case_id', name=op.f('uq_crisis_case_checks_crisis_id'))
    )
    with op.batch_alter_table('crisis_case_checks', schema=None) as batch_op:
        batch_op.create_index('ix_crisis_case_checks_crisis_state', ['crisis_id', 'state'], unique=False)

    op.create_table('crisis_case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=40), nullable=False),
    sa.Column('at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('alternative_methods', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_crisis_case_notes_author_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_crisis_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['crisis_id'], ['crises.id'], name=op.f('fk_crisis_case_notes_crisis_id_crises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crisis_case_notes'))
    )
    with op.batch_alter_table('crisis_case_notes', schema=None) as batch_op:
        batch_op.create_index('ix_crisis_case_notes_crisis_case', ['crisis_id', 'case_id'], unique=False)

    op.create_table('crisis_follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('case_code', sa.String(length=40), nullable=False),
    sa.Column('original_due_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('found_at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('rescheduled_due_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rescheduled_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['crisis_id'], ['crises.id'], name=op.f('fk_crisis_follow_ups_crisis_id_crises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_crisis_follow_ups_from_user_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], name=op.f('fk_crisis_follow_ups_task_id_human_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_crisis_follow_ups_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crisis_follow_ups')),
    sa.UniqueConstraint('crisis_id', 'task_id', name=op.f('uq_crisis_follow_ups_crisis_id'))
    )
    with op.batch_alter_table('crisis_follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crisis_follow_ups_crisis_id'), ['crisis_id'], unique=False)

    op.create_table('disruption_log_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_id', sa.Integer(), nullable=False),
    sa.Column('at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_disruption_log_entries_author_id_users')),
    sa.ForeignKeyConstraint(['crisis_id'], ['crises.id'], name=op.f('fk_disruption_log_entries_crisis_id_crises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disruption_log_entries'))
    )
    with op.batch_alter_table('disruption_log_entries', schema=None) as batch_op:
        batch_op.create_index('ix_disruption_log_entries_crisis_at', ['crisis_id', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('disruption_log_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_disruption_log_entries_crisis_at')
    op.drop_table('disruption_log_entries')

    with op.batch_alter_table('crisis_follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crisis_follow_ups_crisis_id'))
    op.drop_table('crisis_follow_ups')

    with op.batch_alter_table('crisis_case_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_crisis_case_notes_crisis_case')
    op.drop_table('crisis_case_notes')

    with op.batch_alter_table('crisis_case_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_crisis_case_checks_crisis_state')
    op.drop_table('crisis_case_checks')
    op.drop_table('readiness_activities')
    op.drop_table('crises')

