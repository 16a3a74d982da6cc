"""credit hold: the partner's credit limit (an extension field of the partner)

Revision ID: credit_hold_0002
Revises: credit_hold_0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import core.types

revision = 'credit_hold_0002'
down_revision = 'credit_hold_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_hold_partner_credit',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('credit_limit', core.types.ScaledDecimal(2), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_credit_hold_partner_credit_partner_id_core_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_credit_hold_partner_credit'))
    )


def downgrade() -> None:
    op.drop_table('credit_hold_partner_credit')
