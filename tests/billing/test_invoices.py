"""Invoices: from confirmed orders or by hand, VAT per rate, mentions, posting, immutability,
gapless numbering per year, credit notes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from billing_support import set_billing_config

from core.errors import StateError

pytestmark = pytest.mark.modules("billing")


def test_confirmed_order_is_invoiced_and_posted_with_vat_per_rate_and_mentions(books, crm):
    customer = books.customer("Durand SA", siren="552081317", vat_number="FR03552081317", street="1 rue de la Paix",
                              postal_code="75002", city="Paris")
    number = books.confirm("2026-01-31", customer, [("P20", "3", "33.33"), ("P55", "1", "10.05"),
                                                     ("P10", "2", "0.125"), ("P21", "1", "19.99")])
    assert number == "F2026-000001"
    data = crm("invoice", "show", number, "--json").json
    # subtotals 99.99 + 10.05 + 0.25 + 19.99; VAT per rate on each rate's sum, rounded half up
    assert [l["subtotal"] for l in data["lines"]] == ["99.99", "10.05", "0.25", "19.99"]
    assert data["vat"] == [{"rate": "20.00", "base": "99.99", "tax": "20.00"},
                           {"rate": "10.00", "base": "0.25", "tax": "0.03"},
                           {"rate": "5.50", "base": "10.05", "tax": "0.55"},
                           {"rate": "2.10", "base": "19.99", "tax": "0.42"}]
    assert (data["total_untaxed"], data["total_tax"], data["total"]) == ("130.28", "21.00", "151.28")
    assert (data["state"], data["term"], data["due_date"]) == ("posted", "30J", "2026-03-02")
    mentions = data["mentions"]
    seller = mentions["seller"]
    assert (seller["name"], seller["siren"], seller["vat_number"], seller["address"]) == \
        ("Entonnoir Test SAS", "732829320", "FR44732829320", "12 rue des Lilas\n69003 Lyon")
    assert (seller["legal_form"], seller["registration"], seller["share_capital"]) == \
        ("SAS", "RCS Lyon 732 829 320", "50000.00")
    assert mentions["buyer"]["siren"] == "552081317" and mentions["buyer"]["vat_number"] == "FR03552081317"
    assert mentions["buyer"]["address"] == "1 rue de la Paix\n75002 Paris"
    # ECB 2.15 % (in force on 1 January 2026) + 10 points, above 3 x the legal rate 2.76 %
    assert (mentions["penalty_rate"], mentions["recovery_indemnity"]) == ("12.15", "40.00")
    printed = crm("invoice", "show", number, "--print").stdout
    for words in ("FACTURE N° F2026-000001", "SIREN : 552081317", "TVA intracommunautaire : FR03552081317",
                  "2 mars 2026", "12,15", "40,00", "Indemnité forfaitaire", "SIREN : 732829320"):
        assert words in printed


def test_consumers_owe_no_recovery_indemnity(books, crm):
    person = books.customer("Jean Dupont", kind="person")
    data = crm("invoice", "show", books.confirm("2026-01-05", person), "--json").json
    assert data["mentions"]["recovery_indemnity"] is None and data["mentions"]["buyer"]["business"] is False
    assert "Indemnité forfaitaire" not in crm("invoice", "show", data["number"], "--print").stdout


def test_post_on_confirm_false_leaves_a_draft_to_post_by_hand(books, workspace, crm):
    set_billing_config(workspace, "post_on_confirm = false")
    customer = books.customer("Durand")
    from plugins.billing.services_invoices import invoice_from_order

    from core.services.orders import confirm_order, create_order

    app = workspace.app(today=dt.date(2026, 1, 5))
    with app.transaction() as session:
        order = create_order(app, session, {"customer": str(customer), "lines": [{"sku": "P20", "quantity": "1"}]})
        confirm_order(app, session, order)
        draft = invoice_from_order(app, session, order)  # a second call returns the same invoice
        assert (draft.state, draft.number) == ("draft", None)
        draft_id = draft.id
    app.close()
    posted = crm("invoice", "post", str(draft_id), "--json").json
    assert (posted["number"], posted["state"]) == ("F2026-000001", "posted")
    assert "cannot post an invoice that is posted" in crm("invoice", "post", "F2026-000001", expect=1).stderr


def test_posted_invoices_are_immutable(books):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    with pytest.raises(StateError, match="total cannot change, the invoice is posted"):
        with books.tx() as session:
            from plugins.billing.services_invoices import get_invoice

            get_invoice(session, number).total = Decimal("1.00")
    with pytest.raises(StateError, match="line 1 cannot change"):
        with books.tx() as session:
            get_invoice(session, number).lines[0].quantity = Decimal("2")
    with pytest.raises(StateError, match="line 1 cannot be deleted"):
        with books.tx() as session:
            invoice = get_invoice(session, number)
            session.delete(invoice.lines[0])
    with pytest.raises(StateError, match="deleted"):
        with books.tx() as session:
            session.delete(get_invoice(session, number))
    assert books.invoice(number).total == Decimal("120.00")


def test_the_guard_comes_with_the_invoice_table_whatever_code_maps_it(books, workspace):
    """A module that reads the invoice table alone (another plugin's command, say), without any of
    billing's services, still cannot change a posted invoice: the guard is installed with the
    mapping (models_invoices), not by the module holding the states. Run in a fresh process, where
    nothing else of billing was imported."""
    import subprocess
    import sys

    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.close()
    code = f"""
import sys
from core.app import App
from core.config import load_config
from core.errors import StateError
from plugins.billing.models_invoices import Invoice
from sqlalchemy import select
app = App(load_config({str(workspace.config_path)!r}))
try:
    with app.transaction() as session:
        session.scalars(select(Invoice).where(Invoice.number == {number!r})).one().total = 1
except StateError as refused:
    print(refused)
print(sorted(name for name in sys.modules if name.startswith("plugins.billing.")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    refusal, modules = done.stdout.splitlines()
    assert refusal == f"invoice {number}: total cannot change, the invoice is posted (issue a credit note)"
    assert "plugins.billing.invoice_states" not in modules and "plugins.billing.services_invoices" not in modules
    assert books.invoice(number).total == Decimal("120.00")


def test_numbering_is_continuous_per_year_and_follows_the_dates(books, crm):
    customer = books.customer("Durand")
    numbers = [books.confirm(day, customer) for day in ("2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02")]
    assert numbers == ["F2026-000001", "F2026-000002", "F2027-000001", "F2027-000002"]
    late = crm("invoice", "create", "--customer", "Durand", "--line", "P20:1", "--date", "2027-01-01", "--json").json
    refused = crm("invoice", "post", str(late["id"]), expect=1)
    assert "before the last F2027 invoice (2027-01-02)" in refused.stderr
    # the refused posting took no number: the next one is still 000003
    ok = crm("invoice", "create", "--customer", "Durand", "--line", "P20:1", "--date", "2027-01-03", "--post",
             "--json").json
    assert ok["number"] == "F2027-000003"


def test_credit_notes_cancel_all_or_part(books, crm):
    customer = books.customer("Durand")
    number = books.confirm("2026-01-05", customer, [("P20", "4", "100"), ("P55", "1", "10")])
    part = crm("invoice", "credit", number, "--line", "1:1", "--reason", "un article retourné", "--json").json
    assert (part["kind"], part["number"], part["total"]) == ("credit_note", "AV2026-000001", "120.00")
    invoice = crm("invoice", "show", number, "--json").json
    assert (invoice["state"], invoice["residual"]) == ("partially_paid", "370.55")
    assert "line 1: 4.000 to credit, 3.000 left" in crm("invoice", "credit", number, "--line", "1:4", expect=1).stderr
    rest = crm("invoice", "credit", number, "--json").json  # what is left: 3 x P20 and the P55 line
    assert rest["total"] == "370.55"
    assert crm("invoice", "show", number, "--json").json["state"] == "credited"
    assert "nothing left to credit" in crm("invoice", "credit", number, expect=1).stderr
    assert [r["number"] for r in crm("invoice", "list", "--credit-notes", "--json").json] == [
        "AV2026-000002", "AV2026-000001"]


def test_cancelling_an_invoiced_order_needs_a_credit_note_first(books, crm):
    customer = books.customer("Durand")
    number = books.confirm("2026-01-05", customer)
    refused = crm("order", "cancel", "SO2026-000001", expect=1)
    assert "credit it first" in refused.stderr and number in refused.stderr
    crm("invoice", "credit", number)
    crm("order", "cancel", "SO2026-000001")


def test_manual_invoice_errors_name_the_field(books, crm):
    books.customer("Durand")
    bad = crm("invoice", "create", "--customer", "Durand", "--line", "P20:-1", expect=1)
    assert "lines.0.quantity" in bad.stderr
    assert "no such payment term" in crm("invoice", "create", "--customer", "Durand", "--line", "P20:1", "--term",
                                         "99X", expect=1).stderr


def test_a_list_reads_invoices_and_their_customers_in_one_statement(books):
    """No statement per customer: the list's rows carry the customer's name from the same read."""
    from sqlalchemy import event

    from plugins.billing.services_receivables import invoice_row, list_invoices

    for name in ("Durand", "Martin", "Petit"):
        books.confirm("2026-01-05", books.customer(name))
    app = books.app("2026-01-06")
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.transaction() as session:
        event.listen(app.engine, "after_cursor_execute", seen)
        try:
            rows = [invoice_row(i, app.today) for i in list_invoices(session, today=app.today)]
        finally:
            event.remove(app.engine, "after_cursor_execute", seen)
    assert sorted(r["customer"] for r in rows) == ["Durand", "Martin", "Petit"]
    reads = [s for s in statements if "billing_invoice" in s or "core_partner" in s]
    assert len(reads) == 1 and "JOIN core_partner" in reads[0]
