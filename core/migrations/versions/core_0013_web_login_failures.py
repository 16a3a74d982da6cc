"""the web view: failed logins counted per login and per address (logging in throttled)

Revision ID: core_0013
Revises: core_0012
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0013'
down_revision = 'core_0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('core_web_login_failure',
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('subject', 'window_start', name=op.f('pk_core_web_login_failure'))
    )


def downgrade() -> None:
    op.drop_table('core_web_login_failure')
