"""PostgreSQL: the money tables' statement triggers write the trail rows ``core_audit_row()`` wrote.

billing_0012 replaced billing_0009's row triggers by set-based ones (:mod:`core.audit_triggers`):
the same writes, typed in psql as a script would, must leave the same rows in ``core_audit``
(who, which command, the action, the record and its label, every change with its before and
after), whether one row or many, with NULLs, no-op updates and deletes. And each function must
name every column of its table as it is now: a migration that adds one re-installs it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from core import audit_triggers
from core.testing import make_workspace

MONEY_TABLES = ("billing_invoice", "billing_invoice_line", "billing_payment", "billing_allocation",
                "billing_refund", "billing_write_off")

WRITES = [
    "INSERT INTO core_partner (name, kind, is_customer, is_supplier, country, active, created_at) "
    "VALUES ('Client A', 'company', TRUE, FALSE, 'FR', TRUE, TIMESTAMP '2026-01-02 10:00:00')",
    "INSERT INTO billing_invoice (number, kind, state, partner_id, invoice_date, posted_on, due_date, final_due_date, "
    "currency, total_untaxed, total_tax, total, settled, residual, buyer_is_business, operation_category, created_at) "
    "SELECT 'F2026-' || lpad(g::text, 6, '0'), 'invoice', 'posted', (SELECT max(id) FROM core_partner), "
    "DATE '2026-01-05', DATE '2026-01-05', DATE '2026-02-04', DATE '2026-02-04', 'EUR', 10000 + g, 2000, "
    "12000 + g, 0, 12000 + g, TRUE, 'goods', TIMESTAMP '2026-01-05 09:00:00' FROM generate_series(1, 40) g",
    "INSERT INTO billing_payment (partner_id, payment_date, amount, method, reference, unallocated, created_at) "
    "SELECT (SELECT max(id) FROM core_partner), DATE '2026-02-02', 500 * g, 'transfer', "
    "CASE WHEN g % 2 = 0 THEN 'VIR ' || g END, 0, TIMESTAMP '2026-02-02 08:00:00' FROM generate_series(1, 30) g",
    "INSERT INTO billing_allocation (invoice_id, payment_id, amount, allocated_on) "
    "SELECT i.id, p.id, p.amount, DATE '2026-02-03' FROM billing_invoice i "
    "JOIN billing_payment p ON p.id - (SELECT min(id) FROM billing_payment) = i.id - (SELECT min(id) FROM billing_invoice)",
    # settled as the bank import settles: some paid, some partly, state unchanged for a few
    "UPDATE billing_invoice SET settled = settled + a.amount, residual = residual - a.amount, "
    "state = CASE WHEN a.amount > 8000 THEN 'partially_paid' ELSE state END "
    "FROM billing_allocation a WHERE a.invoice_id = billing_invoice.id",
    "UPDATE billing_invoice SET total = total WHERE id % 3 = 0",  # nothing changed: no row
    "UPDATE billing_invoice SET note = 'relancé', delivery_address = NULL, due_date = due_date + 1 WHERE id % 4 = 0",
    "UPDATE billing_payment SET reference = NULL, unallocated = 1 WHERE id % 2 = 0",
    "DELETE FROM billing_allocation WHERE id % 5 = 0",
    "INSERT INTO billing_payment (partner_id, payment_date, amount, method, unallocated, created_at) "
    "VALUES ((SELECT max(id) FROM core_partner), DATE '2026-02-09', 4200, 'cheque', 0, TIMESTAMP '2026-02-09 08:00:00')",
]


@pytest.fixture
def engine(pg_database_url, tmp_path, monkeypatch):
    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    make_workspace(tmp_path / "workspace", pg_database_url, ("billing",))
    engine = create_engine(pg_database_url.replace("postgresql://", "postgresql+psycopg://"))
    yield engine
    engine.dispose()


def _trail(engine, *, row_triggers: bool) -> list[tuple]:
    """The rows ``WRITES`` leave in the trail (ids made equal), in a transaction rolled back."""
    with engine.connect() as connection:
        transaction = connection.begin()
        if row_triggers:  # billing_0009's triggers, as they were
            for table in MONEY_TABLES:
                audit_triggers.uninstall(connection, table)
        for table in MONEY_TABLES + ("core_partner",):  # both runs number their rows alike
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1000, false)"))
        before = connection.execute(text("SELECT coalesce(max(id), 0) FROM core_audit")).scalar()
        connection.execute(text("SELECT set_config('crm.user', 'alice', true), set_config('crm.command', "
                                "'psql script', true), set_config('crm.business_date', '2026-02-03', true)"))
        for statement in WRITES:
            connection.execute(text(statement))
        rows = connection.execute(text(
            "SELECT business_date, user_login, real_user, db_user, command, action, record_type, record_id, "
            "record_label, changes FROM core_audit WHERE id > :before AND record_type LIKE 'billing%' ORDER BY id"),
            {"before": before}).all()
        transaction.rollback()
    return [tuple(row) for row in rows]


def test_statement_triggers_write_the_rows_the_row_trigger_wrote(engine):
    old = _trail(engine, row_triggers=True)
    new = _trail(engine, row_triggers=False)
    assert len(old) > 150
    assert {row[5] for row in new} == {"create", "update", "delete"}
    assert all(row[1] == "alice" and row[4] == "psql script" for row in new)
    # the same rows; within one statement, in the order the statement wrote them either way
    assert sorted(new, key=repr) == sorted(old, key=repr)
    assert [row[5:7] for row in new] == [row[5:7] for row in old]


def test_each_money_table_is_audited_by_a_function_that_names_all_its_columns(engine):
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
        for table in MONEY_TABLES:
            triggers = set(connection.execute(text(
                "SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = CAST(:table AS regclass) AND NOT t.tgisinternal"),
                {"table": table}).scalars())
            assert triggers == {f"{table}_audit_{event}" for event in audit_triggers.EVENTS}
            source = connection.execute(text("SELECT prosrc FROM pg_proc WHERE proname = :name AND "
                                             "pronamespace = CAST(:schema AS regnamespace)"),
                                        {"name": audit_triggers.function_name(table), "schema": schema}).scalar()
            wanted = audit_triggers.function_sql(schema, table, audit_triggers.columns_of(connection, table))
            assert source is not None and source.strip() in wanted, f"{table}: re-install its audit function"
