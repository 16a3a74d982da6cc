"""invoice: the seller's whole identity frozen at posting (legal form, RCS, capital, bank, e-address)

Revision ID: billing_0008
Revises: billing_0007
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = 'billing_0008'
down_revision = 'billing_0007'
branch_labels = None
depends_on = 'core_0007'


def upgrade() -> None:
    # plain ADD COLUMN (nullable): SQLite adds it in place, without copying the table
    op.add_column('billing_invoice', sa.Column('seller_identity', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('billing_invoice', 'seller_identity')
