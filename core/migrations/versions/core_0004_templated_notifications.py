"""templated notifications

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = 'core_0004'
down_revision = 'core_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('core_notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('context', sa.Text(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('core_notification', schema=None) as batch_op:
        batch_op.drop_column('context')
        batch_op.drop_column('template')


