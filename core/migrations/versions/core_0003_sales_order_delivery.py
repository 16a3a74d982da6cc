"""sales order delivery: a delivered state and its date

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0003'
down_revision = 'core_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('core_sales_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.Date(), nullable=True))
        batch_op.drop_constraint(op.f('ck_core_sales_order_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('draft', 'confirmed', 'delivered', 'cancelled')")


def downgrade() -> None:
    op.execute("UPDATE core_sales_order SET state = 'confirmed' WHERE state = 'delivered'")
    with op.batch_alter_table('core_sales_order', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_core_sales_order_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('draft', 'confirmed', 'cancelled')")
        batch_op.drop_column('delivered_at')
