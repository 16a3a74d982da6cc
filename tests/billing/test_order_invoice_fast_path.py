"""The invoice of a confirmed order, computed from one read and written with three INSERTs (the
confirmation hook's path), is the invoice the general path (mapped objects, ``post_invoice``) makes
of the same order: same amounts, mentions, term, instalments and lines, numbers continuing the same
series; and the audit trail records it, its lines and instalments with their values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.modules("billing")

#: what differs between two invoices of two identical orders
OWN = {"id", "number", "order_id", "note", "created_at"}


def _order(app, session, customer, lines, salesperson=None, delivery=None):
    from core.services.orders import create_order

    raw = {"customer": str(customer), "lines": [{"sku": sku, "quantity": qty, "unit_price": price, "discount": disc}
                                                for sku, qty, price, disc in lines], **(delivery or {})}
    if salesperson:
        raw["salesperson"] = salesperson
    return create_order(app, session, raw)


def _row(session, invoice_id):
    from plugins.billing.models import Invoice, InvoiceDue, InvoiceLine

    invoice = session.get(Invoice, invoice_id)
    head = {c.key: getattr(invoice, c.key) for c in Invoice.__table__.columns if c.key not in OWN}
    lines = [{c.key: getattr(l, c.key) for c in InvoiceLine.__table__.columns if c.key not in ("id", "invoice_id")}
             for l in session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                                      .order_by(InvoiceLine.sequence))]
    dues = [(d.sequence, d.due_date, d.amount) for d in session.scalars(
        select(InvoiceDue).where(InvoiceDue.invoice_id == invoice_id).order_by(InvoiceDue.sequence))]
    return invoice, head, lines, dues


QUAI = {"delivery_street": "Quai 4", "delivery_postal_code": "13002", "delivery_city": "Marseille"}
CASES = [
    # (customer values, term, order lines, salesperson of the order, delivery address of the order)
    (dict(kind="company", siren="552081317", vat_number="FR03552081317", street="1 rue de la Paix",
          postal_code="75002", city="Paris"), "30-60",
     [("P20", "3", "33.33", "0"), ("P55", "1", "10.05", "12.5"), ("P10", "2", "0.125", "0"), ("P21", "1", "19.99", "0")],
     None, QUAI),
    (dict(kind="person", email=None, city="Lyon"), None, [("P20", "1", "100", "0")], "alice",
     {"delivery_street": "Rue Neuve 1", "delivery_city": "Bruxelles", "delivery_country": "BE"}),
    (dict(kind="company", salesperson=None), "FDM45", [("P10", "7", "3.3333", "5")], None, None),
    (dict(kind="company"), "ESC2", [("P20", "1", "99.99", "0"), ("P20", "2", "0.01", "0")], None, None),
]
#: what each case's invoice freezes of the order's delivery address
FROZEN_DELIVERY = [("Quai 4\n13002 Marseille", "FR"), ("Rue Neuve 1\nBruxelles", "BE"), (None, None), (None, None)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_usual_path_writes_what_the_general_path_writes(books, monkeypatch, case):
    from plugins.billing import order_invoices
    from plugins.billing.services_terms import create_term
    from core.services.orders import confirm_order

    values, term, lines, salesperson, delivery = CASES[case]
    with books.tx() as session:
        create_term(session, {"code": "ESC2", "name": "30 jours, escompte 2 %", "lines": [(None, "days", 30)],
                              "discount_percent": Decimal("2"), "discount_days": 10})
    customer = books.customer(f"Client {case}", term=term, **values)
    books.confirm("2026-02-27", customer)  # the year's first number: its series row exists from here
    general = order_invoices._drafted

    def refused(*args, **kwargs):
        raise AssertionError("the general path was taken")

    app = books.app("2026-03-02")
    with app.transaction() as session:
        monkeypatch.setattr(order_invoices, "_drafted", refused)
        fast_order = _order(app, session, customer, lines, salesperson, delivery)
        confirm_order(app, session, fast_order)  # the hook: the usual path only
        fast_id = order_invoices.order_invoice_id(app, session, fast_order)  # once per order
        monkeypatch.setattr(order_invoices, "_drafted", general)
        slow_order = _order(app, session, customer, lines, salesperson, delivery)
        slow_order.state, slow_order.confirmed_at = "confirmed", app.today
        slow_id = general(app, session, slow_order).id
        session.expire_all()
        fast, fast_head, fast_lines, fast_dues = _row(session, fast_id)
        slow, slow_head, slow_lines, slow_dues = _row(session, slow_id)
        assert (fast.number, slow.number) == ("F2026-000002", "F2026-000003")
        assert fast.order_id == fast_order.id and fast.note == f"Commande {fast_order.number}"
        assert fast_head == slow_head
        assert (fast.delivery_address, fast.delivery_country) == FROZEN_DELIVERY[case]
        assert fast_lines == slow_lines
        assert fast_dues == slow_dues
        assert fast.state == "posted" and fast.total == sum(a for _, _, a in fast_dues) > 0
        assert order_invoices.invoice_from_order(app, session, fast_order).id == fast_id
    from core.errors import StateError
    from plugins.billing.services_invoices import get_invoice

    with pytest.raises(StateError, match="total cannot change, the invoice is posted"):
        with app.transaction() as session:
            get_invoice(session, "F2026-000002").total = Decimal("1.00")
    with pytest.raises(StateError, match="line 1 cannot change"):
        with app.transaction() as session:
            get_invoice(session, "F2026-000002").lines[0].quantity = Decimal("9")


def test_a_new_rate_and_a_new_default_term_count_at_once(books, workspace):
    from plugins.billing.services_rates import add_rate
    from billing_support import set_billing_config

    customer = books.customer("Durand")
    books.confirm("2026-07-01", customer)
    with books.tx("2026-07-01") as session:
        add_rate(session, "ecb_refinancing", dt.date(2026, 6, 20), Decimal("1.00"))
        add_rate(session, "legal", dt.date(2026, 7, 1), Decimal("4.00"))
    books.close()
    books._apps.clear()
    set_billing_config(workspace, 'default_term = "45J"')
    number = books.confirm("2026-07-02", customer)
    with books.tx("2026-07-02") as session:
        from plugins.billing.services_invoices import get_invoice

        invoice = get_invoice(session, number)
        assert number == "F2026-000002"
        assert invoice.penalty_rate == Decimal("12.00")  # max(1.00 + 10, 3 x 4.00)
        assert invoice.term.code == "45J" and invoice.due_date == dt.date(2026, 8, 16)


def test_an_order_dated_before_the_series_last_invoice_is_refused_by_the_general_path(books):
    from core.errors import HookError

    customer = books.customer("Durand")
    books.confirm("2026-03-10", customer)
    with pytest.raises(HookError, match="numbers must follow the dates"):
        books.confirm("2026-03-09", customer)
    assert books.confirm("2026-03-10", customer) == "F2026-000002"  # nothing taken by the refused one


def test_the_audit_trail_records_the_invoice_of_a_confirmed_order_with_its_lines_and_instalments(books, monkeypatch):
    """No second write path the trail does not see: the usual path's rows are in it with their values
    (recorded by the session on SQLite, by the money tables' triggers on PostgreSQL)."""
    import json

    from sqlalchemy import text

    from core.audit import entries
    from plugins.billing import order_invoices
    from plugins.billing.models import InvoiceDue

    def refused(*args, **kwargs):
        raise AssertionError("the general path was taken")

    customer = books.customer("Durand", term="30-60")
    books.confirm("2026-03-02", customer)  # the year's first number
    monkeypatch.setattr(order_invoices, "_drafted", refused)
    number = books.confirm("2026-03-03", customer, lines=(("P20", "2", "100"), ("P10", "1", "40")))
    with books.tx("2026-03-03") as session:
        from plugins.billing.services_invoices import get_invoice

        invoice = get_invoice(session, number)
        created = [e for e in entries(session, record=f"invoice:{number}") if e["action"] == "create"]
        assert len(created) == 1 and created[0]["record_id"] == str(invoice.id)
        changes = created[0]["changes"]
        assert changes["number"] == [None, number] and changes["state"] == [None, "posted"]
        # amounts read alike on both databases, as the services write them (PostgreSQL's triggers store cents)
        assert changes["total"] == [None, str(invoice.total)] and invoice.total > 0
        assert changes["partner_id"] == [None, customer]
        assert created[0]["business_date"] == invoice.invoice_date
        lines = {line.id: line for line in invoice.lines}
        trail = session.execute(text("SELECT record_type, record_id, changes FROM core_audit WHERE action = 'create' "
                                     "AND record_type IN ('billing_invoice_line', 'billing_invoice_due')")).all()
        line_rows = {int(r.record_id): json.loads(r.changes) for r in trail if r.record_type == "billing_invoice_line"}
        assert set(lines) <= set(line_rows)
        for line_id, line in lines.items():
            assert line_rows[line_id]["invoice_id"] == [None, invoice.id]
            assert line_rows[line_id]["sequence"] == [None, line.sequence]
            assert line_rows[line_id]["description"] == [None, line.description]
        dues = session.query(InvoiceDue).filter_by(invoice_id=invoice.id).all()
        due_rows = {int(r.record_id): json.loads(r.changes) for r in trail if r.record_type == "billing_invoice_due"}
        assert len(dues) == 2 and {due.id for due in dues} <= set(due_rows)
        assert all(due_rows[due.id]["invoice_id"] == [None, invoice.id] for due in dues)
