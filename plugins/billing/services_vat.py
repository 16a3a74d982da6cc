"""VAT services: a customer's regime set by hand, the EU countries' dated rates, the VAT summary of a month.

The summary (``crm vat summary``) adds up, per VAT category and rate, the bases and VAT of the
month. Goods are due on the invoice (the debits); services on the payments received in the month
(CGI art. 269-2-c), unless the company opted for the debits (its ``vat_on_debits`` flag): then
services too are counted on their invoices. The part of a payment on services is its share of the
invoice's services base (payment x base / invoice total). Services not taxed in France
(reverse-charged AE, outside the scope O) are reported on their invoices. Credit notes count
negative.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.errors import ValidationError
from core.security import require
from core.types import round_money
from plugins.billing.models_tax import REGIMES

#: what each category is on the return (CA3 boxes: taxable, intra-EU deliveries, exports, other)
CATEGORY_LABELS = {"S": "taxable", "Z": "zero rated", "E": "exempt (franchise or 0 %)",
                   "K": "intra-EU deliveries (exempt)", "AE": "reverse-charge services (intra-EU)",
                   "G": "exports (exempt)", "O": "outside the scope (services abroad)"}


#: categories of French VAT on services, due when paid unless the company opted for the debits
ON_RECEIPT = ("S", "Z")


def regime_of(session, ref) -> dict:
    """``{customer, name, regime, set_by_hand}`` of a customer (by id or name)."""
    from core.services.partners import get_partner
    from plugins.billing.models_tax import PartnerRegime
    from plugins.billing.taxes import derived_regime

    partner = get_partner(session, ref)
    chosen = session.get(PartnerRegime, partner.id)
    derived = derived_regime(partner.country, partner.is_business)
    return {"customer": partner.id, "name": partner.name, "country": partner.country,
            "regime": chosen.regime if chosen else derived, "derived": derived, "set_by_hand": chosen is not None}


def set_regime(session, ref, regime: str) -> dict:
    """Set a customer's regime by hand (``auto``: back to the derived one)."""
    require(session.info["app"], session, "billing.settings")
    from core.services.partners import get_partner
    from plugins.billing.models_tax import PartnerRegime

    if regime != "auto" and regime not in REGIMES:
        raise ValidationError(f"{regime!r}: must be auto, {', '.join(REGIMES)}", record="regime", field="regime")
    partner = get_partner(session, ref)
    chosen = session.get(PartnerRegime, partner.id)
    if regime == "auto":
        if chosen is not None:
            session.delete(chosen)
    elif chosen is None:
        session.add(PartnerRegime(partner_id=partner.id, regime=regime))
    else:
        chosen.regime = regime
    session.flush()
    return regime_of(session, partner.id)


def country_rate_rows(session) -> list[dict]:
    from sqlalchemy import select

    from plugins.billing.models_tax import CountryRate

    return [{"country": r.country, "kind": r.kind, "valid_from": r.valid_from.isoformat(), "rate": str(r.rate)}
            for r in session.scalars(select(CountryRate).order_by(CountryRate.country, CountryRate.kind,
                                                                   CountryRate.valid_from))]


def add_country_rate(session, country: str, kind: str, rate: Decimal, valid_from: dt.date) -> None:
    """A rate of an EU country from ``valid_from`` on (one per country, kind and date)."""
    require(session.info["app"], session, "billing.settings")
    from sqlalchemy import select

    from plugins.billing.mentions import EU
    from plugins.billing.models_tax import RATE_KINDS, CountryRate

    country = country.strip().upper()
    record = f"rate {country} {kind}"
    if country not in EU or country in ("FR", "EL"):
        raise ValidationError(f"{country!r}: an EU country other than France (ISO code: DE, BE, GR...)",
                              record=record, field="country")
    if kind not in RATE_KINDS:
        raise ValidationError(f"{kind!r}: must be {' or '.join(RATE_KINDS)}", record=record, field="kind")
    if not Decimal(0) <= rate < Decimal(100):
        raise ValidationError(f"{rate}: a rate is between 0 and 100", record=record, field="rate")
    if session.scalar(select(CountryRate.id).where(CountryRate.country == country, CountryRate.kind == kind,
                                                   CountryRate.valid_from == valid_from)):
        raise ValidationError(f"already a rate from {valid_from.isoformat()}", record=record, field="valid_from")
    session.add(CountryRate(country=country, kind=kind, rate=rate, valid_from=valid_from))
    session.flush()


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    try:
        year, month = (int(part) for part in period.split("-"))
        start = dt.date(year, month, 1)
    except ValueError:
        raise ValidationError(f"{period!r} is not a month (YYYY-MM)", record="summary", field="period") from None
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


