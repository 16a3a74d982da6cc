"""the company's legal identity as data; products' goods/service kind; partners' language

The identity used to be free text in ``crm.toml`` ``[company]``; this revision creates its one
row and fills it from those keys (handed over by ``core.migrate`` as ``company_seed``), so an
existing workspace keeps printing what it printed. From now on ``crm company set`` changes it.

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-06
"""

import datetime as dt

from alembic import op
import sqlalchemy as sa

from core.types import ScaledDecimal

revision = 'core_0007'
down_revision = 'core_0006'
branch_labels = None
depends_on = None

SEEDED = ("name", "siren", "vat_number", "street", "postal_code", "city", "country")


def upgrade() -> None:
    company = op.create_table('core_company',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('legal_form', sa.String(length=20), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('siren', sa.String(length=9), nullable=True),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('trade_register', sa.String(length=3), nullable=True),
    sa.Column('register_city', sa.String(length=100), nullable=True),
    sa.Column('share_capital', ScaledDecimal(2), nullable=True),
    sa.Column('vat_number', sa.String(length=20), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('bank', sa.String(length=100), nullable=True),
    sa.Column('vat_on_debits', sa.Boolean(), nullable=False),
    sa.Column('einvoice_address', sa.String(length=100), nullable=True),
    sa.Column('einvoice_scheme', sa.String(length=4), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('logo', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_core_company_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_company'))
    )
    seed = op.get_context().config.attributes.get("company_seed") or {}
    row = {key: (seed.get(key) or None) for key in SEEDED}
    row.update(id=1, country=seed.get("country") or "FR", vat_on_debits=False,
               created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    op.bulk_insert(company, [row])
    # plain ADD COLUMN: SQLite adds them in place (a batch copy of core_product would cascade)
    op.add_column('core_product', sa.Column('kind', sa.String(length=10), nullable=False, server_default='goods'))
    op.add_column('core_partner', sa.Column('language', sa.String(length=2), nullable=True))
    if op.get_context().dialect.name != "sqlite":
        op.create_check_constraint(op.f('ck_core_product_kind'), 'core_product', "kind IN ('goods', 'service')")


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(op.f('ck_core_product_kind'), 'core_product', type_='check')
    op.drop_column('core_partner', 'language')
    op.drop_column('core_product', 'kind')
    op.drop_table('core_company')
