"""A bank statement settled in bulk (COPY or executemany, one UPDATE of the invoices) is in the trail.

On PostgreSQL the money tables' statement triggers (billing_0012) record each payment, allocation
and invoice change the settlement writes set-based; on SQLite the session records the rows it
inserts and the settlement records the invoices and lines its UPDATEs change. Either way with the
import's command.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from plugins.billing.camt_writer import camt053

pytestmark = pytest.mark.modules("billing")


def test_a_statement_settled_in_bulk_leaves_each_payment_allocation_and_invoice_change_in_the_trail(
        books, crm, tmp_path):
    customer = books.customer("Durand")
    first, second = books.confirm("2026-02-01", customer), books.confirm("2026-02-02", customer)  # 120.00 each
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([{"amount": "120.00", "date": "2026-02-10", "text": f"VIR {first}", "ref": "B1"},
                                   {"amount": "50.00", "date": "2026-02-11", "text": f"VIR {second}", "ref": "B2"}]))
    before = books.sql("SELECT coalesce(max(id), 0) FROM core_audit")[0][0]
    assert crm("--today", "2026-02-27", "payment", "import", str(statement), "--json").json["created"] == 2
    trail = books.sql("SELECT action, record_type, record_label, changes, command FROM core_audit WHERE id > :before "
                      "AND record_type IN ('billing_payment', 'billing_allocation', 'billing_invoice') ORDER BY id",
                      before=before)
    assert all("payment import" in (command or "") for *_, command in trail)
    kinds = sorted((action, kind) for action, kind, *_ in trail)
    assert kinds == [("create", "billing_allocation")] * 2 + [("create", "billing_payment")] * 2 + [
        ("update", "billing_invoice")] * 2
    settled = {label: json.loads(changes) for action, kind, label, changes, _ in trail if kind == "billing_invoice"}
    assert settled[first]["state"] == ["posted", "paid"] and settled[second]["state"] == ["posted", "partially_paid"]
    # the amounts as each side writes them: the ORM's decimals on SQLite, PostgreSQL's stored cents
    cents = [[int(Decimal(str(v)) * 100) if isinstance(v, str) else v for v in settled[second][key]]
             for key in ("residual", "settled")]
    assert cents == [[12000, 7000], [0, 5000]]
    assert sorted(settled[second]) == ["residual", "settled", "state"]