def vat_summary(session, period: str, *, details: bool = False) -> dict:
    """The month's VAT per category and rate, each figure with the documents behind it if ``details``."""
    require(session.info["app"], session, "billing.accounting")
    from core.services.company import get_company

    start, end = month_bounds(period)
    on_debits = bool(get_company(session).vat_on_debits)
    groups: dict[tuple, dict] = {}
    for basis, category, rate, number, base in _rows(session, start, end, on_debits):
        group = groups.setdefault((category, rate), {"category": category, "label": CATEGORY_LABELS.get(category, category),
                                                     "rate": rate, "base": Decimal(0), "documents": {}})
        group["base"] += base
        key = (number, basis)
        group["documents"][key] = group["documents"].get(key, Decimal(0)) + base
    rows = []
    for (category, rate), group in sorted(groups.items(), key=lambda item: (item[0][0] != "S", -item[0][1], item[0][0])):
        base = round_money(group["base"])
        row = {"category": category, "label": group["label"], "rate": str(rate), "base": str(base),
               "vat": str(round_money(base * rate / 100))}
        if details:
            row["documents"] = [{"number": number, "basis": basis, "base": str(round_money(amount))}
                                for (number, basis), amount in sorted(group["documents"].items())]
        rows.append(row)
    total = sum((Decimal(row["vat"]) for row in rows), Decimal(0))
    return {"period": period, "from": start.isoformat(), "to": end.isoformat(),
            "basis": "debits" if on_debits else "receipts for services, debits for goods",
            "rows": rows, "vat_total": str(total)}


def _rows(session, start: dt.date, end: dt.date, on_debits: bool):
    """``(basis, category, rate, document number, base)``: invoices' lines of the month on the debits,
    services' share of the month's payments on the receipts (set-based, grouped by document)."""
    from sqlalchemy import case, func, literal, select, type_coerce

    from core.models import Product
    from core.types import ScaledDecimal
    from plugins.billing.models import Allocation, Invoice, InvoiceLine, Payment

    service = func.coalesce(Product.kind, "goods") == "service"
    sign = case((Invoice.kind == "credit_note", -1), else_=1)
    debits = (select(literal("invoice"), InvoiceLine.vat_category, InvoiceLine.vat_rate, Invoice.number,
                     type_coerce(func.sum(InvoiceLine.subtotal * sign), ScaledDecimal(2)))
              .select_from(InvoiceLine).join(Invoice, Invoice.id == InvoiceLine.invoice_id).outerjoin(Product, Product.id == InvoiceLine.product_id)
              .where(Invoice.state != "draft", Invoice.invoice_date.between(start, end))
              .group_by(InvoiceLine.vat_category, InvoiceLine.vat_rate, Invoice.number))
    if not on_debits:  # services taxed in France are due on receipt; those abroad (AE, O) on the invoice
        debits = debits.where(~service | ~InvoiceLine.vat_category.in_(ON_RECEIPT))
    for row in session.execute(debits):
        yield row[0], row[1], row[2], row[3], row[4]
    if on_debits:
        return
    # the base part of each payment on services: allocation x line base / invoice total
    # (scaled integers: cents x cents / cents gives cents, truncated)
    share = type_coerce(func.sum(Allocation.amount * InvoiceLine.subtotal / Invoice.total), ScaledDecimal(2))
    receipts = (select(literal("receipt"), InvoiceLine.vat_category, InvoiceLine.vat_rate, Invoice.number, share)
                .select_from(Allocation).join(Invoice, Invoice.id == Allocation.invoice_id)
                .join(Payment, Payment.id == Allocation.payment_id)
                .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id).join(Product, Product.id == InvoiceLine.product_id)
                .where(Product.kind == "service", InvoiceLine.vat_category.in_(ON_RECEIPT),
                       Allocation.allocated_on.between(start, end), Invoice.total > 0)
                .group_by(InvoiceLine.vat_category, InvoiceLine.vat_rate, Invoice.number))
    for row in session.execute(receipts):
        yield row[0], row[1], row[2], row[3], row[4]
