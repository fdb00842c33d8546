"""operations tables (incidents, notifications, task deadline notices)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

import engine.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_key', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('args_json', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('first_seen_at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retried_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retried_by', sa.Integer(), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('resolved_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_incidents_resolved_by_users')),
    sa.ForeignKeyConstraint(['retried_by'], ['users.id'], name=op.f('fk_incidents_retried_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('job_key', name=op.f('uq_incidents_job_key'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_state_last_seen', ['state', 'last_seen_at'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('case_code', sa.String(length=40), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mail_state', sa.String(length=10), nullable=False),
    sa.Column('mail_claimed_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mailed_at', engine.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mail_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('user_id', 'dedupe_key', name=op.f('uq_notifications_user_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_mail_state', ['mail_state', 'created_at'], unique=False)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at', 'created_at'], unique=False)

    op.create_table('task_deadline_notices',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sent_at', engine.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], name=op.f('fk_task_deadline_notices_task_id_human_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'kind', name=op.f('pk_task_deadline_notices'))
    )


def downgrade():
    op.drop_table('task_deadline_notices')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index('ix_notifications_mail_state')
    op.drop_table('notifications')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_state_last_seen')
    op.drop_table('incidents')
