"""procurement: supplier price breaks (several minimum-quantity tiers per supplier and product)

One price per supplier and product becomes one per supplier, product and minimum quantity: a
larger quantity can reach a lower price (PEERS.md, Odoo's re-pricing of merged lines). Existing
prices are single tiers and stay as they are.

Revision ID: procurement_0002
Revises: procurement_0001
Create Date: 2026-11-28
"""

from alembic import op


revision = 'procurement_0002'
down_revision = 'procurement_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot drop a table's UNIQUE constraint: batch mode copies the table (checks included)
    with op.batch_alter_table('procurement_supplier_price') as batch:
        batch.drop_constraint('uq_procurement_supplier_price_product_id_supplier_id', type_='unique')
        batch.create_unique_constraint('uq_procurement_supplier_price_tier',
                                       ['product_id', 'supplier_id', 'minimum_quantity'])


def downgrade() -> None:
    # keeps the lowest tier of each supplier and product (the others cannot fit the old constraint)
    op.execute("DELETE FROM procurement_supplier_price WHERE EXISTS (SELECT 1 FROM procurement_supplier_price o "
               "WHERE o.product_id = procurement_supplier_price.product_id "
               "AND o.supplier_id = procurement_supplier_price.supplier_id "
               "AND o.minimum_quantity < procurement_supplier_price.minimum_quantity)")
    with op.batch_alter_table('procurement_supplier_price') as batch:
        batch.drop_constraint('uq_procurement_supplier_price_tier', type_='unique')
        batch.create_unique_constraint('uq_procurement_supplier_price_product_id_supplier_id',
                                       ['product_id', 'supplier_id'])
