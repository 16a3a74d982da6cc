"""credit hold: partner holds

Revision ID: credit_hold_0001
Revises: 
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = 'credit_hold_0001'
down_revision = None
branch_labels = ('credit_hold',)
depends_on = 'core'


def upgrade() -> None:
    op.create_table('credit_hold_partner_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('placed_on', sa.Date(), nullable=False),
    sa.Column('placed_by', sa.String(length=64), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_credit_hold_partner_hold_partner_id_core_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_hold_partner_hold'))
    )
    with op.batch_alter_table('credit_hold_partner_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_hold_partner_hold_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index('uq_credit_hold_partner_hold_active_partner', ['partner_id'], unique=True,
                              sqlite_where=sa.text('released_on IS NULL'),
                              postgresql_where=sa.text('released_on IS NULL'))


def downgrade() -> None:
    op.drop_table('credit_hold_partner_hold')
