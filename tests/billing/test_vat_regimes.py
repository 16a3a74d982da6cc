"""Tax regimes, hand-computed: each customer's invoice has the right VAT, mention and Factur-X category,
and passes both Schematrons (EN 16931 and the French CTC rules).

A French distributor (the company of the books) sells to a French business, a Belgian business
(goods, then services), a Swiss business, a German consumer below then above the EU
distance-selling threshold, and, once under the VAT franchise, to the French business again.
Orders go through the plain posting path of order confirmation; the Belgian services invoice is
typed by hand (the ORM path) and a credit note follows its invoice.
"""

from __future__ import annotations

from decimal import Decimal

import facturx
import pytest
from billing_support import written
from lxml import etree
from schematron import failed_assertions, fatal

from core.errors import CrmError

pytestmark = pytest.mark.modules("billing")

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


@pytest.fixture
def customers(books):
    from core.services.catalog import create_product

    with books.tx() as session:
        create_product(session, {"sku": "CONSEIL", "name": "Conseil (heure)", "list_price": "90", "kind": "service",
                                 "unit": "hour"})
    return {
        "durand": books.customer("Durand SA", siren="552081317", vat_number="FR03552081317"),
        "brussels": books.customer("Brussels Trading SA", country="BE", vat_number="BE0403019261",
                                   street="Rue Neuve 1", postal_code="1000", city="Bruxelles"),
        "geneva": books.customer("Genève Horlogerie SA", country="CH", street="Rue du Rhône 5",
                                 postal_code="1204", city="Genève"),
        "hans": books.customer("Hans Müller", kind="person", country="DE", street="Hauptstraße 3",
                               postal_code="10115", city="Berlin"),
    }


def _facturx(crm, number, tmp_path, *, foreign_rate=False) -> bytes:
    pdf = written(crm("invoice", "facturx", number, "--output", str(tmp_path))).read_bytes()
    _, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    if not foreign_rate:
        assert fatal(xml) == []  # both Schematrons, no fatal rule broken
        return xml
    # a distance sale taxed at another country's rate: EN 16931 passes; the French platforms' rules
    # know only French rates (BR-FR-16), and a sale to a consumer is e-reported, not e-invoiced
    assert [item for item in failed_assertions(xml, "EN 16931") if item["flag"] != "warning"] == []
    assert {item["id"] for item in failed_assertions(xml, "FR CTC") if item["flag"] != "warning"} \
        == {"BR-FR-16_BT-152", "BR-FR-16_BT-119"}
    return xml


def _values(xml: bytes, path: str) -> list[str]:
    return [element.text for element in etree.fromstring(xml).xpath(path, namespaces=NS)]


def _shown(crm, number) -> dict:
    return crm("invoice", "show", number, "--json").json


