"""Supplier bills: a PO partly received, bills imported as Factur-X and UBL, matched three ways.

The supplier's invoices are built with lxml as a supplier's software writes them (they pass the
EN 16931 and French CTC Schematrons: checked here, so the fixtures stay realistic).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bills_support import SELLER, blank_pdf, cii, facturx_pdf, ubl

pytestmark = pytest.mark.modules("procurement")


@pytest.fixture
def grossiste(shop, factory):
    """The PO supplier, known by its SIREN and VAT number; A ordered (45 at 2.00), then 30 received."""
    supplier = factory.partner(name=SELLER["name"] + " Lyon", siren=SELLER["siren"], vat_number=SELLER["vat"],
                               is_customer=False, is_supplier=True, email="ventes@grossiste.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"), supplier=supplier, price="2.00")
    shop.sell(("A", 25))
    return supplier


def _write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_the_supplier_fixtures_pass_both_schematrons():
    sys.path.insert(0, str(Path(__file__).parent.parent / "billing"))
    from schematron import fatal

    assert fatal(cii("F-1", [("A", "20", "2.00")])) == []


def test_bills_matched_to_the_order_and_receipts(crm, grossiste, tmp_path):
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001", "--line", "A:30")
    matching = _write(tmp_path, "f1.pdf", facturx_pdf(cii("F-1", [("A", "20", "2.00")], order="PO2026-000001")))
    out = crm("bill", "import", matching).stdout.strip()
    assert out == "bill #1 F-1 of Grossiste SA Lyon: 48.00 EUR, approved"
    shown = crm("bill", "show", "1", "--json").json
    assert (shown["source"], shown["due_date"], shown["total_untaxed"], shown["total_tax"]) == (
        "facturx", "2027-01-09", "40.00", "8.00")
    po_line = crm("po", "show", "PO2026-000001", "--json").json["lines"][0]["id"]
    assert [(line["sku"], line["quantity"], line["purchase_order_line_id"]) for line in shown["lines"]] == [
        ("A", "20.000", po_line)]

    # 10 more of the 30 received, but at 2.50 instead of 2.00: held, purchasing told
    dearer = _write(tmp_path, "f2.xml", cii("F-2", [("A", "10", "2.50")]))
    assert crm("bill", "import", dearer).stdout.strip() == (
        "bill #2 F-2 of Grossiste SA Lyon: 30.00 EUR, held — 1 difference(s)")
    assert crm("bill", "show", "2", "--json").json["differences"] == ["line 1 (A): price 2.50 billed but 2.00 ordered"]
    held = [n for n in crm("notifications", "list", "--json").json if "held" in n["subject"]]
    assert [(n["recipients"], n["subject"]) for n in held] == [
        (["buyer@shop.fr"], "Bill F-2 of Grossiste SA Lyon held: it does not match")]
    assert [b["number"] for b in crm("bill", "list", "--held", "--json").json] == ["F-2"]

    # the same invoice again: refused, nothing written
    again = crm("bill", "import", matching, expect=1)
    assert again.stderr.strip() == "error: f1.pdf: duplicate: bill F-1 of Grossiste SA Lyon is recorded already (bill #1)"

    # more than received and not billed yet: 30 received, 30 billed already
    extra = _write(tmp_path, "u0.xml", ubl("U-0", [("A", "5", "2.00")]))
    crm("bill", "import", extra)
    assert crm("bill", "show", "3", "--json").json["differences"] == [
        "line 1 (A): 5 billed but 0.000 received and not billed yet"]
    crm("bill", "dispute", "3", "--reason", "not delivered")

    # the rest received, billed in UBL: matches
    crm("po", "receive", "PO2026-000001")
    rest = _write(tmp_path, "u1.xml", ubl("U-1", [("A", "15", "2.00")]))
    assert crm("bill", "import", rest).stdout.strip() == "bill #4 U-1 of Grossiste SA Lyon: 36.00 EUR, approved"
    assert crm("bill", "show", "4", "--json").json["source"] == "ubl"

    crm("bill", "approve", "2", "--reason", "price rise agreed by phone")
    states = {b["number"]: b["state"] for b in crm("bill", "list", "--json").json}
    assert states == {"F-1": "approved", "F-2": "approved", "U-0": "disputed", "U-1": "approved"}
    assert crm("bill", "approve", "1", expect=1).stderr.strip() == (
        "error: bill 1: cannot approve a bill that is approved (only from held or disputed)")


def test_wrong_totals_are_held(crm, grossiste, tmp_path):
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001", "--line", "A:30")
    crm("bill", "import", _write(tmp_path, "f.xml", cii("F-9", [("A", "20", "2.00")], total="50.00")))
    assert crm("bill", "show", "1", "--json").json["differences"] == ["total: 50.00 on the bill but 48.00 re-computed"]


def test_bad_files_give_one_line_and_write_nothing(crm, grossiste, tmp_path):
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001", "--line", "A:30")
    good = _write(tmp_path, "good.xml", cii("F-1", [("A", "20", "2.00")]))
    stranger = dict(SELLER, siren="732829320", vat="FR44732829320", name="Inconnu SARL")
    cases = {
        _write(tmp_path, "notes.txt", b"hello"): "notes.txt: not a PDF nor an XML e-invoice",
        _write(tmp_path, "scan.pdf", blank_pdf()): (
            "scan.pdf: the PDF carries no Factur-X invoice XML (a paper bill: crm bill add)"),
        _write(tmp_path, "order.xml", b"<?xml version='1.0'?><Order xmlns='urn:x'/>"): (
            "order.xml: XML of the wrong kind (Order): expected a CII or UBL invoice"),
        _write(tmp_path, "broken.pdf", b"%PDF-1.4 garbage"): "broken.pdf: not a readable PDF",
        _write(tmp_path, "other.xml", cii("X-1", [("A", "1", "2.00")], seller=stranger)): (
            "other.xml: unknown supplier Inconnu SARL (SIREN 732829320, VAT FR44732829320): "
            "record the supplier with its SIREN first"),
    }
    for path, message in cases.items():
        refused = crm("bill", "import", good, path, expect=1)
        assert refused.stderr.strip() == f"error: {message}"
        assert crm("bill", "list", "--json").json == []
    assert crm("notifications", "list", "--json").json == [] or all(
        "Bill" not in n["subject"] for n in crm("notifications", "list", "--json").json)


def test_a_paper_bill(crm, grossiste):
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001", "--line", "A:30")
    out = crm("bill", "add", "--supplier", SELLER["siren"], "--number", "P-7", "--date", "2026-12-01",
              "--line", "A:10:2").stdout.strip()
    assert out == "bill #1 P-7 of Grossiste SA Lyon: 24.00 EUR, approved"
    assert crm("bill", "show", "1", "--json").json["due_date"] == "2026-12-31"  # bill_payment_days: 30
    bad = crm("bill", "add", "--supplier", SELLER["siren"], "--number", "P-8", "--date", "2026-12-01",
              "--line", "A:ten:2", expect=2)
    assert "expected" in bad.stderr or "numbers" in bad.stderr


def test_cash_out_in_the_plan_and_bills_in_the_report(crm, grossiste, tmp_path):
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001", "--line", "A:30")
    order = crm("po", "show", "PO2026-000001", "--json").json
    assert (order["lines"][0]["quantity"], order["lines"][0]["expected_date"]) == ("45.000", "2026-12-01")
    crm("bill", "import", _write(tmp_path, "f1.xml", cii("F-1", [("A", "20", "2.00")], due="20270109")))
    crm("bill", "import", _write(tmp_path, "f2.xml", cii("F-2", [("A", "10", "2.50")], due="20261215")))
    section = crm("plan", "--period", "2026-12", "--json").json["sections"]["cash"]
    weeks = {row["week"]: (row["flows"]["bills"], row["flows"]["orders"]) for row in section["weeks"]}
    # F-2 (30.00, held) due 15 Dec; 45 − 30 billed = 15 × 2.00 × 1.20 = 36.00 still to bill, expected on
    # 1 Dec + the supplier's term as its last bill (F-2: 10 → 15 Dec) shows it, 5 days: 6 Dec (week of
    # 30 Nov); F-1 is due in January, after the period
    assert weeks["2026-12-14"] == ("30.00", "0.00")
    assert weeks["2026-11-30"] == ("0.00", "36.00")
    assert section["after"] == {"bills": "48.00", "orders": "0.00"}
    assert [(f["key"], f["within"]) for f in section["flows"]] == [("bills", "30.00"), ("orders", "36.00")]
    assert section["opening"]["known"] is False and section["closing_balance"] == "-66.00"
    report = crm("report", "period", "--from", "2026-11-01", "--to", "2026-11-30", "--json").json["sections"]["supplier_bills"]
    assert {k: report[k] for k in ("received", "paid", "held")} == {"received": {"count": 2, "total": "78.00"}, "paid": {"count": 0, "total": "0.00"},
                      "held": {"count": 1, "total": "30.00"}}
