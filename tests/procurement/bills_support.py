"""Realistic supplier invoices for the bill tests: CII (Factur-X EN 16931) and UBL XML built with lxml,
and a Factur-X PDF (a one-page PDF with the CII embedded by the factur-x package)."""

from __future__ import annotations

import io
from decimal import Decimal

from lxml import etree

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

SELLER = {"name": "Grossiste SA", "siren": "552081317", "vat": "FR03552081317", "street": "12 rue des Entrepôts",
          "postcode": "69007", "city": "Lyon"}


def _sub(parent, ns, tag, text=None, **attrs):
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    if text is not None:
        element.text = str(text)
    return element


def _money(value) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def totals(lines, rate="20"):
    untaxed = sum((Decimal(q) * Decimal(p) for _sku, q, p in lines), Decimal(0)).quantize(Decimal("0.01"))
    tax = (untaxed * Decimal(rate) / 100).quantize(Decimal("0.01"))
    return untaxed, tax, untaxed + tax


IBAN, BIC = "FR1810096000301234567890113", "CMCIFRPP"


def cii(number, lines, *, date="20261210", due="20270109", seller=SELLER, order=None, rate="20",
        total=None, iban=IBAN, bic=BIC) -> bytes:
    """A supplier's EN 16931 invoice: ``lines`` = [(sku, quantity, unit price)]."""
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT})
    context = _sub(root, RSM, "ExchangedDocumentContext")
    _sub(_sub(context, RAM, "BusinessProcessSpecifiedDocumentContextParameter"), RAM, "ID", "B1")
    _sub(_sub(context, RAM, "GuidelineSpecifiedDocumentContextParameter"), RAM, "ID", "urn:cen.eu:en16931:2017")
    document = _sub(root, RSM, "ExchangedDocument")
    _sub(document, RAM, "ID", number)
    _sub(document, RAM, "TypeCode", "380")
    _sub(_sub(document, RAM, "IssueDateTime"), UDT, "DateTimeString", date, format="102")
    for code, content in (("PMT", "Indemnité forfaitaire pour frais de recouvrement : 40 €"),
                          ("PMD", "Pénalités de retard : trois fois le taux d'intérêt légal"),
                          ("AAB", "Pas d'escompte pour paiement anticipé")):
        note = _sub(document, RAM, "IncludedNote")
        _sub(note, RAM, "Content", content)
        _sub(note, RAM, "SubjectCode", code)
    trade = _sub(root, RSM, "SupplyChainTradeTransaction")
    for index, (sku, quantity, price) in enumerate(lines, start=1):
        item = _sub(trade, RAM, "IncludedSupplyChainTradeLineItem")
        _sub(_sub(item, RAM, "AssociatedDocumentLineDocument"), RAM, "LineID", index)
        product = _sub(item, RAM, "SpecifiedTradeProduct")
        _sub(product, RAM, "BuyerAssignedID", sku)
        _sub(product, RAM, "Name", f"Article {sku}")
        agreement = _sub(item, RAM, "SpecifiedLineTradeAgreement")
        _sub(_sub(agreement, RAM, "NetPriceProductTradePrice"), RAM, "ChargeAmount", price)
        _sub(_sub(item, RAM, "SpecifiedLineTradeDelivery"), RAM, "BilledQuantity", quantity, unitCode="C62")
        settlement = _sub(item, RAM, "SpecifiedLineTradeSettlement")
        tax = _sub(settlement, RAM, "ApplicableTradeTax")
        _sub(tax, RAM, "TypeCode", "VAT")
        _sub(tax, RAM, "CategoryCode", "S")
        _sub(tax, RAM, "RateApplicablePercent", rate)
        _sub(_sub(settlement, RAM, "SpecifiedTradeSettlementLineMonetarySummation"), RAM, "LineTotalAmount",
             _money(Decimal(quantity) * Decimal(price)))
    agreement = _sub(trade, RAM, "ApplicableHeaderTradeAgreement")
    party = _sub(agreement, RAM, "SellerTradeParty")
    _sub(party, RAM, "Name", seller["name"])
    _sub(_sub(party, RAM, "SpecifiedLegalOrganization"), RAM, "ID", seller["siren"], schemeID="0002")
    address = _sub(party, RAM, "PostalTradeAddress")
    _sub(address, RAM, "PostcodeCode", seller["postcode"])
    _sub(address, RAM, "LineOne", seller["street"])
    _sub(address, RAM, "CityName", seller["city"])
    _sub(address, RAM, "CountryID", "FR")
    _sub(_sub(party, RAM, "URIUniversalCommunication"), RAM, "URIID", "factures@grossiste.fr", schemeID="EM")
    _sub(_sub(party, RAM, "SpecifiedTaxRegistration"), RAM, "ID", seller["vat"], schemeID="VA")
    buyer = _sub(agreement, RAM, "BuyerTradeParty")
    _sub(buyer, RAM, "Name", "Entonnoir SAS")
    address = _sub(buyer, RAM, "PostalTradeAddress")
    _sub(address, RAM, "PostcodeCode", "75002")
    _sub(address, RAM, "LineOne", "1 rue de la Paix")
    _sub(address, RAM, "CityName", "Paris")
    _sub(address, RAM, "CountryID", "FR")
    _sub(_sub(buyer, RAM, "URIUniversalCommunication"), RAM, "URIID", "compta@entonnoir.fr", schemeID="EM")
    if order:
        _sub(_sub(agreement, RAM, "BuyerOrderReferencedDocument"), RAM, "IssuerAssignedID", order)
    _sub(trade, RAM, "ApplicableHeaderTradeDelivery")
    settlement = _sub(trade, RAM, "ApplicableHeaderTradeSettlement")
    _sub(settlement, RAM, "InvoiceCurrencyCode", "EUR")
    if iban:
        means = _sub(settlement, RAM, "SpecifiedTradeSettlementPaymentMeans")
        _sub(means, RAM, "TypeCode", "58")
        _sub(_sub(means, RAM, "PayeePartyCreditorFinancialAccount"), RAM, "IBANID", iban)
        _sub(_sub(means, RAM, "PayeeSpecifiedCreditorFinancialInstitution"), RAM, "BICID", bic)
    untaxed, vat, grand = totals(lines, rate)
    tax = _sub(settlement, RAM, "ApplicableTradeTax")
    _sub(tax, RAM, "CalculatedAmount", _money(vat))
    _sub(tax, RAM, "TypeCode", "VAT")
    _sub(tax, RAM, "BasisAmount", _money(untaxed))
    _sub(tax, RAM, "CategoryCode", "S")
    _sub(tax, RAM, "RateApplicablePercent", rate)
    terms = _sub(settlement, RAM, "SpecifiedTradePaymentTerms")
    _sub(_sub(terms, RAM, "DueDateDateTime"), UDT, "DateTimeString", due, format="102")
    summation = _sub(settlement, RAM, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(summation, RAM, "LineTotalAmount", _money(untaxed))
    _sub(summation, RAM, "TaxBasisTotalAmount", _money(untaxed))
    _sub(summation, RAM, "TaxTotalAmount", _money(vat), currencyID="EUR")
    _sub(summation, RAM, "GrandTotalAmount", _money(total if total is not None else grand))
    _sub(summation, RAM, "DuePayableAmount", _money(total if total is not None else grand))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def facturx_pdf(xml: bytes) -> bytes:
    """The supplier's PDF with its CII embedded (factur-x.xml), as Factur-X senders make it."""
    import facturx

    return facturx.generate_from_binary(blank_pdf(), xml, flavor="factur-x", level="en16931", check_xsd=True)


def ubl(number, lines, *, date="2026-12-10", due="2027-01-09", seller=SELLER, rate="20", iban=IBAN) -> bytes:
    """A supplier's UBL 2.1 invoice (EN 16931 customization; it passes the EN 16931 UBL Schematron)."""
    root = etree.Element(f"{{{UBL}}}Invoice", nsmap={None: UBL, "cac": CAC, "cbc": CBC})
    _sub(root, CBC, "CustomizationID", "urn:cen.eu:en16931:2017")
    _sub(root, CBC, "ID", number)
    _sub(root, CBC, "IssueDate", date)
    _sub(root, CBC, "DueDate", due)
    _sub(root, CBC, "InvoiceTypeCode", "380")
    _sub(root, CBC, "DocumentCurrencyCode", "EUR")
    party = _sub(_sub(root, CAC, "AccountingSupplierParty"), CAC, "Party")
    address = _sub(party, CAC, "PostalAddress")
    _sub(address, CBC, "StreetName", seller["street"])
    _sub(address, CBC, "CityName", seller["city"])
    _sub(address, CBC, "PostalZone", seller["postcode"])
    _sub(_sub(address, CAC, "Country"), CBC, "IdentificationCode", "FR")
    scheme = _sub(party, CAC, "PartyTaxScheme")
    _sub(scheme, CBC, "CompanyID", seller["vat"])
    _sub(_sub(scheme, CAC, "TaxScheme"), CBC, "ID", "VAT")
    legal = _sub(party, CAC, "PartyLegalEntity")
    _sub(legal, CBC, "RegistrationName", seller["name"])
    _sub(legal, CBC, "CompanyID", seller["siren"], schemeID="0002")
    customer = _sub(_sub(root, CAC, "AccountingCustomerParty"), CAC, "Party")
    address = _sub(customer, CAC, "PostalAddress")
    _sub(address, CBC, "StreetName", "1 rue de la Paix")
    _sub(address, CBC, "CityName", "Paris")
    _sub(address, CBC, "PostalZone", "75002")
    _sub(_sub(address, CAC, "Country"), CBC, "IdentificationCode", "FR")
    _sub(_sub(customer, CAC, "PartyLegalEntity"), CBC, "RegistrationName", "Entonnoir SAS")
    if iban:
        means = _sub(root, CAC, "PaymentMeans")
        _sub(means, CBC, "PaymentMeansCode", "58")
        _sub(_sub(means, CAC, "PayeeFinancialAccount"), CBC, "ID", iban)
    untaxed, vat, grand = totals(lines, rate)
    tax_total = _sub(root, CAC, "TaxTotal")
    _sub(tax_total, CBC, "TaxAmount", _money(vat), currencyID="EUR")
    subtotal = _sub(tax_total, CAC, "TaxSubtotal")
    _sub(subtotal, CBC, "TaxableAmount", _money(untaxed), currencyID="EUR")
    _sub(subtotal, CBC, "TaxAmount", _money(vat), currencyID="EUR")
    category = _sub(subtotal, CAC, "TaxCategory")
    _sub(category, CBC, "ID", "S")
    _sub(category, CBC, "Percent", rate)
    _sub(_sub(category, CAC, "TaxScheme"), CBC, "ID", "VAT")
    monetary = _sub(root, CAC, "LegalMonetaryTotal")
    _sub(monetary, CBC, "LineExtensionAmount", _money(untaxed), currencyID="EUR")
    _sub(monetary, CBC, "TaxExclusiveAmount", _money(untaxed), currencyID="EUR")
    _sub(monetary, CBC, "TaxInclusiveAmount", _money(grand), currencyID="EUR")
    _sub(monetary, CBC, "PayableAmount", _money(grand), currencyID="EUR")
    for index, (sku, quantity, price) in enumerate(lines, start=1):
        line = _sub(root, CAC, "InvoiceLine")
        _sub(line, CBC, "ID", index)
        _sub(line, CBC, "InvoicedQuantity", quantity, unitCode="C62")
        _sub(line, CBC, "LineExtensionAmount", _money(Decimal(quantity) * Decimal(price)), currencyID="EUR")
        item = _sub(line, CAC, "Item")
        _sub(item, CBC, "Name", f"Article {sku}")
        _sub(_sub(item, CAC, "BuyersItemIdentification"), CBC, "ID", sku)
        category = _sub(item, CAC, "ClassifiedTaxCategory")
        _sub(category, CBC, "ID", "S")
        _sub(category, CBC, "Percent", rate)
        _sub(_sub(category, CAC, "TaxScheme"), CBC, "ID", "VAT")
        _sub(_sub(line, CAC, "Price"), CBC, "PriceAmount", price, currencyID="EUR")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
