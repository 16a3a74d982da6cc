"""funnel: the posts to websites' forms per source address and window (rate limits of lead capture)

Revision ID: funnel_0005
Revises: funnel_0004
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = 'funnel_0005'
down_revision = 'funnel_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'funnel_capture_hit',
        sa.Column('form', sa.String(length=40), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('window_start', sa.Integer(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('form', 'address', 'window_start', name=op.f('pk_funnel_capture_hit')),
    )


def downgrade() -> None:
    op.drop_table('funnel_capture_hit')
