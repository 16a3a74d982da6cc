"""Payment runs: approved bills due paid by a pain.001 valid against its schema; the bank's debit clears them."""

from __future__ import annotations

import datetime as dt

import pytest
from bills_support import BIC, IBAN, SELLER, cii, ubl
from lxml import etree

from plugins.billing.camt_writer import camt053

pytestmark = pytest.mark.modules("billing", "procurement")

PAIN = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
XSD = "plugins/procurement/data/pain.001.001.03.xsd"


@pytest.fixture
def billed(crm, shop, factory, tmp_path):
    """A(45 ordered at 2.00) fully received; F-1 (20: 48.00) and U-1 (25: 60.00) approved, F-2 held."""
    supplier = factory.partner(name="Grossiste SA Lyon", siren=SELLER["siren"], vat_number=SELLER["vat"],
                               is_customer=False, is_supplier=True, email="ventes@grossiste.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"), supplier=supplier, price="2.00")
    shop.sell(("A", 25))
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001")
    crm.today = dt.date(2026, 12, 12)
    files = [(tmp_path / "f1.xml", cii("F-1", [("A", "20", "2.00")], due="20270105")),
             (tmp_path / "u1.xml", ubl("U-1", [("A", "25", "2.00")], due="2027-01-20")),
             (tmp_path / "f2.xml", cii("F-2", [("A", "1", "9.00")], due="20270101"))]
    for path, data in files:
        path.write_bytes(data)
    crm("bill", "import", *[str(path) for path, _ in files])
    return supplier


def test_a_payment_run_pays_the_approved_bills_due_and_the_statement_clears_them(crm, billed, tmp_path):
    crm("company", "set", "--iban", "FR76 3000 6000 0112 3456 7890 189", "--bic", "AGRIFRPP")
    crm.today = dt.date(2027, 1, 4)
    out = crm("bill", "pay", "--due-by", "2027-01-10", "-o", str(tmp_path / "pay.xml"), "--json").json
    # F-2 is held (its price), U-1 is due on the 20th: only F-1 is paid
    assert (out["run"], out["bills"], out["total"], out["numbers"]) == ("PAY-20270104-1", 1, "48.00", ["F-1"])
    document = etree.parse(str(tmp_path / "pay.xml"))
    schema = etree.XMLSchema(etree.parse(XSD))
    assert schema.validate(document), schema.error_log
    transfers = document.findall(".//p:CdtTrfTxInf", PAIN)
    assert [(t.findtext("p:Amt/p:InstdAmt", namespaces=PAIN), t.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=PAIN),
             t.findtext("p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=PAIN), t.findtext("p:RmtInf/p:Ustrd", namespaces=PAIN))
            for t in transfers] == [("48.00", IBAN, BIC, "F-1")]
    assert document.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=PAIN) == "FR7630006000011234567890189"
    assert document.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=PAIN) == "48.00"
    states = {b["number"]: b["state"] for b in crm("bill", "list", "--json").json}
    assert states == {"F-1": "paying", "U-1": "approved", "F-2": "held"}
    # a second run finds nothing more due by the 10th
    assert crm("bill", "pay", "--due-by", "2027-01-10", expect=1).stderr.strip() == (
        "error: no approved bill with an IBAN is due by 2027-01-10 (see crm bill list)")

    # the statement: our transfer debited (cleared), and an unrelated debit of the same amount (kept)
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([
        {"direction": "debit", "amount": "48.00", "date": "2027-01-05", "name": "GROSSISTE SA", "iban": IBAN,
         "text": "F-1", "ref": "BQ-1"},
        {"direction": "debit", "amount": "48.00", "date": "2027-01-05", "name": "EDF", "text": "FACTURE 7",
         "ref": "BQ-2"}]))
    crm.today = dt.date(2027, 1, 6)
    assert crm("payment", "import", str(statement), "--json").json["debits"] == 2
    paid = crm("bill", "show", "1", "--json").json
    assert (paid["state"], paid["paid_on"], paid["payment_run"]) == ("paid", "2027-01-05", "PAY-20270104-1")
    assert {b["number"]: b["state"] for b in crm("bill", "list", "--json").json}["U-1"] == "approved"


def test_a_bill_with_a_bad_iban_is_refused(crm, billed, tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(cii("F-3", [("A", "1", "2.00")], iban="FR7610096000301234567890113"))
    refused = crm("bill", "import", str(path), expect=1)
    assert refused.stderr.strip() == "error: bad.xml: IBAN FR7610096000301234567890113: not a valid IBAN"
