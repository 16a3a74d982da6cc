"""Every kind of Factur-X we produce passes the official EN 16931 and French CTC Schematrons (0 fatal).

The French e-invoicing platforms run both rule sets; an invoice failing a fatal rule is refused.
The documents: an invoice (goods), a service invoice (S1), a mixed one (M1), several VAT rates
with a zero rate, instalments, an early-payment discount, a delivery elsewhere, the option for
VAT on debits, a credit note for the whole invoice and one for a part of it.
"""

from __future__ import annotations

import facturx
import pytest
from billing_support import written
from lxml import etree
from schematron import SCHEMATRONS, fatal, failed_assertions

pytestmark = pytest.mark.modules("billing")

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def _xml(crm, number, tmp_path) -> bytes:
    _, xml = facturx.get_xml_from_pdf(written(crm("invoice", "facturx", number, "--output", str(tmp_path))).read_bytes(),
                                      check_xsd=True)
    return xml


def _value(xml: bytes, path: str) -> list[str]:
    tree = etree.fromstring(xml)
    return [element.text if isinstance(element, etree._Element) else str(element)
            for element in tree.xpath(path, namespaces=NS)]


@pytest.fixture
def durand(books):
    from core.services.catalog import create_product

    with books.tx() as session:
        create_product(session, {"sku": "CONSEIL", "name": "Conseil (heure)", "list_price": "90", "kind": "service",
                                 "unit": "hour"})
        create_product(session, {"sku": "P0", "name": "Livre export", "list_price": "30", "vat_rate": "0"})
    return books.customer("Durand SA", siren="552081317", vat_number="FR03552081317", street="1 rue de la Paix",
                          postal_code="75002", city="Paris")


def test_the_checker_is_not_vacuous():
    """An XML without BT-23 and the electronic addresses fails the French rules, fatally."""
    bare = (b'<?xml version="1.0" encoding="UTF-8"?><rsm:CrossIndustryInvoice '
            b'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>')
    failures = fatal(bare)
    assert any("BR-FR-12" in line for line in failures) and any("EN 16931: BR-01" in line for line in failures)
    assert set(SCHEMATRONS) == {"EN 16931", "FR CTC"}


@pytest.mark.parametrize("case", ["goods", "services", "mixed", "multi_rate", "instalments", "discount",
                                  "delivery_elsewhere", "vat_on_debits", "credit_note", "partial_credit"])
def test_every_kind_of_document_passes_both_schematrons(books, crm, durand, tmp_path, case):
    process = {"services": "S1", "mixed": "M1"}.get(case, "B1")
    lines = {"services": [("CONSEIL", "3", "90")], "mixed": [("P20", "2", "50"), ("CONSEIL", "1", "90")],
             "multi_rate": [("P20", "3", "33.33"), ("P55", "1", "10.05"), ("P10", "2", "0.125"), ("P21", "1", "19.99"),
                            ("P0", "2", "30")]}.get(case, [("P20", "2", "50"), ("P55", "1", "10")])
    order = {}
    if case == "instalments":
        crm("term", "create", "3X", "--instalment", "40:days:30", "--instalment", "30:days:45",
            "--instalment", "days_end_of_month:45")
        crm("term", "assign", "Durand SA", "3X")
    if case == "discount":
        crm("term", "create", "ESC2", "--name", "30 jours, escompte 2 %", "--instalment", "days:30",
            "--discount", "2", "--discount-days", "10")
        crm("term", "assign", "Durand SA", "ESC2")
    if case == "delivery_elsewhere":
        order = {"delivery_street": "Rue Neuve 1", "delivery_postal_code": "1000", "delivery_city": "Bruxelles",
                 "delivery_country": "BE"}
    if case == "vat_on_debits":
        crm("company", "set", "--vat-on-debits")
    number = books.confirm("2026-01-31", durand, lines, **order)
    if case in ("credit_note", "partial_credit"):
        args = ["--line", "1:1"] if case == "partial_credit" else []
        number = crm("invoice", "credit", number, *args, "--json").json["number"]
    xml = _xml(crm, number, tmp_path)
    assert fatal(xml) == []
    assert _value(xml, "//rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") \
        == [process]
    assert _value(xml, "//ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID") == ["732829320"]
    assert _value(xml, "//ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["0225"]
    assert _value(xml, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID") == ["552081317"]
    assert _value(xml, "//ram:SellerTradeParty/ram:Description") == \
        ["SAS au capital de 50\u202f000,00\u00a0€ — RCS Lyon 732 829 320"]
    if case == "vat_on_debits":
        assert set(_value(xml, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:DueDateTypeCode")) \
            == {"5"}
    if case == "delivery_elsewhere":
        assert _value(xml, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CityName") == ["Bruxelles"]
    if case == "partial_credit":
        assert _value(xml, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]


def test_an_invoice_missing_the_french_mentions_would_fail(books, crm, durand, tmp_path):
    """What the French rules check is what we add: without the electronic addresses the same invoice fails."""
    number = books.confirm("2026-01-31", durand)
    tree = etree.fromstring(_xml(crm, number, tmp_path))
    for element in tree.xpath("//ram:URIUniversalCommunication", namespaces=NS):
        element.getparent().remove(element)
    ids = {item["id"] for item in failed_assertions(etree.tostring(tree), "FR CTC") if item["flag"] != "warning"}
    assert {"BR-FR-12_BT-49", "BR-FR-13_BT-34"} <= ids


def test_a_consumer_invoice_passes_too_addressed_by_e_mail(books, crm, durand, tmp_path):
    jean = books.customer("Jean Dupont", kind="person", email="jean.dupont@exemple.fr")
    xml = _xml(crm, books.confirm("2026-01-31", jean), tmp_path)
    assert fatal(xml) == []
    assert _value(xml, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID") == ["jean.dupont@exemple.fr"]
    assert _value(xml, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["EM"]


def test_an_intra_eu_business_invoice_passes_too(books, crm, durand, tmp_path):
    brussels = books.customer("Brussels Trading SA", country="BE", vat_number="BE0403019261",
                              street="Rue Neuve 1", postal_code="1000", city="Bruxelles")
    xml = _xml(crm, books.confirm("2026-01-31", brussels), tmp_path)
    assert fatal(xml) == []
    assert _value(xml, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["BE0403019261"]
