"""Tax regimes: which VAT rate, EN 16931 category and mention each invoice line gets, decided at posting.

One decision (:func:`decide`) for both posting paths (``posting``'s and the order confirmation's
in ``order_invoices``). A customer's regime is derived from the kernel's partner
(country, business or consumer) unless set by hand (``crm vat regime``):

- ``domestic`` (France): the product's French rate, category S (E at 0 %);
- ``eu_business`` (a business elsewhere in the EU, its VAT number valid): goods are an exempt
  intra-EU supply (CGI art. 262 ter I: K, VATEX-EU-IC), services are reverse-charged (CGI art.
  283-2 and 259-1: AE, VATEX-EU-AE); posting is refused without a valid VAT number;
- ``export`` (outside the EU): goods exempt (CGI art. 262 I: G, VATEX-EU-G), services outside the
  scope of French VAT (CGI art. 259-1: O, VATEX-EU-O);
- ``eu_consumer``: French VAT until the EU distance-selling threshold (10,000 € of cross-border
  sales of goods to consumers in the calendar year or the previous one, CGI art. 258 A), then the
  customer country's rate (``billing_country_rate``, dated) on goods; services to consumers stay
  taxed in France (CGI art. 259-2);
- a company under the franchise (CGI art. 293 B, the company's ``vat_franchise`` flag) invoices
  no VAT at all: E, VATEX-FR-FRANCHISE, "TVA non applicable, art. 293 B du CGI".

Lines without a product (late interest and the recovery indemnity of a penalty invoice, outside
the scope of VAT) keep the rate they were given. A credit note follows the invoice it credits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from core.errors import ValidationError
from plugins.billing.mentions import EU

ZERO = Decimal("0")
FRENCH_STANDARD = Decimal("20")
MENTIONS = {
    "franchise": "TVA non applicable, art. 293 B du CGI",
    "K": "Exonération de TVA, article 262 ter I du CGI (livraison intracommunautaire)",
    "AE": "Autoliquidation : TVA due par le preneur (articles 283-2 et 259-1 du CGI)",
    "G": "Exonération de TVA, article 262 I du CGI (exportation)",
    "O": "TVA non applicable, article 259-1 du CGI (prestation hors de France)",
}
#: (category, VATEX code) of a line by regime and product kind, when the regime exempts it
EXEMPT = {("eu_business", "goods"): ("K", "VATEX-EU-IC"), ("eu_business", "service"): ("AE", "VATEX-EU-AE"),
          ("export", "goods"): ("G", "VATEX-EU-G"), ("export", "service"): ("O", "VATEX-EU-O")}
#: what Factur-X says beside each VATEX code (BT-120)
EXEMPTION_TEXTS = {"VATEX-EU-IC": "Intra-Community supply", "VATEX-EU-AE": "Reverse charge",
                   "VATEX-EU-G": "Export outside the EU", "VATEX-EU-O": "Not subject to VAT",
                   "VATEX-FR-FRANCHISE": "VAT franchise (art. 293 B CGI)"}
#: current standard and reduced rates of the EU countries (ISO codes), seeded from this date
SEED_FROM = dt.date(2025, 8, 1)
SEED_RATES = {
    "AT": ("20", "10"), "BE": ("21", "6"), "BG": ("20", "9"), "CY": ("19", "5"), "CZ": ("21", "12"),
    "DE": ("19", "7"), "DK": ("25", "25"), "EE": ("24", "9"), "GR": ("24", "13"), "ES": ("21", "10"),
    "FI": ("25.5", "14"), "HR": ("25", "13"), "HU": ("27", "18"), "IE": ("23", "13.5"), "IT": ("22", "10"),
    "LT": ("21", "9"), "LU": ("17", "8"), "LV": ("21", "12"), "MT": ("18", "7"), "NL": ("21", "9"),
    "PL": ("23", "8"), "PT": ("23", "13"), "RO": ("21", "11"), "SE": ("25", "12"), "SI": ("22", "9.5"),
    "SK": ("23", "19"),
}


def seed_rows() -> list[dict]:
    """The seeded rates as rows of ``billing_country_rate``."""
    return [{"country": country, "kind": kind, "valid_from": SEED_FROM, "rate": Decimal(rate)}
            for country, pair in sorted(SEED_RATES.items()) for kind, rate in zip(("standard", "reduced"), pair)]


@dataclass
class Decision:
    """What posting writes: the regime, the mention, and ``(rate, category, exemption)`` per line."""

    regime: str
    mention: str | None
    lines: list[tuple[Decimal, str, str | None]] = field(default_factory=list)


def derived_regime(country: str | None, business: bool) -> str:
    """The regime a customer gets without an override: from its country and business/consumer kind."""
    country = (country or "FR").upper()
    if country == "FR":
        return "domestic"
    if country in EU:
        return "eu_business" if business else "eu_consumer"
    return "export"


def customer_regime(session, partner_id: int, country: str | None, business: bool) -> str:
    """The customer's regime: the one set by hand, else the derived one."""
    from plugins.billing.models_tax import PartnerRegime

    chosen = session.get(PartnerRegime, partner_id)
    return chosen.regime if chosen is not None else derived_regime(country, business)


