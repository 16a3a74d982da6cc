"""company: the VAT franchise flag (franchise en base, CGI art. 293 B)

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0010'
down_revision = 'core_0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('core_company', sa.Column('vat_franchise', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('core_company', 'vat_franchise')
