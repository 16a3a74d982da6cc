"""PostgreSQL: a bank statement settled in bulk (COPY, one UPDATE of the invoices) is in the trail.

The money tables' statement triggers (billing_0012) record each payment, allocation and invoice
change the settlement writes set-based, with the import's command. (On SQLite the session records
what the ORM flushes; the bulk settlement's Core statements are not recorded there.)
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.testing import CrmRunner, make_workspace
from plugins.billing.camt_writer import camt053


@pytest.fixture
def pg_books(pg_database_url, tmp_path, monkeypatch):
    from billing_support import Books

    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    workspace = make_workspace(tmp_path / "ws", pg_database_url, ["billing"])
    books = Books(workspace).setup()
    yield books, CrmRunner(workspace, dt.date(2026, 2, 27))
    books.close()


def test_a_statement_settled_in_bulk_leaves_each_payment_allocation_and_invoice_change_in_the_trail(pg_books, tmp_path):
    books, crm = pg_books
    import json

    customer = books.customer("Durand")
    first, second = books.confirm("2026-02-01", customer), books.confirm("2026-02-02", customer)  # 120.00 each
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([{"amount": "120.00", "date": "2026-02-10", "text": f"VIR {first}", "ref": "B1"},
                                   {"amount": "50.00", "date": "2026-02-11", "text": f"VIR {second}", "ref": "B2"}]))
    before = books.sql("SELECT coalesce(max(id), 0) FROM core_audit")[0][0]
    assert crm("payment", "import", str(statement), "--json").json["created"] == 2
    trail = books.sql("SELECT action, record_type, record_label, changes, command FROM core_audit WHERE id > :before "
                      "AND record_type IN ('billing_payment', 'billing_allocation', 'billing_invoice') ORDER BY id",
                      before=before)
    assert all("payment import" in (command or "") for *_, command in trail)
    kinds = sorted((action, kind) for action, kind, *_ in trail)
    assert kinds == [("create", "billing_allocation")] * 2 + [("create", "billing_payment")] * 2 + [
        ("update", "billing_invoice")] * 2
    settled = {label: json.loads(changes) for action, kind, label, changes, _ in trail if kind == "billing_invoice"}
    assert settled[first]["state"][1] == "paid" and settled[second]["state"][1] == "partially_paid"
    assert sorted(settled[second]) == ["residual", "settled", "state"]
