"""the web view: users' password hashes and browser sessions

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0012'
down_revision = 'core_0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('core_web_login',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_web_login_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_core_web_login'))
    )
    op.create_table('core_web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_web_session_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_web_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_core_web_session_token_hash'))
    )
    with op.batch_alter_table('core_web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_web_session_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_web_session_user_id'))
    op.drop_table('core_web_session')
    op.drop_table('core_web_login')
