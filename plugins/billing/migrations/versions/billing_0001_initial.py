"""billing: payment terms, invoices, payments, reminders

Revision ID: billing_0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa
import core.types


revision = 'billing_0001'
down_revision = None
branch_labels = ('billing',)
depends_on = 'core'


def upgrade() -> None:
    op.create_table('billing_payment_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('discount_percent', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('discount_days', sa.Integer(), nullable=False),
    sa.Column('beyond_legal_maximum', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payment_term')),
    sa.UniqueConstraint('code', name=op.f('uq_billing_payment_term_code'))
    )
    op.create_table('billing_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('rate', core.types.ScaledDecimal(2), nullable=False),
    sa.CheckConstraint("kind IN ('ecb_refinancing', 'legal')", name=op.f('ck_billing_rate_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_rate')),
    sa.UniqueConstraint('kind', 'valid_from', name=op.f('uq_billing_rate_kind_valid_from'))
    )
    op.create_table('billing_reminder_level',
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('delay_days', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipients', sa.String(length=100), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('interest', sa.Boolean(), nullable=False),
    sa.Column('indemnity', sa.Boolean(), nullable=False),
    sa.Column('handover', sa.Boolean(), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'letter')", name=op.f('ck_billing_reminder_level_channel')),
    sa.CheckConstraint('delay_days >= 0', name=op.f('ck_billing_reminder_level_delay_positive')),
    sa.PrimaryKeyConstraint('level', name=op.f('pk_billing_reminder_level'))
    )
    op.create_table('billing_reminder_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_reminder_run'))
    )
    with op.batch_alter_table('billing_reminder_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_reminder_run_run_date'), ['run_date'], unique=False)

    op.create_table('billing_sequence',
    sa.Column('series', sa.String(length=20), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.Column('last_date', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('series', name=op.f('pk_billing_sequence'))
    )
    op.create_table('billing_payment_term_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('percent', core.types.ScaledDecimal(2), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.CheckConstraint("method IN ('immediate', 'days', 'days_end_of_month', 'end_of_month_days')", name=op.f('ck_billing_payment_term_line_method')),
    sa.CheckConstraint('days >= 0', name=op.f('ck_billing_payment_term_line_days_positive')),
    sa.ForeignKeyConstraint(['term_id'], ['billing_payment_term.id'], name=op.f('fk_billing_payment_term_line_term_id_billing_payment_term'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payment_term_line')),
    sa.UniqueConstraint('term_id', 'sequence', name=op.f('uq_billing_payment_term_line_term_id_sequence'))
    )
    with op.batch_alter_table('billing_payment_term_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_payment_term_line_term_id'), ['term_id'], unique=False)

    op.create_table('billing_collection_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_collection_task_partner_id_core_partner')),
    sa.ForeignKeyConstraint(['run_id'], ['billing_reminder_run.id'], name=op.f('fk_billing_collection_task_run_id_billing_reminder_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_collection_task')),
    sa.UniqueConstraint('partner_id', 'run_id', name=op.f('uq_billing_collection_task_partner_id_run_id'))
    )
    with op.batch_alter_table('billing_collection_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_collection_task_partner_id'), ['partner_id'], unique=False)

    op.create_table('billing_partner_term',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_partner_term_partner_id_core_partner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['term_id'], ['billing_payment_term.id'], name=op.f('fk_billing_partner_term_term_id_billing_payment_term')),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_billing_partner_term'))
    )
    with op.batch_alter_table('billing_partner_term', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_partner_term_term_id'), ['term_id'], unique=False)

    op.create_table('billing_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=True),
    sa.Column('unallocated', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_payment_amount_positive')),
    sa.CheckConstraint('unallocated >= 0', name=op.f('ck_billing_payment_unallocated_positive')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_payment_partner_id_core_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payment'))
    )
    with op.batch_alter_table('billing_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_payment_partner_id'), ['partner_id'], unique=False)

    op.create_table('billing_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('origin_id', sa.Integer(), nullable=True),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('term_id', sa.Integer(), nullable=True),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('final_due_date', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_untaxed', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('total_tax', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('total', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('settled', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('residual', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('hold', sa.String(length=10), nullable=True),
    sa.Column('hold_reason', sa.Text(), nullable=True),
    sa.Column('seller_name', sa.String(length=200), nullable=True),
    sa.Column('seller_siren', sa.String(length=9), nullable=True),
    sa.Column('seller_vat_number', sa.String(length=20), nullable=True),
    sa.Column('seller_address', sa.Text(), nullable=True),
    sa.Column('buyer_name', sa.String(length=200), nullable=True),
    sa.Column('buyer_siren', sa.String(length=9), nullable=True),
    sa.Column('buyer_vat_number', sa.String(length=20), nullable=True),
    sa.Column('buyer_address', sa.Text(), nullable=True),
    sa.Column('buyer_is_business', sa.Boolean(), nullable=False),
    sa.Column('operation_category', sa.String(length=10), nullable=False),
    sa.Column('penalty_rate', core.types.ScaledDecimal(2), nullable=True),
    sa.Column('recovery_indemnity', core.types.ScaledDecimal(2), nullable=True),
    sa.Column('early_discount', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("hold IS NULL OR hold IN ('disputed', 'blocked')", name=op.f('ck_billing_invoice_hold')),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name=op.f('ck_billing_invoice_kind')),
    sa.CheckConstraint("state IN ('draft', 'posted', 'partially_paid', 'paid', 'credited')", name=op.f('ck_billing_invoice_state')),
    sa.ForeignKeyConstraint(['order_id'], ['core_sales_order.id'], name=op.f('fk_billing_invoice_order_id_core_sales_order')),
    sa.ForeignKeyConstraint(['origin_id'], ['billing_invoice.id'], name=op.f('fk_billing_invoice_origin_id_billing_invoice')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_invoice_partner_id_core_partner')),
    sa.ForeignKeyConstraint(['salesperson_id'], ['core_user.id'], name=op.f('fk_billing_invoice_salesperson_id_core_user')),
    sa.ForeignKeyConstraint(['term_id'], ['billing_payment_term.id'], name=op.f('fk_billing_invoice_term_id_billing_payment_term')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoice')),
    sa.UniqueConstraint('number', name=op.f('uq_billing_invoice_number'))
    )
    with op.batch_alter_table('billing_invoice', schema=None) as batch_op:
        batch_op.create_index('ix_billing_invoice_open_due', ['due_date'], unique=False, sqlite_where=sa.text("state IN ('posted', 'partially_paid')"), postgresql_where=sa.text("state IN ('posted', 'partially_paid')"))
        batch_op.create_index(batch_op.f('ix_billing_invoice_origin_id'), ['origin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_invoice_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index('uq_billing_invoice_order', ['order_id'], unique=True, sqlite_where=sa.text("kind = 'invoice'"), postgresql_where=sa.text("kind = 'invoice'"))

    op.create_table('billing_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('allocated_on', sa.Date(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_allocation_amount_positive')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['billing_invoice.id'], name=op.f('fk_billing_allocation_credit_note_id_billing_invoice')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_allocation_invoice_id_billing_invoice')),
    sa.ForeignKeyConstraint(['payment_id'], ['billing_payment.id'], name=op.f('fk_billing_allocation_payment_id_billing_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_allocation'))
    )
    with op.batch_alter_table('billing_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_allocation_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_allocation_payment_id'), ['payment_id'], unique=False)

    op.create_table('billing_invoice_due',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_invoice_due_invoice_id_billing_invoice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoice_due')),
    sa.UniqueConstraint('invoice_id', 'sequence', name=op.f('uq_billing_invoice_due_invoice_id_sequence'))
    )
    with op.batch_alter_table('billing_invoice_due', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_invoice_due_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('quantity', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('unit_price', core.types.ScaledDecimal(4), nullable=False),
    sa.Column('discount', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('vat_rate', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('subtotal', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('origin_line_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_billing_invoice_line_quantity_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_invoice_line_invoice_id_billing_invoice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['origin_line_id'], ['billing_invoice_line.id'], name=op.f('fk_billing_invoice_line_origin_line_id_billing_invoice_line')),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_billing_invoice_line_product_id_core_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoice_line')),
    sa.UniqueConstraint('invoice_id', 'sequence', name=op.f('uq_billing_invoice_line_invoice_id_sequence'))
    )
    with op.batch_alter_table('billing_invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('amount_open', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('interest', core.types.ScaledDecimal(2), nullable=True),
    sa.Column('indemnity', core.types.ScaledDecimal(2), nullable=True),
    sa.CheckConstraint("status IN ('sent', 'skipped')", name=op.f('ck_billing_reminder_status')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_reminder_invoice_id_billing_invoice')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_reminder_partner_id_core_partner')),
    sa.ForeignKeyConstraint(['run_id'], ['billing_reminder_run.id'], name=op.f('fk_billing_reminder_run_id_billing_reminder_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_reminder')),
    sa.UniqueConstraint('invoice_id', 'level', name=op.f('uq_billing_reminder_invoice_id_level'))
    )
    with op.batch_alter_table('billing_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_reminder_run_id'), ['run_id'], unique=False)

    op.create_table('billing_reminder_case',
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('last_reminded_on', sa.Date(), nullable=False),
    sa.Column('handed_over_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_reason', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_reminder_case_invoice_id_billing_invoice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_reminder_case_partner_id_core_partner')),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_billing_reminder_case'))
    )
    with op.batch_alter_table('billing_reminder_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_reminder_case_partner_id'), ['partner_id'], unique=False)


def downgrade() -> None:
    op.drop_table('billing_reminder_case')
    op.drop_table('billing_reminder')
    op.drop_table('billing_invoice_line')
    op.drop_table('billing_invoice_due')
    op.drop_table('billing_allocation')
    op.drop_table('billing_invoice')
    op.drop_table('billing_payment')
    op.drop_table('billing_partner_term')
    op.drop_table('billing_collection_task')
    op.drop_table('billing_payment_term_line')
    op.drop_table('billing_sequence')
    op.drop_table('billing_reminder_run')
    op.drop_table('billing_reminder_level')
    op.drop_table('billing_rate')
    op.drop_table('billing_payment_term')