def domestic_category(rate: Decimal) -> str:
    return "S" if rate > 0 else "E"


def check_vat_number(customer: dict) -> None:
    """Refuse an intra-EU exempt invoice to a customer without a valid VAT number of its country."""
    from stdnum.eu import vat

    number = (customer.get("vat_number") or "").replace(" ", "").upper()
    country = (customer.get("country") or "").upper()
    prefix = {"GR": "EL"}.get(country, country)
    if number and number.startswith(prefix) and vat.is_valid(number):
        return
    shown = f"VAT number {number} is not a valid {country} VAT number" if number else "no VAT number"
    raise ValidationError(
        f"{shown}; an intra-EU invoice without VAT needs one (`crm partner edit {customer['id']} --vat-number ...`, "
        f"or `crm vat regime {customer['id']} domestic`)",
        record=f"customer {customer['id']} ({customer.get('name')})", field="vat_number")


def decide(session, *, franchise: bool, customer: dict, regime: str, lines: list[tuple[str | None, Decimal, Decimal]],
           invoice_date: dt.date, threshold: Decimal) -> Decision:
    """The VAT of an invoice's lines ``[(product kind or None, French rate, subtotal)]`` for ``customer``.

    ``customer``: id, name, country, vat_number. ``regime``: :func:`customer_regime`. Raises
    :class:`ValidationError` (one line) for an intra-EU exempt invoice without a valid VAT number.
    """
    if franchise:
        return Decision("franchise", MENTIONS["franchise"],
                        [(ZERO, "E", "VATEX-FR-FRANCHISE") for _ in lines])
    if regime in ("eu_business", "export"):
        decided, mentions = [], []
        for kind, rate, _subtotal in lines:
            exempt = EXEMPT.get((regime, kind)) if kind else None
            if exempt is None:
                decided.append((rate, domestic_category(rate), None))
                continue
            decided.append((ZERO, *exempt))
            if MENTIONS[exempt[0]] not in mentions:
                mentions.append(MENTIONS[exempt[0]])
        if regime == "eu_business" and mentions:
            check_vat_number(customer)
        return Decision(regime, " ; ".join(mentions) or None, decided)
    if regime == "eu_consumer":
        goods = sum((subtotal for kind, _rate, subtotal in lines if kind == "goods"), ZERO)
        if goods and above_threshold(session, invoice_date, goods, threshold):
            country = (customer.get("country") or "").upper()
            standard, reduced = country_rates(session, country, invoice_date)
            decided = [((standard if rate == FRENCH_STANDARD else reduced), "S", None) if kind == "goods"
                       else (rate, domestic_category(rate), None) for kind, rate, _subtotal in lines]
            mention = (f"Vente à distance : TVA {country} au taux de {standard.normalize():f} % "
                       f"(art. 258 A du CGI, guichet unique OSS)") if standard is not None else None
            return Decision(regime, mention, decided)
    return Decision(regime, None, [(rate, domestic_category(rate), None) for _kind, rate, _subtotal in lines])


