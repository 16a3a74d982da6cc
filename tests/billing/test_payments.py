"""Payments: partial and full, by reference or oldest first, overpayment kept as credit, the CSV
import; clearing an invoice closes its reminder case and tells collections in the same transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.modules("billing")


def test_partial_then_full_payment(books, crm):
    customer = books.customer("Durand")
    number = books.confirm("2026-01-05", customer)  # 120.00 incl. VAT
    assert books.pay("2026-01-20", "50.00", customer=str(customer)) == (Decimal("0.00"), [(number, "50.00",
                                                                                          "partially_paid")])
    assert books.invoice(number).residual == Decimal("70.00")
    assert books.pay("2026-01-25", "70.00", customer=str(customer)) == (Decimal("0.00"), [(number, "70.00", "paid")])


def test_payment_goes_to_the_referenced_invoice_else_oldest_due_first(books, crm):
    customer = books.customer("Durand")
    first = books.confirm("2026-01-05", customer)
    second = books.confirm("2026-01-10", customer)
    third = books.confirm("2026-01-15", customer)
    # the bank reference names the third invoice: it is paid first, whatever its age
    assert books.pay("2026-02-01", "120.00", reference=f"VIR SEPA FACT {third}")[1] == [(third, "120.00", "paid")]
    # no reference: oldest due first, spilling over to the next one
    assert books.pay("2026-02-02", "150.00", customer="Durand")[1] == [(first, "120.00", "paid"),
                                                                       (second, "30.00", "partially_paid")]


def test_overpayment_is_kept_as_credit_and_used_later(books, crm):
    customer = books.customer("Durand")
    first = books.confirm("2026-01-05", customer)
    added = crm("payment", "add", "--amount", "200", "--invoice", first, "--date", "2026-01-10", "--json").json
    assert added["unallocated"] == "80.00" and added["allocations"][0]["state"] == "paid"
    second = books.confirm("2026-01-12", customer)
    used = crm("payment", "allocate", str(added["id"]), "--json").json
    assert used["allocations"] == [{"invoice": second, "amount": "80.00", "state": "partially_paid",
                                    "residual": "40.00"}]
    assert used["unallocated"] == "0.00"
    assert "nothing left to allocate" in crm("payment", "allocate", str(added["id"]), expect=1).stderr


def test_paying_a_paid_invoice_by_name_is_refused(books, crm):
    customer = books.customer("Durand")
    number = books.confirm("2026-01-05", customer)
    crm("payment", "add", "--amount", "120", "--invoice", number)
    refused = crm("payment", "add", "--amount", "10", "--invoice", number, expect=1)
    assert f"invoice {number} is paid" in refused.stderr
    assert crm("payment", "list", "--json").json[0]["amount"] == "120.00"  # nothing half-written


def test_clearing_an_invoice_closes_its_case_and_tells_collections(books, crm):
    customer = books.customer("Durand")
    number = books.confirm("2026-01-05", customer)  # due 2026-02-04
    books.run("2026-02-08")  # level 1
    books.pay("2026-02-09", "20.00", customer=str(customer))
    assert books.sql("SELECT closed_on FROM billing_reminder_case") == [(None,)]
    books.pay("2026-02-10", "100.00", customer=str(customer))
    assert [str(d)[:10] for (d,) in books.sql("SELECT closed_on FROM billing_reminder_case")] == ["2026-02-10"]
    ((recipients, subject, _, body),) = books.messages("billing:case-closed:%")
    assert recipients == ["cora@acme.fr", "bob@acme.fr"] and number in subject and "entièrement payée" in body
    assert crm("reminders", "list", "--json").json == []


def test_a_failing_payment_rolls_back_the_case_closing(books, monkeypatch):
    """Same transaction: if anything after the allocation fails, the case stays open, no message."""
    customer = books.customer("Durand")
    books.confirm("2026-01-05", customer)
    books.run("2026-02-08")
    from plugins.billing import services_payments

    original = services_payments.spread

    def spread_then_fail(*args, **kwargs):
        original(*args, **kwargs)  # the invoice is paid and its case closed in this transaction...
        raise RuntimeError("disk full")  # ...then the command fails

    monkeypatch.setattr(services_payments, "spread", spread_then_fail)
    with pytest.raises(RuntimeError):
        books.pay("2026-02-10", "120.00", customer=str(customer))
    assert books.sql("SELECT closed_on FROM billing_reminder_case") == [(None,)]
    assert books.messages("billing:case-closed:%") == []
    assert books.sql("SELECT COUNT(*) FROM billing_payment") == [(0,)]


def test_payment_import_validates_every_row_and_skips_lines_already_imported(books, crm, tmp_path):
    customer = books.customer("Durand")
    first = books.confirm("2026-01-05", customer)
    second = books.confirm("2026-01-06", customer)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"date;amount;reference\n2026-02-01;120,00;VIR {first}\n2026-02-01;12.5.0;VIR {second}\n"
                   f"2026-02-31;10;VIR {second}\n", encoding="utf-8")
    refused = crm("payment", "import", str(bad), expect=1)
    assert "line 3: amount" in refused.stderr and "nothing was imported" in refused.stderr
    assert "line 4: date" in refused.stderr
    assert crm("payment", "list", "--json").json == []
    good = tmp_path / "bank.csv"
    good.write_text(f"date;amount;reference;method\n2026-02-01;120,00;VIR {first};transfer\n"
                    f"2026-02-02;60.00;VIR {second};transfer\n", encoding="utf-8")
    assert crm("payment", "import", str(good), "--json").json["created"] == 2
    assert crm("invoice", "show", first, "--json").json["state"] == "paid"
    assert crm("invoice", "show", second, "--json").json["residual"] == "60.00"
    again = crm("import", "payments", str(good), "--json").json
    assert (again["created"], again["skipped"]) == (0, 2)
    orphan = tmp_path / "orphan.csv"
    orphan.write_text("date,amount,reference\n2026-02-03,10,VIR SANS FACTURE\n", encoding="utf-8")
    assert "line 2: customer" in crm("payment", "import", str(orphan), expect=1).stderr