def _check(crm, tmp_path, number, *, tax, total, categories, codes, mention, foreign_rate=False):
    data = _shown(crm, number)
    assert (data["total_tax"], data["total"]) == (tax, total)
    assert data["mentions"]["vat_mention"] == mention
    assert [line["vat_category"] for line in data["lines"]] == categories
    xml = _facturx(crm, number, tmp_path, foreign_rate=foreign_rate)
    assert _values(xml, "//ram:IncludedSupplyChainTradeLineItem//ram:CategoryCode") == categories
    assert _values(xml, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReasonCode") \
        == codes
    text = crm("invoice", "show", number, "--print").stdout if mention else ""
    if mention:
        assert mention in text
    return xml


def test_each_regime_gives_its_vat_mention_and_category(books, crm, customers, tmp_path):
    # France: 2 x 50 at 20 % + 10 at 5.5 % = 110.00 + 20.00 + 0.55
    french = books.confirm("2026-02-02", customers["durand"], [("P20", "2", "50"), ("P55", "1", "10")])
    _check(crm, tmp_path, french, tax="20.55", total="130.55", categories=["S", "S"], codes=[], mention=None)

    # Belgian business, goods: exempt intra-EU supply (CGI 262 ter I), K, VATEX-EU-IC
    goods = books.confirm("2026-02-03", customers["brussels"], [("P20", "1", "100")])
    xml = _check(crm, tmp_path, goods, tax="0.00", total="100.00", categories=["K"], codes=["VATEX-EU-IC"],
                 mention="Exonération de TVA, article 262 ter I du CGI (livraison intracommunautaire)")
    assert _values(xml, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID") == ["BE"]

    # Belgian business, services typed by hand (ORM path): reverse charge, AE; 3 x 90 = 270.00
    from plugins.billing.services_invoices import create_invoice

    app = books.app("2026-02-04")
    with app.transaction() as session:
        services = create_invoice(app, session, {"customer": str(customers["brussels"]), "lines": [
            {"sku": "CONSEIL", "quantity": "3", "unit_price": "90"}]}, post=True).number
    _check(crm, tmp_path, services, tax="0.00", total="270.00", categories=["AE"], codes=["VATEX-EU-AE"],
           mention="Autoliquidation : TVA due par le preneur (articles 283-2 et 259-1 du CGI)")
    # its credit note follows it: the same category and mention
    note = crm("invoice", "credit", services, "--line", "1:1", "--json").json["number"]
    _check(crm, tmp_path, note, tax="0.00", total="90.00", categories=["AE"], codes=["VATEX-EU-AE"],
           mention="Autoliquidation : TVA due par le preneur (articles 283-2 et 259-1 du CGI)")

    # Swiss business: goods exported (CGI 262 I, G), services outside the scope (CGI 259-1, O)
    export = books.confirm("2026-02-05", customers["geneva"], [("P20", "2", "100")])
    _check(crm, tmp_path, export, tax="0.00", total="200.00", categories=["G"], codes=["VATEX-EU-G"],
           mention="Exonération de TVA, article 262 I du CGI (exportation)")
    outside = books.confirm("2026-02-05", customers["geneva"], [("CONSEIL", "1", "90")])
    xml = _check(crm, tmp_path, outside, tax="0.00", total="90.00", categories=["O"], codes=["VATEX-EU-O"],
                 mention="TVA non applicable, article 259-1 du CGI (prestation hors de France)")
    assert _values(xml, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == []  # BR-O-02

    # German consumer below the threshold: French VAT, 1000 at 20 % = 200.00
    below = books.confirm("2026-02-06", customers["hans"], [("P20", "1", "1000")])
    _check(crm, tmp_path, below, tax="200.00", total="1200.00", categories=["S"], codes=[], mention=None)
    # 1,000 + 10,100 of goods this year > 10,000: German VAT from this sale on (19 % and 7 %)
    # 10 x 1000 at 19 % = 1900.00; 100 at 7 % = 7.00
    above = books.confirm("2026-02-07", customers["hans"], [("P20", "10", "1000"), ("P55", "1", "100")])
    data = _check(crm, tmp_path, above, tax="1907.00", total="12007.00", categories=["S", "S"], codes=[],
                  mention="Vente à distance : TVA DE au taux de 19 % (art. 258 A du CGI, guichet unique OSS)",
                  foreign_rate=True)
    assert [line["vat_rate"] for line in _shown(crm, above)["lines"]] == ["19.00", "7.00"]
    assert _values(data, "//ram:IncludedSupplyChainTradeLineItem//ram:RateApplicablePercent") == ["19.00", "7.00"]

    # the company opts for the franchise (CGI 293 B): no VAT at all, E, VATEX-FR-FRANCHISE
    crm("company", "set", "--vat-franchise")
    franchise = books.confirm("2026-02-09", customers["durand"], [("P20", "2", "50"), ("P55", "1", "10")])
    _check(crm, tmp_path, franchise, tax="0.00", total="110.00", categories=["E", "E"], codes=["VATEX-FR-FRANCHISE"],
           mention="TVA non applicable, art. 293 B du CGI")


def test_last_years_sales_above_the_threshold_tax_the_first_sale_abroad(books, crm, customers):
    """10,000 € sold at a distance last year: this year's first sale is taxed in the customer's country."""
    books.confirm("2025-12-15", customers["hans"], [("P20", "11", "1000")])  # 11,000 > 10,000, French VAT then
    first = books.confirm("2026-01-10", customers["hans"], [("P20", "1", "100")])
    assert _shown(crm, first)["total_tax"] == "19.00"


def test_a_threshold_at_exactly_ten_thousand_is_not_crossed(books, crm, customers):
    books.confirm("2026-02-06", customers["hans"], [("P20", "1", "9000")])
    at = books.confirm("2026-02-07", customers["hans"], [("P20", "1", "1000")])  # 10,000: not above
    assert _shown(crm, at)["total_tax"] == "200.00"


def test_an_intra_eu_exempt_invoice_needs_a_valid_vat_number_of_the_customers_country(books, customers):
    wrong = books.customer("Antwerp NV", country="BE", vat_number="DE136695976", street="Meir 1",
                           postal_code="2000", city="Antwerpen")
    with pytest.raises(CrmError, match=r"customer \d+ \(Antwerp NV\): vat_number: VAT number DE136695976 is not "
                                       r"a valid BE VAT number"):
        books.confirm("2026-02-03", wrong)
    assert books.sql("SELECT COUNT(*) FROM billing_invoice WHERE partner_id = :p", p=wrong) == [(0,)]


def test_a_regime_set_by_hand_wins_over_the_derived_one(books, crm, customers):
    """A Belgian business that gave no usable VAT number is invoiced French VAT when set domestic by hand."""
    assert crm("vat", "regime", str(customers["brussels"]), "--json").json["regime"] == "eu_business"
    crm("vat", "regime", str(customers["brussels"]), "domestic")
    number = books.confirm("2026-02-03", customers["brussels"], [("P20", "1", "100")])
    assert _shown(crm, number)["total_tax"] == "20.00"
    crm("vat", "regime", str(customers["brussels"]), "auto")
    number = books.confirm("2026-02-04", customers["brussels"], [("P20", "1", "100")])
    assert _shown(crm, number)["total_tax"] == "0.00"


def test_the_rates_table_is_dated(books, crm):
    crm("vat", "rates", "--add", "DE", "standard", "16", "--from", "2026-07-01")
    rates = {(r["country"], r["kind"], r["valid_from"]): r["rate"] for r in crm("vat", "rates", "--json").json}
    assert rates[("DE", "standard", "2025-08-01")] == "19.00"
    assert rates[("DE", "standard", "2026-07-01")] == "16.00"
    from plugins.billing.taxes import country_rates

    with books.tx() as session:
        assert country_rates(session, "DE", books.app("2026-06-30").today)[0] == Decimal("19")
        assert country_rates(session, "DE", books.app("2026-07-01").today)[0] == Decimal("16")
