"""the database records every change to the money tables in the kernel's audit trail (PostgreSQL)

A trigger on invoices, their lines, payments, allocations, refunds and write-offs calls the
kernel's ``core_audit_row()`` (core_0009): an UPDATE typed in psql is in ``crm audit`` with the
role that typed it. SQLite has no roles; there crm's own session records the changes.

Revision ID: billing_0009
Revises: billing_0008
Create Date: 2026-12-06
"""

from alembic import op

revision = 'billing_0009'
down_revision = 'billing_0008'
branch_labels = None
depends_on = 'core_0009'

MONEY_TABLES = ("billing_invoice", "billing_invoice_line", "billing_payment", "billing_allocation",
                "billing_refund", "billing_write_off")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in MONEY_TABLES:
        op.execute(f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION core_audit_row()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in MONEY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit ON {table}")
