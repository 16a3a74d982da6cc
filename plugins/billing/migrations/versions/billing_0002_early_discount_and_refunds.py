"""billing: early-payment discount frozen on the invoice; refunds of customer credit

An invoice now keeps the discount its term offered as data (``discount_percent``,
``discount_until`` = invoice date + the term's days), so that a payment on time can earn it; the
French mention (``early_discount``) stays as it is. Invoices posted before this revision get the
two fields back from that mention, the only record of what was offered (the term may have
changed since). Refunds record credit paid back to a customer and which credit each drew on.

Revision ID: billing_0002
Revises: billing_0001
Create Date: 2026-12-01
"""

import re

from alembic import op
import sqlalchemy as sa
import core.types


revision = 'billing_0002'
down_revision = 'billing_0001'
branch_labels = None
depends_on = None

# The mention as posting wrote it (services_invoices.post_invoice), frozen here as this revision read it.
MENTION = re.compile(r"^Escompte de (?P<percent>\d+(?:\.\d+)?) % pour paiement avant le (?P<until>\d{4}-\d{2}-\d{2})$")


def upgrade() -> None:
    # plain ADD COLUMN (no batch): SQLite adds a nullable column in place, without copying the table
    op.add_column('billing_invoice', sa.Column('discount_percent', core.types.ScaledDecimal(2), nullable=True))
    op.add_column('billing_invoice', sa.Column('discount_until', sa.Date(), nullable=True))
    _backfill_discounts()

    op.create_table('billing_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('refund_date', sa.Date(), nullable=False),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_refund_amount_positive')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_refund_partner_id_core_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_refund'))
    )
    with op.batch_alter_table('billing_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_refund_partner_id'), ['partner_id'], unique=False)

    op.create_table('billing_refund_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refund_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_refund_source_amount_positive')),
    sa.CheckConstraint('(payment_id IS NULL) <> (credit_note_id IS NULL)', name=op.f('ck_billing_refund_source_one_source')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['billing_invoice.id'], name=op.f('fk_billing_refund_source_credit_note_id_billing_invoice')),
    sa.ForeignKeyConstraint(['payment_id'], ['billing_payment.id'], name=op.f('fk_billing_refund_source_payment_id_billing_payment')),
    sa.ForeignKeyConstraint(['refund_id'], ['billing_refund.id'], name=op.f('fk_billing_refund_source_refund_id_billing_refund'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_refund_source'))
    )
    with op.batch_alter_table('billing_refund_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_refund_source_credit_note_id'), ['credit_note_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_refund_source_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_refund_source_refund_id'), ['refund_id'], unique=False)


def _backfill_discounts() -> None:
    """The discount of every invoice posted with a discount mention, read back from that mention."""
    import datetime as dt
    from decimal import Decimal

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, early_discount FROM billing_invoice "
                                "WHERE kind = 'invoice' AND early_discount LIKE 'Escompte de %'")).all()
    values = [{"invoice_id": invoice_id, "percent": Decimal(found["percent"]),
               "until": dt.date.fromisoformat(found["until"])}
              for invoice_id, mention in rows if (found := MENTION.match(mention or "")) is not None]
    if values:
        bind.execute(sa.text("UPDATE billing_invoice SET discount_percent = :percent, discount_until = :until "
                             "WHERE id = :invoice_id").bindparams(
            sa.bindparam("percent", type_=core.types.ScaledDecimal(2)), sa.bindparam("until", type_=sa.Date()),
            sa.bindparam("invoice_id", type_=sa.Integer())), values)


def downgrade() -> None:
    with op.batch_alter_table('billing_refund_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_refund_source_refund_id'))
        batch_op.drop_index(batch_op.f('ix_billing_refund_source_payment_id'))
        batch_op.drop_index(batch_op.f('ix_billing_refund_source_credit_note_id'))
    op.drop_table('billing_refund_source')
    with op.batch_alter_table('billing_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_refund_partner_id'))
    op.drop_table('billing_refund')
    # the money refunded was paid out: the credit it used is not given back by a downgrade.
    # plain DROP COLUMN (SQLite >= 3.35), never a batch copy: with foreign keys on, dropping the old
    # billing_invoice table would cascade to its lines, instalments and reminder cases
    op.drop_column('billing_invoice', 'discount_until')
    op.drop_column('billing_invoice', 'discount_percent')
