"""What an import refuses, in one line and writing nothing: duplicates (recorded already, or twice in the
same import), XML the syntax's XSD refuses, and — with ``[procurement] bills_schematron = true`` — an
invoice breaking a fatal EN 16931 rule (CII and UBL each have their Schematron)."""

from __future__ import annotations

import pytest
from bills_support import SELLER, cii, facturx_pdf, ubl

pytestmark = pytest.mark.modules("procurement")


@pytest.fixture
def received(shop, factory, crm):
    """The supplier known by SIREN; 45 A ordered at 2.00, all received."""
    supplier = factory.partner(name="Grossiste SA Lyon", siren=SELLER["siren"], vat_number=SELLER["vat"],
                               is_customer=False, is_supplier=True, email="ventes@grossiste.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"), supplier=supplier, price="2.00")
    shop.sell(("A", 25))
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001")
    return supplier


def _write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _nothing_more_written(crm, numbers):
    assert [b["number"] for b in crm("bill", "list", "--json").json] == numbers
    assert [n for n in crm("notifications", "list", "--json").json if "Bill" in n["subject"]] == []


def test_duplicates_refuse_the_whole_import(crm, received, tmp_path):
    crm("bill", "import", _write(tmp_path, "f1.pdf", facturx_pdf(cii("F-1", [("A", "10", "2.00")]))))
    fresh = _write(tmp_path, "f2.xml", cii("F-2", [("A", "5", "2.00")]))
    again = _write(tmp_path, "f1-again.xml", cii("F-1", [("A", "10", "2.00")]))
    refused = crm("bill", "import", fresh, again, expect=1)
    assert refused.stderr.strip() == (
        "error: f1-again.xml: duplicate: bill F-1 of Grossiste SA Lyon is recorded already (bill #1)")
    _nothing_more_written(crm, ["F-1"])

    # the same bill twice in one import: neither is written
    copy = _write(tmp_path, "f2-copy.xml", cii("F-2", [("A", "5", "2.00")]))
    refused = crm("bill", "import", fresh, copy, expect=1)
    assert refused.stderr.strip() == "error: f2-copy.xml: duplicate: bill F-2 of Grossiste SA Lyon is also in f2.xml"
    _nothing_more_written(crm, ["F-1"])
    # the same number in UBL, same supplier: still the same bill
    refused = crm("bill", "import", _write(tmp_path, "u.xml", ubl("F-1", [("A", "10", "2.00")])), expect=1)
    assert "duplicate: bill F-1 of Grossiste SA Lyon is recorded already" in refused.stderr
    _nothing_more_written(crm, ["F-1"])


def test_xml_the_schema_refuses(crm, received, tmp_path):
    good = _write(tmp_path, "good.xml", cii("F-1", [("A", "10", "2.00")]))
    bad_cii = cii("F-9", [("A", "1", "2.00")]).replace(b"<ram:TypeCode>380</ram:TypeCode>",
                                                         b"<ram:TypeCode>380</ram:TypeCode><ram:Oops>1</ram:Oops>")
    refused = crm("bill", "import", good, _write(tmp_path, "bad.xml", bad_cii), expect=1)
    message = refused.stderr.strip()
    assert message.startswith("error: bad.xml: the invoice XML is not valid against the EN 16931 schema: line ")
    assert "Oops" in message and "\n" not in message
    bad_ubl = ubl("U-9", [("A", "1", "2.00")]).replace(b"<cbc:IssueDate>2026-12-10</cbc:IssueDate>",
                                                        b"<cbc:IssueDate>10/12/2026</cbc:IssueDate>")
    refused = crm("bill", "import", good, _write(tmp_path, "bad-ubl.xml", bad_ubl), expect=1)
    message = refused.stderr.strip()
    assert message.startswith("error: bad-ubl.xml: the invoice XML is not valid against the UBL 2.1 schema: line ")
    assert "IssueDate" in message and "\n" not in message
    _nothing_more_written(crm, [])


def test_the_en16931_schematron_when_asked(crm, received, tmp_path):
    # a seller VAT number without its country prefix breaks BR-CO-09 (fatal), but the XSD accepts it
    unprefixed = dict(SELLER, vat=SELLER["vat"][2:])
    broken = _write(tmp_path, "no-prefix.pdf", facturx_pdf(cii("F-7", [("A", "1", "2.00")], seller=unprefixed)))
    broken_ubl = _write(tmp_path, "no-prefix-ubl.xml", ubl("U-7", [("A", "1", "2.00")], seller=unprefixed))
    good = _write(tmp_path, "good.xml", cii("F-1", [("A", "10", "2.00")]))
    good_ubl = _write(tmp_path, "good-ubl.xml", ubl("U-1", [("A", "5", "2.00")]))

    # off (the default): the XSD only, the bill is recorded
    assert crm("bill", "import", broken).stdout.strip().startswith("bill #1 F-7 of Grossiste SA Lyon")

    crm("config", "set", "procurement.bills_schematron", "true")
    for path, name in ((broken, "no-prefix.pdf"), (broken_ubl, "no-prefix-ubl.xml")):
        refused = crm("bill", "import", good, path, expect=1)
        message = refused.stderr.strip()
        assert message.startswith(f"error: {name}: breaks EN 16931 rule BR-CO-09: The Seller VAT identifier (BT-31)")
        assert "\n" not in message
        _nothing_more_written(crm, ["F-7"])
    # warnings pass: the good CII and UBL invoices carry some (no delivery date...) and are recorded
    out = crm("bill", "import", good, good_ubl).stdout.strip().splitlines()
    assert out == ["bill #2 F-1 of Grossiste SA Lyon: 24.00 EUR, approved",
                   "bill #3 U-1 of Grossiste SA Lyon: 12.00 EUR, approved"]
