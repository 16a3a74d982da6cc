"""procurement: supplier bills received and their lines

Revision ID: procurement_0003
Revises: procurement_0002
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import core.types


revision = 'procurement_0003'
down_revision = 'procurement_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('procurement_supplier_bill',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_untaxed', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('total_tax', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('total', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('differences', sa.Text(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('payment_run', sa.String(length=35), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("state IN ('approved', 'held', 'disputed', 'paying', 'paid')", name=op.f('ck_procurement_supplier_bill_state')),
    sa.ForeignKeyConstraint(['supplier_id'], ['core_partner.id'], name=op.f('fk_procurement_supplier_bill_supplier_id_core_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_supplier_bill')),
    sa.UniqueConstraint('supplier_id', 'number', name='uq_procurement_supplier_bill_number')
    )
    op.create_index(op.f('ix_procurement_supplier_bill_payment_run'), 'procurement_supplier_bill', ['payment_run'], unique=False)
    op.create_index(op.f('ix_procurement_supplier_bill_state'), 'procurement_supplier_bill', ['state'], unique=False)
    op.create_index(op.f('ix_procurement_supplier_bill_supplier_id'), 'procurement_supplier_bill', ['supplier_id'], unique=False)
    op.create_table('procurement_supplier_bill_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('unit_price', core.types.ScaledDecimal(4), nullable=False),
    sa.Column('vat_rate', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('subtotal', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('purchase_order_line_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['bill_id'], ['procurement_supplier_bill.id'], name=op.f('fk_procurement_supplier_bill_line_bill_id_procurement_supplier_bill'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['purchase_order_line_id'], ['procurement_purchase_order_line.id'], name=op.f('fk_procurement_supplier_bill_line_purchase_order_line_id_procurement_purchase_order_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_supplier_bill_line'))
    )
    op.create_index(op.f('ix_procurement_supplier_bill_line_bill_id'), 'procurement_supplier_bill_line', ['bill_id'], unique=False)
    op.create_index(op.f('ix_procurement_supplier_bill_line_purchase_order_line_id'), 'procurement_supplier_bill_line', ['purchase_order_line_id'], unique=False)


def downgrade() -> None:
    op.drop_table('procurement_supplier_bill_line')
    op.drop_table('procurement_supplier_bill')
