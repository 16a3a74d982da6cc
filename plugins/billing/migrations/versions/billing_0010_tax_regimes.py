"""tax regimes: a customer's regime set by hand, EU countries' dated VAT rates, each line's VAT category

Revision ID: billing_0010
Revises: billing_0009
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from core.types import ScaledDecimal

revision = 'billing_0010'
down_revision = 'billing_0009'
branch_labels = None
depends_on = 'core_0010'


def upgrade() -> None:
    op.create_table('billing_partner_regime',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('regime', sa.String(length=12), nullable=False),
    sa.CheckConstraint("regime IN ('domestic', 'eu_business', 'eu_consumer', 'export')",
                       name=op.f('ck_billing_partner_regime_regime')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_partner_regime_partner_id_core_partner'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_billing_partner_regime'))
    )
    rates = op.create_table('billing_country_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('rate', ScaledDecimal(2), nullable=False),
    sa.CheckConstraint("kind IN ('standard', 'reduced')", name=op.f('ck_billing_country_rate_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_country_rate')),
    sa.UniqueConstraint('country', 'kind', 'valid_from', name=op.f('uq_billing_country_rate_country_kind_valid_from'))
    )
    from plugins.billing.taxes import seed_rows

    op.bulk_insert(rates, seed_rows())
    # plain ADD COLUMN: SQLite adds them in place
    op.add_column('billing_invoice', sa.Column('tax_regime', sa.String(length=12), nullable=True))
    op.add_column('billing_invoice', sa.Column('vat_mention', sa.Text(), nullable=True))
    op.add_column('billing_invoice_line', sa.Column('vat_category', sa.String(length=2), nullable=False,
                                                    server_default='S'))
    op.add_column('billing_invoice_line', sa.Column('vat_exemption', sa.String(length=20), nullable=True))
    # lines at 0 % posted before: exempt (E), as Factur-X printed them
    op.execute("UPDATE billing_invoice_line SET vat_category = 'E' WHERE vat_rate = 0")


def downgrade() -> None:
    op.drop_column('billing_invoice_line', 'vat_exemption')
    op.drop_column('billing_invoice_line', 'vat_category')
    op.drop_column('billing_invoice', 'vat_mention')
    op.drop_column('billing_invoice', 'tax_regime')
    op.drop_table('billing_country_rate')
    op.drop_table('billing_partner_regime')
