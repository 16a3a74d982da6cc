"""jobs and notification outbox

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = 'core_0002'
down_revision = 'core_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('core_job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=100), nullable=False),
    sa.Column('slot', sa.String(length=20), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('counts', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_job_run'))
    )
    with op.batch_alter_table('core_job_run', schema=None) as batch_op:
        batch_op.create_index('ix_core_job_run_job', ['job', 'as_of'], unique=False)
        batch_op.create_index('uq_core_job_run_completed', ['job', 'slot'], unique=True, sqlite_where=sa.text("outcome IN ('done', 'partial')"), postgresql_where=sa.text("outcome IN ('done', 'partial')"))

    op.create_table('core_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('attachments', sa.Text(), nullable=True),
    sa.Column('related', sa.String(length=100), nullable=True),
    sa.Column('dedup_key', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_notification')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_core_notification_dedup_key'))
    )
    with op.batch_alter_table('core_notification', schema=None) as batch_op:
        batch_op.create_index('ix_core_notification_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_notification_related'), ['related'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('core_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_notification_related'))
        batch_op.drop_index('ix_core_notification_due')

    op.drop_table('core_notification')
    with op.batch_alter_table('core_job_run', schema=None) as batch_op:
        batch_op.drop_index('uq_core_job_run_completed', sqlite_where=sa.text("outcome IN ('done', 'partial')"), postgresql_where=sa.text("outcome IN ('done', 'partial')"))
        batch_op.drop_index('ix_core_job_run_job')

    op.drop_table('core_job_run')