def above_threshold(session, invoice_date: dt.date, goods: Decimal, threshold: Decimal) -> bool:
    """Whether goods sold at a distance to EU consumers exceed ``threshold`` this year or did last year.

    The sale that crosses the threshold is the first taxed in the customer's country (CGI art. 258 A).
    """
    from sqlalchemy import case, func, select, type_coerce

    from core.models import Product
    from core.types import ScaledDecimal
    from plugins.billing.models import Invoice, InvoiceLine

    january = dt.date(invoice_date.year, 1, 1)
    signed = case((Invoice.kind == "credit_note", -InvoiceLine.subtotal), else_=InvoiceLine.subtotal)

    def total(when):
        return type_coerce(func.coalesce(func.sum(case((when, signed), else_=0)), 0), ScaledDecimal(2))

    query = (select(total(Invoice.invoice_date < january), total(Invoice.invoice_date >= january))
             .select_from(Invoice).join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
             .join(Product, Product.id == InvoiceLine.product_id)
             .where(Invoice.tax_regime == "eu_consumer", Invoice.state != "draft", Product.kind == "goods",
                    Invoice.invoice_date >= dt.date(invoice_date.year - 1, 1, 1), Invoice.invoice_date <= invoice_date))
    last_year, this_year = session.execute(query).one()
    return last_year > threshold or this_year + goods > threshold


def country_rates(session, country: str, day: dt.date) -> tuple[Decimal | None, Decimal | None]:
    """``(standard, reduced)`` rate of an EU country on ``day``; refused when the table has none."""
    from sqlalchemy import select

    from plugins.billing.models_tax import CountryRate

    found = {}
    for kind in ("standard", "reduced"):
        found[kind] = session.scalar(select(CountryRate.rate).where(
            CountryRate.country == country, CountryRate.kind == kind, CountryRate.valid_from <= day)
            .order_by(CountryRate.valid_from.desc()).limit(1))
    if found["standard"] is None:
        raise ValidationError(f"no VAT rate of {country} on {day.isoformat()} for a distance sale above the "
                              f"threshold (`crm vat rates --add {country} standard RATE --from DATE`)",
                              record=f"country {country}", field="rate")
    return found["standard"], found["reduced"] if found["reduced"] is not None else found["standard"]


def follow_origin(origin, lines) -> Decision:
    """A credit note's VAT: its invoice's regime and mention; each line the category of the line it credits
    (or, for a line of its own, of the invoice's lines at the same rate)."""
    by_id = {line.id: line for line in origin.lines}
    by_rate = {}
    for line in origin.lines:
        by_rate.setdefault(line.vat_rate, line)
    decided = []
    for line in lines:
        source = by_id.get(line.origin_line_id) or by_rate.get(line.vat_rate)
        if source is None:
            decided.append((line.vat_rate, domestic_category(line.vat_rate), None))
        else:
            decided.append((source.vat_rate, source.vat_category, source.vat_exemption))
    return Decision(origin.tax_regime or "domestic", origin.vat_mention, decided)


def apply_taxes(app, session, invoice, partner) -> None:
    """Set each line's rate, category and exemption, and the invoice's regime and mention (the ORM path)."""
    from core.services.company import get_company
    from plugins.billing.settings import settings

    if invoice.kind == "credit_note" and invoice.origin is not None:
        decision = follow_origin(invoice.origin, invoice.lines)
    else:
        customer = {"id": partner.id, "name": partner.name, "country": partner.country, "vat_number": partner.vat_number}
        regime = customer_regime(session, partner.id, partner.country, partner.is_business)
        decision = decide(session, franchise=bool(get_company(session).vat_franchise), customer=customer, regime=regime,
                          lines=[(line.product.kind if line.product is not None else None, line.vat_rate,
                                  _subtotal(line)) for line in invoice.lines],
                          invoice_date=invoice.invoice_date, threshold=settings(app)["distance_selling_threshold"])
    invoice.tax_regime, invoice.vat_mention = decision.regime, decision.mention
    for line, (rate, category, exemption) in zip(invoice.lines, decision.lines):
        line.vat_rate, line.vat_category, line.vat_exemption = rate, category, exemption


def _subtotal(line) -> Decimal:
    from core.types import round_money

    return round_money(line.quantity * line.unit_price * (100 - line.discount) / 100)
