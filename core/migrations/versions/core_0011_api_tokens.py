"""the HTTP API: personal tokens (hashed) and the responses kept for idempotency keys

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0011'
down_revision = 'core_0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('core_api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('rights', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_api_token_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_core_api_token_token_hash'))
    )
    op.create_index(op.f('ix_core_api_token_user_id'), 'core_api_token', ['user_id'], unique=False)
    op.create_table('core_api_idempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request', sa.String(length=300), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_api_idempotency_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_idempotency')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_core_api_idempotency_user_id_key'))
    )


def downgrade() -> None:
    op.drop_table('core_api_idempotency')
    op.drop_index(op.f('ix_core_api_token_user_id'), table_name='core_api_token')
    op.drop_table('core_api_token')
