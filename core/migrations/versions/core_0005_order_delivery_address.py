"""sales order: a delivery address when the goods do not go to the customer's address

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0005'
down_revision = 'core_0004'
branch_labels = None
depends_on = None

COLUMNS = [('delivery_street', 200), ('delivery_postal_code', 20), ('delivery_city', 100), ('delivery_country', 2)]


def upgrade() -> None:
    # plain ADD COLUMN (nullable): SQLite adds them in place, without copying the table
    for name, length in COLUMNS:
        op.add_column('core_sales_order', sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35): a batch copy would cascade to the order's lines
    for name, _ in reversed(COLUMNS):
        op.drop_column('core_sales_order', name)
