"""The plan's cash section: receivables by each customer's own payment delay, bills, orders to be billed,
and the balance week by week from the last bank statement — every figure worked by hand.

Today is Monday 30 November 2026; the plan is for December 2026 (weeks of 30 Nov, 7, 14, 21, 28 Dec).
Each invoice is an order of service S20 (100.00 + 20 % VAT = 120.00 each, not stocked) on the term 30J.

Receivables (billing):

- Alpha paid A1 (120.00, due 1 Oct) on 11 Oct: 10 days late, and A2 (360.00, due 10 Oct) on 30 Oct:
  20 days late. Its delay weighted by amount: (120 × 10 + 360 × 20) / 480 = 17.5 → 18 days (an
  unweighted average would say 15). Open: A3 (120.00, due 5 Dec) expected 23 Dec (week of 21 Dec;
  with 15 days it would be 20 Dec, the week before).
- Beta paid B1 (240.00, due 2 Sep) on 28 Aug: 5 days early, delay −5. Open: B2 (120.00, due 10 Dec)
  expected 5 Dec (week of 30 Nov).
- Gamma has no paid invoice: its delay is unknown, its invoice is expected on its due date. G1
  (120.00, due 31 Oct) has 20.00 paid: 100.00 overdue, expected today, 30 Nov, the day before the
  period: the ``before`` row.

Payables (procurement), supplier Grossiste: order PO2026-000001 of 45 W1 at 2.00 (VAT 20 %),
confirmed today (expected 3 Dec: lead time 3 days), 30 received today.

- Bill P-2 (5 W1 at 2.50, dated 30 Nov, due 1 Dec): the price is above the order's, held:
  12.50 + 2.50 VAT = 15.00 due 1 Dec (week of 30 Nov).
- Bill P-1 (20 W1 at 2.00, dated 30 Nov, due 15 Dec): approved, 48.00 due 15 Dec (week of 14 Dec).
  The supplier's term, from its last bill: 15 Dec − 30 Nov = 15 days.
- Still to bill: 45 − 25 billed. Received and not billed: 30 − 25 = 5 × 2.40 = 12.00, on 30 Nov + 15
  = 15 Dec; not received: 45 − 30 = 15 × 2.40 = 36.00, on 3 Dec + 15 = 18 Dec: 48.00 in the week of 14 Dec.

Bank: statement STMT-1 closes at 800.00 on 20 Nov, STMT-2 at 1,000.00 on 27 Nov: the opening balance
is 1,000.00 (the latest). Balance at the start of the period: 1,000.00 + 100.00 = 1,100.00.

========  ===========  ======  ======  ======  ========
week      receivables  bills   orders  net     balance
========  ===========  ======  ======  ======  ========
30 Nov    120.00       15.00   0.00    105.00  1205.00
7 Dec     0.00         0.00    0.00    0.00    1205.00
14 Dec    0.00         48.00   48.00   -96.00  1109.00
21 Dec    120.00       0.00    0.00    120.00  1229.00
28 Dec    0.00         0.00    0.00    0.00    1229.00
========  ===========  ======  ======  ======  ========
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "billing"))
from billing_support import Books  # noqa: E402

from core.testing import CrmRunner  # noqa: E402

pytestmark = pytest.mark.modules("billing", "procurement")

TODAY = dt.date(2026, 11, 30)
ONE = (("S20", "1", "100"),)


@pytest.fixture
def app_today():
    return TODAY


@pytest.fixture
def books(workspace):
    found = Books(workspace).setup()
    yield found
    found.close()


def _receivables(books):
    from core.services.catalog import create_product

    with books.tx() as session:
        create_product(session, {"sku": "S20", "name": "Conseil", "list_price": "100", "vat_rate": "20",
                                 "stockable": False, "kind": "service"})
    alpha = books.customer("Alpha", term="30J")
    beta = books.customer("Beta", term="30J")
    gamma = books.customer("Gamma", term="30J")
    b1 = books.confirm("2026-08-03", beta, lines=(("S20", "2", "100"),))  # invoices are numbered in date order
    books.pay("2026-08-28", "240.00", invoice=b1)
    a1 = books.confirm("2026-09-01", alpha, lines=ONE)
    a2 = books.confirm("2026-09-10", alpha, lines=(("S20", "3", "100"),))
    g1 = books.confirm("2026-10-01", gamma, lines=ONE)
    books.pay("2026-10-11", "120.00", invoice=a1)
    books.pay("2026-10-30", "360.00", invoice=a2)
    books.confirm("2026-11-05", alpha, lines=ONE)
    books.confirm("2026-11-10", beta, lines=ONE)
    books.pay("2026-11-15", "20.00", invoice=g1)


def _payables(shop, factory, crm):
    supplier = factory.partner(name="Grossiste", siren="552081317", is_customer=False, is_supplier=True,
                               email="ventes@grossiste.fr")
    shop.product("W1", stock="5", rule=("10", "50", "1"), supplier=supplier, price="2.00")
    shop.run()
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001", "--line", "W1:30")
    assert crm("bill", "add", "--supplier", "552081317", "--number", "P-2", "--date", "2026-11-30", "--due",
               "2026-12-01", "--line", "W1:5:2.50").stdout.strip() == (
        "bill #1 P-2 of Grossiste: 15.00 EUR, held — 1 difference(s)")
    assert crm("bill", "add", "--supplier", "552081317", "--number", "P-1", "--date", "2026-11-30", "--due",
               "2026-12-15", "--line", "W1:20:2").stdout.strip() == (
        "bill #2 P-1 of Grossiste: 48.00 EUR, approved")


def _statements(crm, tmp_path):
    from plugins.billing.camt_writer import camt053

    fee = {"amount": "5.00", "date": "2026-11-20", "direction": "debit", "ref": "FEE-1", "text": "frais"}
    for name, closing, created in (("STMT-2", "1000.00", "2026-11-27T18:00:00"),
                                   ("STMT-1", "800.00", "2026-11-20T18:00:00")):
        path = tmp_path / f"{name}.xml"
        path.write_bytes(camt053([dict(fee, ref=f"FEE-{name}")], statement_id=name, created=created, closing=closing))
        crm("payment", "import", str(path))


def test_the_cash_plan_week_by_week(books, shop, factory, crm, tmp_path):
    _receivables(books)
    _payables(shop, factory, crm)
    assert crm("po", "show", "PO2026-000001", "--json").json["lines"][0]["expected_date"] == "2026-12-03"
    before = crm("plan", "--period", "2026-12", "--json").json["sections"]["cash"]
    assert before["opening"] == {"known": False, "amount": "0.00", "as_of": None, "sources": []}
    assert before["note"].startswith("opening balance unknown")
    _statements(crm, tmp_path)

    plan = crm("plan", "--period", "2026-12", "--json").json["sections"]
    cash = plan["cash"]
    assert cash["opening"]["known"] is True
    assert (cash["opening"]["amount"], cash["opening"]["as_of"]) == ("1000.00", "2026-11-27")
    assert cash["before"] == {"receivables": "100.00", "bills": "0.00", "orders": "0.00"}
    assert cash["start_balance"] == "1100.00"
    assert [(w["week"], w["flows"]["receivables"], w["flows"]["bills"], w["flows"]["orders"], w["net"], w["balance"])
            for w in cash["weeks"]] == [
        ("2026-11-30", "120.00", "15.00", "0.00", "105.00", "1205.00"),
        ("2026-12-07", "0.00", "0.00", "0.00", "0.00", "1205.00"),
        ("2026-12-14", "0.00", "48.00", "48.00", "-96.00", "1109.00"),
        ("2026-12-21", "120.00", "0.00", "0.00", "120.00", "1229.00"),
        ("2026-12-28", "0.00", "0.00", "0.00", "0.00", "1229.00")]
    assert cash["closing_balance"] == "1229.00"
    assert (cash["lowest"]["week"], cash["lowest"]["balance"]) == ("2026-12-14", "1109.00")
    assert cash["after"] == {"receivables": "0.00", "bills": "0.00", "orders": "0.00"}
    assert [(f["key"], f["direction"], f["within"]) for f in cash["flows"]] == [
        ("receivables", "in", "240.00"), ("bills", "out", "63.00"), ("orders", "out", "48.00")]

    # billing's own section says the same delays: Alpha 18 days (weighted), Beta −5, Gamma none
    delays = {c["customer"]: c["average_delay_days"] for c in plan["billing"]["customers"]}
    assert delays == {"Alpha": 18, "Beta": -5, "Gamma": None}

    out = crm("plan", "--period", "2026-12", "--html", str(tmp_path / "plan.html")).stdout
    assert [" ".join(line.split()) for line in out.split("\nCash plan\n")[1].split("\n\n")[0].splitlines()] == [
        "opening balance 1000.00 EUR on 2026-11-27",
        "expected before the period 100.00 EUR",
        "in: receivables expected 240.00 EUR",
        "out: supplier bills to pay 63.00 EUR",
        "out: purchase orders to be billed 48.00 EUR",
        "balance at the end 1229.00 EUR",
        "lowest balance 1109.00 EUR (W51)"]
    page = " ".join((tmp_path / "plan.html").read_text(encoding="utf-8").replace("\u202f", " ").replace(
        "\xa0", " ").split())
    assert "<h2>Plan de trésorerie</h2>" in page
    assert ("<tr><td>W51 (14/12/2026)</td> <td class=\"amount\">0,00 €</td><td class=\"amount\">48,00 €</td>"
            "<td class=\"amount\">48,00 €</td><td class=\"amount\">-96,00 €</td><td class=\"amount\">1 109,00 €</td>"
            "</tr>") in page


def test_an_overdrawn_account_opens_below_zero_and_each_account_counts(crm, tmp_path):
    """A DBIT closing balance is negative; two accounts: their latest balances add up, as of the older day."""
    from plugins.billing.camt_writer import camt053

    statements = (("A-1", "FR7630006000011234567890189", "-250.00", "2026-11-26T18:00:00"),
                  ("B-1", "FR7610096000301234567890113", "400.00", "2026-11-20T18:00:00"),
                  ("B-0", "FR7610096000301234567890113", "900.00", "2026-11-13T18:00:00"))
    for name, iban, closing, created in statements:
        path = tmp_path / f"{name}.xml"
        entry = {"amount": "1.00", "date": created[:10], "direction": "debit", "ref": f"FEE-{name}", "text": "frais"}
        path.write_bytes(camt053([entry], statement_id=name, iban=iban, created=created, closing=closing))
        crm("payment", "import", str(path))
    cash = crm("plan", "--period", "2026-12", "--json").json["sections"]["cash"]
    assert cash["opening"] == {"known": True, "amount": "150.00", "as_of": "2026-11-20", "sources": [
        "statement of FR7610096000301234567890113 on 2026-11-20", "statement of FR7630006000011234567890189 on 2026-11-26"]}
    assert [w["balance"] for w in cash["weeks"]] == ["150.00"] * 5
