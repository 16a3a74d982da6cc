"""billing: reminder levels can attach the overdue invoices

``billing_reminder_level.attach_invoices``: the level's messages carry a PDF of each overdue
invoice. Set on the levels that write to the customer, as the default policy now does.

Revision ID: billing_0003
Revises: billing_0002
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = 'billing_0003'
down_revision = 'billing_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN with a default: SQLite adds it in place, without copying the table
    op.add_column('billing_reminder_level', sa.Column('attach_invoices', sa.Boolean(), nullable=False,
                                                      server_default=sa.false()))
    level = sa.table('billing_reminder_level', sa.column('recipients', sa.String()),
                     sa.column('attach_invoices', sa.Boolean()))
    op.execute(level.update().where(level.c.recipients.like('%customer%')).values(attach_invoices=True))


def downgrade() -> None:
    op.drop_column('billing_reminder_level', 'attach_invoices')
