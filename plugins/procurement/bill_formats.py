"""Read a supplier's e-invoice (Factur-X PDF, CII XML or UBL XML) into one bill model (a dict).

Every refusal is one :class:`~core.errors.CrmError` line naming the file: not a PDF, a PDF without
an invoice XML, XML of another kind, or a value missing or malformed.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from pathlib import Path

from core.errors import CrmError

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT, "ubl": UBL, "cac": CAC, "cbc": CBC}


def read_bill_file(path: Path, *, schematron: bool = False) -> dict:
    """The bill model of one file (its kind told by its content, not its name).

    ``schematron``: also run the EN 16931 Schematron (:mod:`plugins.procurement.bill_checks`).
    """
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CrmError(f"{name}: cannot read the file ({exc.strerror})") from None
    if data.startswith(b"%PDF"):
        return read_bill_xml(_xml_of_pdf(data, name), name, source="facturx", schematron=schematron)
    if data.lstrip().startswith(b"<"):
        return read_bill_xml(data, name, schematron=schematron)
    raise CrmError(f"{name}: not a PDF nor an XML e-invoice")


def _xml_of_pdf(data: bytes, name: str) -> bytes:
    """The invoice XML embedded in a Factur-X PDF (the factur-x package finds it; its XSD check is ours)."""
    import facturx

    logging.getLogger("factur-x").setLevel(logging.CRITICAL)
    try:
        _filename, xml = facturx.get_facturx_xml_from_pdf(data, check_xsd=False)
    except Exception:  # noqa: BLE001 - the library raises bare exceptions for unreadable PDFs
        raise CrmError(f"{name}: not a readable PDF") from None
    if not xml:
        raise CrmError(f"{name}: the PDF carries no Factur-X invoice XML (a paper bill: crm bill add)")
    return xml


def read_bill_xml(xml: bytes, name: str, *, source: str | None = None, schematron: bool = False) -> dict:
    """Parse CII (Factur-X) or UBL invoice XML, checked against its XSD; anything else is refused."""
    from lxml import etree

    from plugins.procurement.bill_checks import check_rules, check_schema

    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise CrmError(f"{name}: not well-formed XML ({exc.msg})") from None
    if root.tag == f"{{{RSM}}}CrossIndustryInvoice":
        syntax, read = "cii", _cii
    elif root.tag == f"{{{UBL}}}Invoice":
        syntax, read = "ubl", _ubl
    else:
        raise CrmError(f"{name}: XML of the wrong kind ({etree.QName(root).localname}): expected a CII or UBL invoice")
    check_schema(root, syntax, name)
    if schematron:
        check_rules(root, syntax, name)
    bill = read(root, name)
    bill["source"] = source or syntax
    return bill


def _text(node, path: str, name: str, field: str, *, required: bool = True) -> str | None:
    found = node.find(path, NS)
    value = found.text.strip() if found is not None and found.text else None
    if value is None and required:
        raise CrmError(f"{name}: {field} is missing")
    return value


def _decimal(node, path: str, name: str, field: str, *, default: str | None = None) -> Decimal:
    value = _text(node, path, name, field, required=default is None) or default
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CrmError(f"{name}: {field}: {value!r} is not a number") from None


def _day(value: str | None, name: str, field: str, fmt: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.datetime.strptime(value, fmt).date()
    except ValueError:
        raise CrmError(f"{name}: {field}: {value!r} is not a date") from None


def _cii(root, name: str) -> dict:
    doc = root.find("rsm:ExchangedDocument", NS)
    trade = root.find("rsm:SupplyChainTradeTransaction", NS)
    seller = trade.find("ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty", NS)
    settlement = trade.find("ram:ApplicableHeaderTradeSettlement", NS)
    totals = settlement.find("ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    if _text(doc, "ram:TypeCode", name, "the document type (BT-3)") not in ("380", "389", "751"):
        raise CrmError(f"{name}: only invoices are imported (a credit note is typed in with crm bill add)")
    lines = []
    for item in trade.findall("ram:IncludedSupplyChainTradeLineItem", NS):
        where = f"line {len(lines) + 1}"
        lines.append({
            "sku": _text(item, "ram:SpecifiedTradeProduct/ram:BuyerAssignedID", name, where, required=False)
            or _text(item, "ram:SpecifiedTradeProduct/ram:SellerAssignedID", name, where, required=False),
            "description": _text(item, "ram:SpecifiedTradeProduct/ram:Name", name, f"{where}: the item name"),
            "quantity": _decimal(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", name, f"{where}: quantity"),
            "unit_price": _decimal(item, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/"
                                   "ram:ChargeAmount", name, f"{where}: net price"),
            "vat_rate": _decimal(item, "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/"
                                 "ram:RateApplicablePercent", name, f"{where}: VAT rate", default="0"),
            "subtotal": _decimal(item, "ram:SpecifiedLineTradeSettlement/"
                                 "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                                 name, f"{where}: line total"),
        })
    return {
        "number": _text(doc, "ram:ID", name, "the invoice number (BT-1)"),
        "bill_date": _day(_text(doc, "ram:IssueDateTime/udt:DateTimeString", name, "the invoice date (BT-2)"),
                          name, "the invoice date (BT-2)", "%Y%m%d"),
        "due_date": _day(_text(settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
                               name, "due date", required=False), name, "the due date (BT-9)", "%Y%m%d"),
        "currency": _text(settlement, "ram:InvoiceCurrencyCode", name, "the currency (BT-5)"),
        "seller_name": _text(seller, "ram:Name", name, "the seller's name (BT-27)"),
        "seller_siren": _siren(_text(seller, "ram:SpecifiedLegalOrganization/ram:ID", name, "SIREN", required=False)),
        "seller_vat": _text(seller, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']", name, "VAT",
                            required=False),
        "iban": _text(settlement, "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount/"
                      "ram:IBANID", name, "IBAN", required=False),
        "bic": _text(settlement, "ram:SpecifiedTradeSettlementPaymentMeans/"
                     "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID", name, "BIC", required=False),
        "total_untaxed": _decimal(totals, "ram:TaxBasisTotalAmount", name, "the total without VAT (BT-109)"),
        "total_tax": _decimal(totals, "ram:TaxTotalAmount", name, "the VAT total (BT-110)", default="0"),
        "total": _decimal(totals, "ram:GrandTotalAmount", name, "the total with VAT (BT-112)"),
        "lines": lines,
    }


def _ubl(root, name: str) -> dict:
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    totals = root.find("cac:LegalMonetaryTotal", NS)
    if seller is None or totals is None:
        raise CrmError(f"{name}: the UBL invoice has no seller or no totals")
    lines = []
    for item in root.findall("cac:InvoiceLine", NS):
        where = f"line {len(lines) + 1}"
        lines.append({
            "sku": _text(item, "cac:Item/cac:BuyersItemIdentification/cbc:ID", name, where, required=False)
            or _text(item, "cac:Item/cac:SellersItemIdentification/cbc:ID", name, where, required=False),
            "description": _text(item, "cac:Item/cbc:Name", name, f"{where}: the item name"),
            "quantity": _decimal(item, "cbc:InvoicedQuantity", name, f"{where}: quantity"),
            "unit_price": _decimal(item, "cac:Price/cbc:PriceAmount", name, f"{where}: net price"),
            "vat_rate": _decimal(item, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", name, f"{where}: VAT rate",
                                 default="0"),
            "subtotal": _decimal(item, "cbc:LineExtensionAmount", name, f"{where}: line total"),
        })
    vat = None
    for scheme in seller.findall("cac:PartyTaxScheme", NS):
        vat = _text(scheme, "cbc:CompanyID", name, "VAT", required=False) or vat
    return {
        "number": _text(root, "cbc:ID", name, "the invoice number (BT-1)"),
        "bill_date": _day(_text(root, "cbc:IssueDate", name, "the invoice date (BT-2)"), name,
                          "the invoice date (BT-2)", "%Y-%m-%d"),
        "due_date": _day(_text(root, "cbc:DueDate", name, "due date", required=False), name, "the due date (BT-9)",
                         "%Y-%m-%d"),
        "currency": _text(root, "cbc:DocumentCurrencyCode", name, "the currency (BT-5)"),
        "seller_name": _text(seller, "cac:PartyLegalEntity/cbc:RegistrationName", name, "the seller's name (BT-27)"),
        "seller_siren": _siren(_text(seller, "cac:PartyLegalEntity/cbc:CompanyID", name, "SIREN", required=False)),
        "seller_vat": vat,
        "iban": _text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", name, "IBAN", required=False),
        "bic": _text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", name,
                     "BIC", required=False),
        "total_untaxed": _decimal(totals, "cbc:TaxExclusiveAmount", name, "the total without VAT (BT-109)"),
        "total_tax": _decimal(root, "cac:TaxTotal/cbc:TaxAmount", name, "the VAT total (BT-110)", default="0"),
        "total": _decimal(totals, "cbc:TaxInclusiveAmount", name, "the total with VAT (BT-112)"),
        "lines": lines,
    }


def _siren(value: str | None) -> str | None:
    """A SIREN (9 digits), or the SIREN of a SIRET (its first 9 digits)."""
    digits = "".join(ch for ch in value or "" if ch.isdigit())
    return digits[:9] if len(digits) in (9, 14) else None
