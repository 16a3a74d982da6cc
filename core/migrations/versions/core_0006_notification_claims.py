"""notification claims: a lease taken before sending, so a crash repeats at most the message in flight

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0006'
down_revision = 'core_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): SQLite adds them in place, without copying the outbox
    op.add_column('core_notification', sa.Column('claimed_until', sa.DateTime(), nullable=True))
    op.add_column('core_notification', sa.Column('claimed_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column('core_notification', 'claimed_by')
    op.drop_column('core_notification', 'claimed_until')
