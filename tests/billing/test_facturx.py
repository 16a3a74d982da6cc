"""Factur-X: the EN 16931 XML embedded in a PDF/A-3, read back and checked against the invoice."""

from __future__ import annotations

from decimal import Decimal

import facturx
import pytest
from billing_support import deliver, set_billing_config, written
from lxml import etree

from core.errors import CrmError

pytestmark = pytest.mark.modules("billing")

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}


def _extract(path) -> tuple[str, etree._Element]:
    """The XML the PDF carries, validated against the official schema on the way out."""
    filename, xml = facturx.get_xml_from_pdf(path.read_bytes(), check_xsd=True)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return filename, etree.fromstring(xml)


def _all(tree, path) -> list[str]:
    return [element.text for element in tree.xpath(path, namespaces=NS)]


def _one(tree, path) -> str:
    (found,) = _all(tree, path)
    return found


def _customer(books):
    return books.customer("Durand SA", siren="552081317", vat_number="FR03552081317", street="1 rue de la Paix",
                          postal_code="75002", city="Paris")


def test_the_facturx_pdf_carries_the_invoice_figures(books, crm, workspace, tmp_path):
    from pypdf import PdfReader

    set_billing_config(workspace, 'iban = "FR76 3000 6000 0112 3456 7890 189"\nbic = "AGRIFRPP"')
    number = books.confirm("2026-01-31", _customer(books), [("P20", "3", "33.33"), ("P55", "1", "10.05"),
                                                            ("P10", "2", "0.125"), ("P21", "1", "19.99")])
    deliver(books, "2026-02-02", number)
    data = crm("invoice", "show", number, "--json").json
    path = written(crm("invoice", "facturx", number, "--output", str(tmp_path)))
    assert path.name == "facture-F2026-000001-facturx.pdf"
    filename, tree = _extract(path)
    assert filename == "factur-x.xml"
    header = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    assert _one(tree, "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") \
        == "urn:cen.eu:en16931:2017"
    assert _one(tree, "rsm:ExchangedDocument/ram:ID") == number
    assert _one(tree, "rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert _one(tree, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == "20260131"
    # parties: SIREN as legal registration (scheme 0002), VAT numbers as tax registrations
    assert _one(tree, f"{agreement}/ram:SellerTradeParty/ram:Name") == "Entonnoir Test SAS"
    assert _one(tree, f"{agreement}/ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") \
        == "732829320"
    assert _one(tree, f"{agreement}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") \
        == "FR44732829320"
    assert _one(tree, f"{agreement}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") \
        == "552081317"
    assert _one(tree, f"{agreement}/ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "FR03552081317"
    assert _one(tree, f"{agreement}/ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CityName") == "Paris"
    # lines: amount and VAT rate of each, as invoiced
    items = tree.xpath("rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    lines = [(_one(i, "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/"
                      "ram:LineTotalAmount"),
              _one(i, "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent"),
              _one(i, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"))
             for i in items]
    assert lines == [(l["subtotal"], l["vat_rate"], l["quantity"]) for l in data["lines"]]
    assert _one(items[2], "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount") == "0.1250"
    # VAT breakdown per rate, standard category
    taxes = tree.xpath(f"{header}/ram:ApplicableTradeTax", namespaces=NS)
    assert [{"rate": _one(t, "ram:RateApplicablePercent"), "base": _one(t, "ram:BasisAmount"),
             "tax": _one(t, "ram:CalculatedAmount")} for t in taxes] == data["vat"]
    assert {_one(t, "ram:CategoryCode") for t in taxes} == {"S"}
    # totals, due date, terms, bank details
    totals = f"{header}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert _one(tree, f"{totals}/ram:LineTotalAmount") == _one(tree, f"{totals}/ram:TaxBasisTotalAmount") \
        == data["total_untaxed"] == "130.28"
    assert _one(tree, f"{totals}/ram:TaxTotalAmount[@currencyID='EUR']") == data["total_tax"] == "21.00"
    assert _one(tree, f"{totals}/ram:GrandTotalAmount") == _one(tree, f"{totals}/ram:DuePayableAmount") \
        == data["total"] == "151.28"
    assert sum(Decimal(line) for line, _, _ in lines) == Decimal(data["total_untaxed"])
    assert _one(tree, f"{header}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") \
        == data["due_date"].replace("-", "") == "20260302"
    assert _one(tree, f"{header}/ram:SpecifiedTradePaymentTerms/ram:Description").startswith("30 jours")
    assert _one(tree, f"{header}/ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount/"
                      "ram:IBANID") == "FR7630006000011234567890189"
    assert _one(tree, "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeDelivery/"
                      "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString") == "20260202"
    # the French legal notes: penalties, the 40 € indemnity, the (absent) early-payment discount
    notes = dict(zip(_all(tree, "rsm:ExchangedDocument/ram:IncludedNote/ram:SubjectCode"),
                     _all(tree, "rsm:ExchangedDocument/ram:IncludedNote/ram:Content")))
    assert "12,15" in notes["PMD"] and "40,00" in notes["PMT"] and notes["AAB"] == "Pas d'escompte pour paiement anticipé"
    # an archivable PDF/A-3 whose pages are the printed invoice
    reader = PdfReader(str(path))
    xmp = reader.xmp_metadata.stream.get_data().decode()
    assert 'pdfaid:part="3"' in xmp or "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "EN 16931" in xmp
    assert "Facture N° F2026-000001" in " ".join(reader.pages[0].extract_text().split())


def test_the_pdf_declares_its_xml_as_factur_x_requires(books, crm, tmp_path):
    """Factur-X 1.0, 6.2: the XML is an associated file of the document (relationship Data, MIME
    text/xml) listed once, and the XMP packet declares the fx: properties with their PDF/A schema."""
    from lxml import etree as xml_tree
    from pypdf import PdfReader

    number = books.confirm("2026-01-31", _customer(books), [("P20", "1", "100")])
    reader = PdfReader(str(written(crm("invoice", "facturx", number, "--output", str(tmp_path)))))
    catalog = reader.trailer["/Root"]
    (associated,) = catalog["/AF"]
    spec = associated.get_object()
    assert (spec["/F"], spec["/UF"], spec["/AFRelationship"]) == ("factur-x.xml", "factur-x.xml", "/Data")
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"
    assert list(catalog["/Names"]["/EmbeddedFiles"]["/Names"])[0] == "factur-x.xml"
    assert catalog["/Lang"] == "fr-FR"
    packet = reader.xmp_metadata.stream.get_data()
    fx = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
    values = {element.tag.split("}")[1]: element.text
              for element in xml_tree.fromstring(packet).iter(f"{{{fx}}}*")}
    assert values == {"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml", "Version": "1.0",
                      "ConformanceLevel": "EN 16931"}
    schemas = xml_tree.fromstring(packet).iter("{http://www.aiim.org/pdfa/ns/schema#}namespaceURI")
    assert [element.text for element in schemas] == [fx]
    assert reader.metadata["/Keywords"] == "Factur-X, EN 16931" and reader.metadata["/Title"].endswith(number)


def test_a_credit_note_is_type_381_and_references_its_invoice(books, crm, tmp_path):
    number = books.confirm("2026-01-31", _customer(books), [("P20", "2", "50"), ("P55", "1", "10")])
    credit = crm("invoice", "credit", number, "--line", "1:1", "--json").json
    _, tree = _extract(written(crm("invoice", "facturx", credit["number"], "--output", str(tmp_path))))
    assert _one(tree, "rsm:ExchangedDocument/ram:TypeCode") == "381"
    referenced = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument"
    assert _one(tree, f"{referenced}/ram:IssuerAssignedID") == number
    assert _one(tree, f"{referenced}/ram:FormattedIssueDateTime/qdt:DateTimeString") == "20260131"
    assert _all(tree, "//ram:GrandTotalAmount") == [credit["total"]] == ["60.00"]


def test_discounts_and_a_zero_rate_stay_valid(books, crm, tmp_path):
    from core.services.catalog import create_product

    with books.tx() as session:
        create_product(session, {"sku": "P0", "name": "Livre export", "list_price": "30", "vat_rate": "0"})
    _customer(books)
    created = crm("invoice", "create", "--customer", "Durand SA", "--line", "P20:3:19.99:10", "--line", "P0:2",
                  "--post", "--json").json
    _, tree = _extract(written(crm("invoice", "facturx", created["number"], "--output", str(tmp_path))))
    taxes = tree.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    assert [(_one(t, "ram:CategoryCode"), _one(t, "ram:BasisAmount")) for t in taxes] == [("S", "53.97"), ("E", "60.00")]
    assert _all(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReason") \
        == ["Exonération de TVA"]
    assert _all(tree, "//ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge/ram:ActualAmount") == ["1.9990"]


def test_drafts_and_invalid_xml_are_refused(books, crm, tmp_path, monkeypatch):
    from plugins.billing import facturx as ours

    _customer(books)
    draft = crm("invoice", "create", "--customer", "Durand SA", "--line", "P20:1", "--json").json
    assert "only a posted invoice has a Factur-X" in crm("invoice", "facturx", str(draft["id"]), expect=1).stderr
    number = books.confirm("2026-01-31", books.customer("Martin"))
    real = ours.invoice_xml
    # an XML the schema rejects (a document without its type code) is refused, and nothing is written
    monkeypatch.setattr(ours, "invoice_xml", lambda *a, **k: real(*a, **k).replace(
        b"<ram:TypeCode>380</ram:TypeCode>", b""))
    out = tmp_path / "out"
    out.mkdir()
    error = crm("invoice", "facturx", number, "--output", str(out), expect=1).stderr
    assert f"invoice {number}: the Factur-X XML is not valid against the EN 16931 schema" in error
    assert list(out.iterdir()) == []
    with pytest.raises(CrmError, match="not valid"):
        ours.check_xml(b"<rsm:CrossIndustryInvoice xmlns:rsm='urn:un:unece:uncefact:data:standard:"
                       b"CrossIndustryInvoice:100'/>", "invoice X")


def test_a_delivery_elsewhere_is_the_ship_to_party_and_its_absence_leaves_none(books, crm, tmp_path):
    customer = _customer(books)
    number = books.confirm("2026-01-31", customer, delivery_street="Rue Neuve 1", delivery_postal_code="1000",
                           delivery_city="Bruxelles", delivery_country="BE")
    _, tree = _extract(written(crm("invoice", "facturx", number, "--output", str(tmp_path))))
    ship_to = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty"
    assert _one(tree, f"{ship_to}/ram:Name") == "Durand SA"
    assert [_one(tree, f"{ship_to}/ram:PostalTradeAddress/ram:{tag}")
            for tag in ("PostcodeCode", "LineOne", "CityName", "CountryID")] == ["1000", "Rue Neuve 1", "Bruxelles", "BE"]
    plain = books.confirm("2026-01-31", customer)
    _, tree = _extract(written(crm("invoice", "facturx", plain, "--output", str(tmp_path))))
    assert _all(tree, ship_to) == []
