"""the money tables' audit written set-based: statement triggers in place of core_audit_row()'s row triggers

Same rows in ``core_audit`` as billing_0009's triggers wrote, one ``INSERT ... SELECT`` per
statement (:mod:`core.audit_triggers`): a bank statement's 100,000 invoices settled by one UPDATE
took 7 s more for their trail, row by row. A later migration that changes the columns of one of
these tables calls ``core.audit_triggers.install`` for it again.

Revision ID: billing_0012
Revises: billing_0011
Create Date: 2026-12-06
"""

from alembic import op

revision = 'billing_0012'
down_revision = 'billing_0011'
branch_labels = None
depends_on = None

MONEY_TABLES = ("billing_invoice", "billing_invoice_line", "billing_payment", "billing_allocation",
                "billing_refund", "billing_write_off")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from core import audit_triggers

    for table in MONEY_TABLES:
        audit_triggers.install(op.get_bind(), table)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from core import audit_triggers

    for table in MONEY_TABLES:
        audit_triggers.uninstall(op.get_bind(), table)
