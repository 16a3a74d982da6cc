"""jobprobe: effect rows (no unique constraint: duplicates must stay visible)

Revision ID: jobprobe_0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = 'jobprobe_0001'
down_revision = None
branch_labels = ('jobprobe',)
depends_on = 'core'


def upgrade() -> None:
    op.create_table('jobprobe_effect',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=100), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('record', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobprobe_effect'))
    )


def downgrade() -> None:
    op.drop_table('jobprobe_effect')
