"""The purchase order as a printed document: the page the supplier receives (PDF by the kernel).

One kind, ``procurement.purchase_order``: buyer (the company) and supplier identities, the
delivery address (the company's), the lines with their expected delivery dates, and the totals
with VAT per rate. The page is ``procurement/purchase_order.html``, written in English and
translated through ``templates/i18n/<language>.po``; a business overrides either in its
``[templates] folder``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from core.documents import Document, DocumentKind
from core.types import round_money

KIND = "procurement.purchase_order"


def document_kinds() -> list[DocumentKind]:
    """The documents procurement prints (registered through ``register_documents``)."""
    return [DocumentKind(KIND, "a purchase order, as sent to the supplier", render=render_purchase_order,
                         reader_locale=supplier_locale)]


def supplier_locale(app, session, ref: str) -> str:
    """The supplier's language (``crm partner edit N --language en``), else the company's."""
    from core.services.company import reader_locale
    from plugins.procurement.services_purchase import get_purchase_order

    return reader_locale(app, get_purchase_order(session, ref).supplier)


def render_purchase_order(app, session, ref: str, locale: str) -> Document:
    """Purchase order ``ref`` (id or number) as a complete A4 page in ``locale``."""
    from core.rendering import gettext, render
    from plugins.procurement.services_purchase import get_purchase_order

    order = get_purchase_order(session, ref)
    _ = gettext(app, locale)
    number = order.number or f"{order.id}"
    data = purchase_order_document(app, session, order, locale=locale)
    from core.services.company import get_company, identity

    html = render(app, "procurement/purchase_order.html", locale=locale, order=data,
                  company=_company_for_print(app, identity(get_company(session)), locale))
    return Document(title=f"{_('Purchase order')} {number}", filename=f"{_('purchase-order')}-{number}", html=html)


def _company_for_print(app, company: dict, locale: str) -> dict:
    """The sender's identity as the page prints it (the share capital as money, the registration)."""
    from core.rendering import environment

    capital = company.get("share_capital")
    return {**company, "currency": app.config.company.currency,
            "share_capital_text": environment(app, locale=locale).filters["money"](Decimal(capital)) if capital else None}


def purchase_order_document(app, session, order, *, locale: str | None = None) -> dict:
    """What the page prints: :func:`purchase_order_dict` plus identities, VAT and delivery dates.

    VAT is computed per rate on the sum of that rate's line amounts (as on a French invoice), so
    the VAT printed per rate is exactly what the total adds up to. The purchase VAT rate of a line
    is its product's rate. Unit prices keep their four decimals (``unit_price_text``): a price of
    4.125 printed 4.12 would not multiply out to the line's amount.
    """
    from babel.numbers import format_currency

    from plugins.procurement.services_purchase import purchase_order_dict

    data = purchase_order_dict(order)
    supplier = order.supplier
    data["supplier"] = {key: getattr(supplier, key) for key in (
        "id", "name", "email", "phone", "street", "postal_code", "city", "country", "siren", "vat_number")}
    from core.services.company import get_company

    company, settings = get_company(session), app.config.company
    # our delivery address: the company's (a warehouse elsewhere would be a setting of its own)
    data["delivery"] = {"name": company.name, "street": company.street, "postal_code": company.postal_code,
                        "city": company.city, "country": company.country}
    sent_on = order.confirmed_at or app.today  # a draft is printed as if it left today
    expected = expected_dates(session, order, sent_on)
    per_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line, row in zip(order.lines, data["lines"]):
        rate = line.product.vat_rate
        per_rate[rate] += Decimal(row["subtotal"])
        row["vat_rate"] = str(rate)
        row["unit"] = line.product.unit
        row["unit_price_text"] = format_currency(line.unit_price.normalize(), settings.currency,
                                                 locale=locale or settings.locale, decimal_quantization=False)
        day = expected.get(line.id)
        row["expected_date"] = day.isoformat() if day else None
    data["vat"] = [{"rate": str(rate), "base": str(base), "tax": str(round_money(base * rate / Decimal(100)))}
                   for rate, base in sorted(per_rate.items(), reverse=True)]
    tax = sum((Decimal(v["tax"]) for v in data["vat"]), Decimal("0.00"))
    data["total_tax"] = str(tax)
    data["total"] = str(Decimal(data["total_untaxed"]) + tax)
    data["sent_on"] = sent_on.isoformat()
    return data


def expected_dates(session, order, sent_on: dt.date) -> dict[int, dt.date]:
    """Each line's expected delivery: the day the order is sent plus the lead time, never earlier
    than the date the line already carries.

    The lead time is the reorder rule's, else that of the supplier's price break the line's
    quantity reaches (the reorder rule's formula); a line with neither keeps its own date.
    """
    from plugins.procurement.models import ReorderRule, SupplierPrice

    product_ids = {line.product_id for line in order.lines}
    tiers: dict[int, list] = defaultdict(list)
    for product_id, minimum, lead in session.execute(
            select(SupplierPrice.product_id, SupplierPrice.minimum_quantity, SupplierPrice.lead_time_days)
            .where(SupplierPrice.supplier_id == order.supplier_id, SupplierPrice.product_id.in_(product_ids))
            .order_by(SupplierPrice.minimum_quantity)):
        tiers[product_id].append((minimum, lead))
    rule_ids = {line.rule_id for line in order.lines if line.rule_id}
    rule_leads = dict(session.execute(select(ReorderRule.id, ReorderRule.lead_time_days)
                                      .where(ReorderRule.id.in_(rule_ids))).all()) if rule_ids else {}
    dates = {}
    for line in order.lines:
        lead = rule_leads.get(line.rule_id)
        if lead is None:
            reached = [days for minimum, days in tiers.get(line.product_id, []) if minimum <= line.quantity]
            lead = reached[-1] if reached else None
        candidates = [d for d in (line.expected_date,
                                  sent_on + dt.timedelta(days=lead) if lead is not None else None) if d]
        dates[line.id] = max(candidates) if candidates else None
    return dates
