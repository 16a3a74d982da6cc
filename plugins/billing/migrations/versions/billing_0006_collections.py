"""billing: collection cases worked to the end (assignee, promise to pay, history) and penalty invoices

The reminder case becomes the collection case: a state (``open``, ``promised``, ``closed``), an
assignee and the customer's promise to pay; ``billing_case_event`` keeps its history;
``billing_penalty`` records the periods of late interest invoiced, so a period is never invoiced
twice. Cases closed before this revision get the state ``closed``.

Revision ID: billing_0006
Revises: billing_0004
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import core.types


revision = 'billing_0006'
down_revision = 'billing_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a batch (SQLite copies the table) for the check constraint and the foreign key; nothing refers to it yet
    with op.batch_alter_table('billing_reminder_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=10), server_default='open', nullable=False))
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('promise_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('promise_amount', core.types.ScaledDecimal(2), nullable=True))
        batch_op.add_column(sa.Column('promise_residual', core.types.ScaledDecimal(2), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_billing_reminder_case_assignee_id_core_user'), 'core_user',
                                    ['assignee_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_billing_reminder_case_state'),
                                         "state IN ('open', 'promised', 'closed')")
    op.execute("UPDATE billing_reminder_case SET state = 'closed' WHERE closed_on IS NOT NULL")

    op.create_table('billing_case_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('promise_date', sa.Date(), nullable=True),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=True),
    sa.CheckConstraint("kind IN ('opened', 'assigned', 'note', 'promised', 'promise_kept', 'promise_broken', "
                       "'disputed', 'resumed', 'closed', 'reopened')", name=op.f('ck_billing_case_event_kind')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_reminder_case.invoice_id'],
                            name=op.f('fk_billing_case_event_invoice_id_billing_reminder_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_billing_case_event_user_id_core_user')),
    sa.ForeignKeyConstraint(['assignee_id'], ['core_user.id'],
                            name=op.f('fk_billing_case_event_assignee_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_case_event'))
    )
    with op.batch_alter_table('billing_case_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_case_event_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_penalty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('penalty_invoice_id', sa.Integer(), nullable=False),
    sa.Column('interest_from', sa.Date(), nullable=False),
    sa.Column('interest_to', sa.Date(), nullable=False),
    sa.Column('interest', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('indemnity', core.types.ScaledDecimal(2), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_penalty_invoice_id_billing_invoice')),
    sa.ForeignKeyConstraint(['penalty_invoice_id'], ['billing_invoice.id'],
                            name=op.f('fk_billing_penalty_penalty_invoice_id_billing_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_penalty')),
    sa.UniqueConstraint('invoice_id', 'interest_from', name=op.f('uq_billing_penalty_invoice_id_interest_from')),
    sa.UniqueConstraint('penalty_invoice_id', name=op.f('uq_billing_penalty_penalty_invoice_id'))
    )
    with op.batch_alter_table('billing_penalty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_penalty_invoice_id'), ['invoice_id'], unique=False)


def downgrade() -> None:
    op.drop_table('billing_penalty')
    op.drop_table('billing_case_event')
    with op.batch_alter_table('billing_reminder_case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_billing_reminder_case_state'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_billing_reminder_case_assignee_id_core_user'), type_='foreignkey')
        batch_op.drop_column('promise_residual')
        batch_op.drop_column('promise_amount')
        batch_op.drop_column('promise_date')
        batch_op.drop_column('assignee_id')
        batch_op.drop_column('state')
