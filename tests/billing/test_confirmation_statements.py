"""What confirming an order asks of the database, in the usual case (the invoice posted at once): one
read of the posting facts that carries the company's identity too, and the trail of the whole
confirmation (the order, the invoice, its lines and instalments) in one INSERT, in that order. And
what is read each time is read each time: an identity changed between two confirmations counts."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

pytestmark = pytest.mark.modules("billing")


def _statements(app) -> list[str]:
    seen = []
    event.listen(app.engine, "before_cursor_execute", lambda *args: seen.append(" ".join(args[2].split())))
    return seen


def test_a_confirmation_reads_its_facts_once_and_writes_its_trail_once(books, workspace):
    from core.services.orders import confirm_order, create_order

    customer = books.customer("Durand", term="30-60")
    books.confirm("2026-03-02", customer)  # the year's series exists from here
    app = books.app("2026-03-03")
    with app.transaction() as session:
        order = create_order(app, session, {"customer": str(customer), "lines": [
            {"sku": "P20", "quantity": "2", "unit_price": "100"}, {"sku": "P10", "quantity": "1"}]})
        before = session.execute(text("SELECT MAX(id) FROM core_audit")).scalar()
        session.flush()
        statements = _statements(app)
        confirm_order(app, session, order)
    audit = [s for s in statements if s.startswith("INSERT INTO core_audit")]
    assert len(audit) == 1, audit
    assert not [s for s in statements if "FROM core_company" in s and not s.startswith("SELECT p.name")]
    with books.tx("2026-03-03") as session:
        trail = [(r[0], r[1]) for r in session.execute(text(
            "SELECT action, record_type FROM core_audit WHERE id > :before ORDER BY id"), {"before": before})]
    # PostgreSQL's triggers record the invoice and its lines as they are written, the session the rest
    session_rows = [("update", "core_sales_order"), ("create", "billing_invoice_due"), ("create", "billing_invoice_due")]
    if workspace.backend == "sqlite":
        session_rows[1:1] = [("create", "billing_invoice")] + [("create", "billing_invoice_line")] * 2
    assert [row for row in trail if row[1] != "core_sales_order_line"] == (
        session_rows if workspace.backend == "sqlite" else
        [("create", "billing_invoice")] + [("create", "billing_invoice_line")] * 2 + session_rows)


def test_the_company_identity_changed_between_two_confirmations_counts_at_once(books):
    from core.services.company import set_company
    from plugins.billing.services_invoices import get_invoice

    customer = books.customer("Durand")
    first = books.confirm("2026-03-02", customer)
    app = books.app("2026-03-02")  # the same app (process) confirms again after the change
    with app.transaction() as session:
        set_company(app, session, {"name": "Nouveau Nom", "street": "9 quai Neuf"})
    second = books.confirm("2026-03-02", customer)
    with books.tx("2026-03-02") as session:
        old, new = get_invoice(session, first), get_invoice(session, second)
        assert old.seller_name != "Nouveau Nom" and new.seller_name == "Nouveau Nom"
        assert new.seller_address.startswith("9 quai Neuf")
