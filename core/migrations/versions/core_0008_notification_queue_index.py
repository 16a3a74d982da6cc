"""notification queue: indexed (state, id), so a delivery claim reads the next pending messages in id order

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-12-06
"""

from alembic import op

revision = 'core_0008'
down_revision = 'core_0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # with (state, next_attempt_at), each claim sorted every due message before taking a few
    op.drop_index('ix_core_notification_due', table_name='core_notification')
    op.create_index('ix_core_notification_queue', 'core_notification', ['state', 'id'])


def downgrade() -> None:
    op.drop_index('ix_core_notification_queue', table_name='core_notification')
    op.create_index('ix_core_notification_due', 'core_notification', ['state', 'next_attempt_at'])
