"""billing: the delivery address an invoice prints when it differs from the buyer's

Frozen at posting from the sales order's delivery address (``core_0005``), like the buyer's
address. Invoices posted before have none: their orders had none either.

Revision ID: billing_0004
Revises: billing_0003
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = 'billing_0004'
down_revision = 'billing_0003'
branch_labels = None
depends_on = ('core_0005',)


def upgrade() -> None:
    # plain ADD COLUMN (nullable): SQLite adds them in place, without copying the table
    op.add_column('billing_invoice', sa.Column('delivery_address', sa.Text(), nullable=True))
    op.add_column('billing_invoice', sa.Column('delivery_country', sa.String(length=2), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35), never a batch copy: it would cascade to the invoice's lines
    op.drop_column('billing_invoice', 'delivery_country')
    op.drop_column('billing_invoice', 'delivery_address')
