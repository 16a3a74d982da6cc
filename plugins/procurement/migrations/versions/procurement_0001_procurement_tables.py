"""procurement: stock ledger and levels, supplier prices, reorder rules, purchase orders

Revision ID: procurement_0001
Revises: 
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa
import core.types


revision = 'procurement_0001'
down_revision = None
branch_labels = ('procurement',)
depends_on = 'core'


def upgrade() -> None:
    op.create_table('procurement_stock_level',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('on_hand', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('reserved', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('incoming', core.types.ScaledDecimal(3), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_procurement_stock_level_product_id_core_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_procurement_stock_level'))
    )
    op.create_table('procurement_purchase_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('confirmed_at', sa.Date(), nullable=True),
    sa.Column('received_at', sa.Date(), nullable=True),
    sa.Column('cancelled_at', sa.Date(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'confirmed', 'partial', 'received', 'cancelled')", name=op.f('ck_procurement_purchase_order_state')),
    sa.ForeignKeyConstraint(['supplier_id'], ['core_partner.id'], name=op.f('fk_procurement_purchase_order_supplier_id_core_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_purchase_order')),
    sa.UniqueConstraint('number', name=op.f('uq_procurement_purchase_order_number'))
    )
    op.create_index('ix_procurement_purchase_order_state', 'procurement_purchase_order', ['state'], unique=False)
    op.create_index(op.f('ix_procurement_purchase_order_supplier_id'), 'procurement_purchase_order', ['supplier_id'], unique=False)
    op.create_index('uq_procurement_purchase_order_draft_supplier', 'procurement_purchase_order', ['supplier_id'], unique=True, sqlite_where=sa.text("state = 'draft'"), postgresql_where=sa.text("state = 'draft'"))
    op.create_table('procurement_reorder_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('minimum', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('maximum', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('multiple', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('lead_time_days', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('maximum >= minimum AND maximum > 0', name=op.f('ck_procurement_reorder_rule_maximum')),
    sa.CheckConstraint('minimum >= 0', name=op.f('ck_procurement_reorder_rule_minimum')),
    sa.CheckConstraint('multiple > 0', name=op.f('ck_procurement_reorder_rule_multiple')),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_procurement_reorder_rule_product_id_core_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplier_id'], ['core_partner.id'], name=op.f('fk_procurement_reorder_rule_supplier_id_core_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_reorder_rule')),
    sa.UniqueConstraint('product_id', name=op.f('uq_procurement_reorder_rule_product_id'))
    )
    op.create_table('procurement_supplier_price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('price', core.types.ScaledDecimal(4), nullable=False),
    sa.Column('minimum_quantity', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('preferred', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('lead_time_days >= 0', name=op.f('ck_procurement_supplier_price_lead_time_days')),
    sa.CheckConstraint('minimum_quantity >= 0', name=op.f('ck_procurement_supplier_price_minimum_quantity')),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_procurement_supplier_price_product_id_core_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplier_id'], ['core_partner.id'], name=op.f('fk_procurement_supplier_price_supplier_id_core_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_supplier_price')),
    sa.UniqueConstraint('product_id', 'supplier_id', name=op.f('uq_procurement_supplier_price_product_id_supplier_id'))
    )
    op.create_index(op.f('ix_procurement_supplier_price_supplier_id'), 'procurement_supplier_price', ['supplier_id'], unique=False)
    op.create_table('procurement_purchase_order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('received_quantity', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('unit_price', core.types.ScaledDecimal(4), nullable=False),
    sa.Column('expected_date', sa.Date(), nullable=True),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('forecast_quantity', core.types.ScaledDecimal(3), nullable=True),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('trigger', sa.String(length=100), nullable=False),
    sa.Column('summarised', sa.Boolean(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_procurement_purchase_order_line_quantity_positive')),
    sa.CheckConstraint('received_quantity >= 0 AND received_quantity <= quantity', name=op.f('ck_procurement_purchase_order_line_received_quantity')),
    sa.ForeignKeyConstraint(['order_id'], ['procurement_purchase_order.id'], name=op.f('fk_procurement_purchase_order_line_order_id_procurement_purchase_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_procurement_purchase_order_line_product_id_core_product')),
    sa.ForeignKeyConstraint(['rule_id'], ['procurement_reorder_rule.id'], name=op.f('fk_procurement_purchase_order_line_rule_id_procurement_reorder_rule'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_purchase_order_line'))
    )
    op.create_index(op.f('ix_procurement_purchase_order_line_order_id'), 'procurement_purchase_order_line', ['order_id'], unique=False)
    op.create_index('ix_procurement_purchase_order_line_product', 'procurement_purchase_order_line', ['product_id'], unique=False)
    op.create_index('ix_procurement_purchase_order_line_unsummarised', 'procurement_purchase_order_line', ['order_id'], unique=False, sqlite_where=sa.text('summarised = 0'), postgresql_where=sa.text('NOT summarised'))
    op.create_table('procurement_stock_move',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('quantity', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('move_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('sales_order_id', sa.Integer(), nullable=True),
    sa.Column('purchase_order_line_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'receipt' AND quantity > 0) OR (kind = 'delivery' AND quantity < 0) OR (kind = 'adjustment' AND quantity <> 0)", name=op.f('ck_procurement_stock_move_quantity_sign')),
    sa.CheckConstraint("kind IN ('receipt', 'delivery', 'adjustment')", name=op.f('ck_procurement_stock_move_kind')),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_procurement_stock_move_product_id_core_product')),
    sa.ForeignKeyConstraint(['purchase_order_line_id'], ['procurement_purchase_order_line.id'], name=op.f('fk_procurement_stock_move_purchase_order_line_id_procurement_purchase_order_line')),
    sa.ForeignKeyConstraint(['sales_order_id'], ['core_sales_order.id'], name=op.f('fk_procurement_stock_move_sales_order_id_core_sales_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_stock_move'))
    )
    op.create_index('ix_procurement_stock_move_product', 'procurement_stock_move', ['product_id', 'id'], unique=False)
    op.create_index(op.f('ix_procurement_stock_move_purchase_order_line_id'), 'procurement_stock_move', ['purchase_order_line_id'], unique=False)
    op.create_index(op.f('ix_procurement_stock_move_sales_order_id'), 'procurement_stock_move', ['sales_order_id'], unique=False)


def downgrade() -> None:
    op.drop_table('procurement_stock_move')
    op.drop_table('procurement_purchase_order_line')
    op.drop_table('procurement_supplier_price')
    op.drop_table('procurement_reorder_rule')
    op.drop_table('procurement_purchase_order')
    op.drop_table('procurement_stock_level')
