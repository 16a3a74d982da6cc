"""statement balance: the closing booked balance of a camt.053 statement and its day (the cash plan's start)

Revision ID: billing_0011
Revises: billing_0010
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from core.types import ScaledDecimal

revision = 'billing_0011'
down_revision = 'billing_0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('billing_bank_statement') as batch:
        batch.add_column(sa.Column('closing_balance', ScaledDecimal(2), nullable=True))
        batch.add_column(sa.Column('closing_date', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('billing_bank_statement') as batch:
        batch.drop_column('closing_date')
        batch.drop_column('closing_balance')
