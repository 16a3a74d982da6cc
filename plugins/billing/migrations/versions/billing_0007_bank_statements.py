"""billing: bank statements and their lines, customers' bank accounts, write-offs

A bank line is identified once and for all (``line_key``: the bank's entry reference, else the
file and the line), so a statement imported twice writes nothing and two identical lines are two
payments. A write-off settles an invoice through an allocation of its own (``write_off_id``).

Revision ID: billing_0007
Revises: billing_0006
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import core.types


revision = 'billing_0007'
down_revision = 'billing_0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_bank_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_hash', sa.String(length=64), nullable=False),
    sa.Column('statement_ref', sa.String(length=35), nullable=True),
    sa.Column('account', sa.String(length=34), nullable=True),
    sa.Column('imported_on', sa.Date(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('lines_read', sa.Integer(), nullable=False),
    sa.Column('lines_new', sa.Integer(), nullable=False),
    sa.CheckConstraint("format IN ('camt053', 'csv')", name=op.f('ck_billing_bank_statement_format')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_bank_statement'))
    )
    op.create_index(op.f('ix_billing_bank_statement_file_hash'), 'billing_bank_statement', ['file_hash'], unique=False)
    op.create_table('billing_partner_account',
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('learnt_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_partner_account_partner_id_core_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('iban', name=op.f('pk_billing_partner_account'))
    )
    op.create_index(op.f('ix_billing_partner_account_partner_id'), 'billing_partner_account', ['partner_id'], unique=False)
    op.create_table('billing_bank_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_key', sa.String(length=250), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('bank_reference', sa.String(length=35), nullable=True),
    sa.Column('direction', sa.String(length=6), nullable=False),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('counterparty_name', sa.String(length=140), nullable=True),
    sa.Column('counterparty_iban', sa.String(length=34), nullable=True),
    sa.Column('structured_reference', sa.String(length=35), nullable=True),
    sa.Column('remittance', sa.String(length=500), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('matched_by', sa.String(length=12), nullable=True),
    sa.CheckConstraint("direction IN ('credit', 'debit')", name=op.f('ck_billing_bank_line_direction')),
    sa.CheckConstraint("state IN ('paid', 'unmatched', 'debit')", name=op.f('ck_billing_bank_line_state')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_bank_line_amount_positive')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_bank_line_partner_id_core_partner')),
    sa.ForeignKeyConstraint(['statement_id'], ['billing_bank_statement.id'], name=op.f('fk_billing_bank_line_statement_id_billing_bank_statement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_bank_line')),
    sa.UniqueConstraint('line_key', name=op.f('uq_billing_bank_line_line_key'))
    )
    op.create_index(op.f('ix_billing_bank_line_counterparty_iban'), 'billing_bank_line', ['counterparty_iban'], unique=False)
    op.create_index(op.f('ix_billing_bank_line_partner_id'), 'billing_bank_line', ['partner_id'], unique=False)
    op.create_index(op.f('ix_billing_bank_line_statement_id'), 'billing_bank_line', ['statement_id'], unique=False)
    op.create_table('billing_bank_line_invoice',
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_bank_line_invoice_invoice_id_billing_invoice')),
    sa.ForeignKeyConstraint(['line_id'], ['billing_bank_line.id'], name=op.f('fk_billing_bank_line_invoice_line_id_billing_bank_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('line_id', 'sequence', name=op.f('pk_billing_bank_line_invoice'))
    )
    op.create_table('billing_write_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('amount', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('write_off_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('bank_line_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_write_off_amount_positive')),
    sa.ForeignKeyConstraint(['bank_line_id'], ['billing_bank_line.id'], name=op.f('fk_billing_write_off_bank_line_id_billing_bank_line')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_write_off_invoice_id_billing_invoice')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_billing_write_off_partner_id_core_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_write_off'))
    )
    op.create_index(op.f('ix_billing_write_off_invoice_id'), 'billing_write_off', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_billing_write_off_partner_id'), 'billing_write_off', ['partner_id'], unique=False)
    # plain nullable ADD COLUMNs with their reference inline: SQLite adds them in place, no table copy
    for table, column, target in (('billing_allocation', 'write_off_id', 'billing_write_off'),
                                  ('billing_payment', 'bank_line_id', 'billing_bank_line')):
        name = op.f(f'fk_{table}_{column}_{target}')
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE {table} ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES {target} (id)')
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, target, [column], ['id'])
    op.create_index(op.f('ix_billing_payment_bank_line_id'), 'billing_payment', ['bank_line_id'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_billing_payment_bank_line_id'), table_name='billing_payment')
    for table, column, target in (('billing_payment', 'bank_line_id', 'billing_bank_line'),
                                  ('billing_allocation', 'write_off_id', 'billing_write_off')):
        if op.get_bind().dialect.name == 'postgresql':
            op.drop_constraint(op.f(f'fk_{table}_{column}_{target}'), table, type_='foreignkey')
        op.drop_column(table, column)
    op.drop_index(op.f('ix_billing_write_off_partner_id'), table_name='billing_write_off')
    op.drop_index(op.f('ix_billing_write_off_invoice_id'), table_name='billing_write_off')
    op.drop_table('billing_write_off')
    op.drop_table('billing_bank_line_invoice')
    op.drop_index(op.f('ix_billing_bank_line_statement_id'), table_name='billing_bank_line')
    op.drop_index(op.f('ix_billing_bank_line_partner_id'), table_name='billing_bank_line')
    op.drop_index(op.f('ix_billing_bank_line_counterparty_iban'), table_name='billing_bank_line')
    op.drop_table('billing_bank_line')
    op.drop_index(op.f('ix_billing_partner_account_partner_id'), table_name='billing_partner_account')
    op.drop_table('billing_partner_account')
    op.drop_index(op.f('ix_billing_bank_statement_file_hash'), table_name='billing_bank_statement')
    op.drop_table('billing_bank_statement')
