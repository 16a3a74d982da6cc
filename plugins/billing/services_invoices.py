"""Invoices and credit notes: drafts, posting (number, mentions, instalments), holds.

State machine (data, one function per transition):

    draft --post--> posted --(payments, credit notes)--> partially_paid --> paid | credited

A posted invoice is immutable: its lines, amounts, parties and dates can no longer change (a
mapper guard refuses the write, whatever code tries it); it is never deleted, only cancelled in
whole or in part by a credit note. Numbers are given at posting, continuous per year and series.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import selectinload

from core.errors import NotFound, StateError, ValidationError
from core.models import Partner, SalesOrder
from core.schemas import load
from core.services.orders import compute_totals
from core.types import round_money
from plugins.billing.mentions import check_mentions, operation_category, refusal
from plugins.billing.models import OPEN_STATES, Invoice, InvoiceLine
from plugins.billing.plainsql import PlainStatement, insert_statement

TRANSITIONS = {"post": (("draft",), "posted")}
HOLDABLE = OPEN_STATES
#: what posting freezes
FROZEN = ("number", "kind", "partner_id", "invoice_date", "total_untaxed", "total_tax", "total", "term_id",
          "currency", "seller_name", "seller_siren", "seller_vat_number", "seller_identity", "buyer_name", "buyer_siren",
          "buyer_vat_number", "buyer_address", "delivery_address", "delivery_country", "penalty_rate", "recovery_indemnity", "final_due_date",
          "discount_percent", "discount_until", "tax_regime", "vat_mention")


def _move(invoice: Invoice, action: str) -> None:
    sources, target = TRANSITIONS[action]
    if invoice.state not in sources:
        raise StateError(f"invoice {label(invoice)}: cannot {action} an invoice that is {invoice.state} "
                         f"(only from {' or '.join(sources)})")
    invoice.state = target


def label(invoice: Invoice) -> str:
    return invoice.number or f"draft #{invoice.id}"


# --- the immutability guard -------------------------------------------------------------------

def _was_posted(invoice: Invoice) -> bool:
    """Whether the invoice was already posted when this transaction last wrote it."""
    history = inspect(invoice).attrs.state.history
    was = history.deleted[0] if history.deleted else invoice.state
    return was not in (None, "draft")


@event.listens_for(Invoice, "before_update")
def _frozen_invoice(mapper, connection, target):
    if not _was_posted(target):
        return
    for name in FROZEN:
        if inspect(target).attrs[name].history.has_changes():
            raise StateError(f"invoice {label(target)}: {name} cannot change, the invoice is posted "
                             f"(issue a credit note)")


@event.listens_for(Invoice, "before_delete")
def _kept_invoice(mapper, connection, target):
    if _was_posted(target):
        raise StateError(f"invoice {label(target)} is posted: it is never deleted (issue a credit note)")


@event.listens_for(InvoiceLine, "before_update")
def _frozen_line(mapper, connection, target):
    changed = any(attr.history.has_changes() for attr in inspect(target).attrs)
    if changed and target.invoice is not None and _was_posted(target.invoice):
        raise StateError(f"invoice {label(target.invoice)}: line {target.sequence} cannot change, the invoice is "
                         f"posted (issue a credit note)")


@event.listens_for(InvoiceLine, "before_delete")
def _kept_line(mapper, connection, target):
    if target.invoice is not None and _was_posted(target.invoice):
        raise StateError(f"invoice {label(target.invoice)}: line {target.sequence} cannot be deleted, the invoice "
                         f"is posted (issue a credit note)")


# --- creating -----------------------------------------------------------------------------------

def _new_invoice(app, session, partner: Partner, *, kind: str = "invoice", term=None, invoice_date=None,
                 salesperson_id=None, order_id=None, origin_id=None, note=None) -> Invoice:
    from plugins.billing.services_terms import term_for_partner

    if kind == "invoice" and term is None:
        term = term_for_partner(app, session, partner.id)
    return Invoice(kind=kind, state="draft", partner=partner, term=term, invoice_date=invoice_date or app.today,
                   salesperson_id=salesperson_id if salesperson_id is not None else partner.salesperson_id,
                   order_id=order_id, origin_id=origin_id, currency=app.config.company.currency, note=note)


def create_invoice(app, session, raw: dict, *, post: bool = False) -> Invoice:
    """An invoice typed by hand (a draft unless ``post``); prices default to the list price."""
    from core.services.catalog import get_product
    from core.services.partners import get_partner
    from core.services.people import get_user
    from plugins.billing.schemas import InvoiceSchema
    from plugins.billing.services_terms import get_term

    data = load(InvoiceSchema(), raw, "invoice")
    partner = get_partner(session, data["customer"])
    if not partner.is_customer:
        raise ValidationError(f"{partner.name} is not a customer", record="invoice", field="customer")
    term = get_term(session, data["term"]) if data["term"] else None
    salesperson = get_user(session, data["salesperson"]).id if data["salesperson"] else None
    invoice = _new_invoice(app, session, partner, term=term, invoice_date=data["invoice_date"],
                           salesperson_id=salesperson, note=data["note"])
    for sequence, line in enumerate(data["lines"], start=1):
        product = get_product(session, line["sku"])
        invoice.lines.append(InvoiceLine(
            sequence=sequence, product=product, description=line["description"] or product.name,
            quantity=line["quantity"], discount=line["discount"], vat_rate=product.vat_rate,
            unit_price=product.list_price if line["unit_price"] is None else line["unit_price"]))
    compute_totals(invoice)
    session.add(invoice)
    session.flush()
    if post:
        post_invoice(app, session, invoice)
    return invoice


def invoice_from_order(app, session, order: SalesOrder) -> Invoice:
    """The invoice of a confirmed order (once per order); posted at once if ``post_on_confirm``."""
    return session.get(Invoice, order_invoice_id(app, session, order))


def order_invoice_id(app, session, order: SalesOrder) -> int:
    """:func:`invoice_from_order` without loading the invoice back: its id (the confirmation hook's path).

    The usual case (posting on confirmation, an order with lines and a total above zero, rates
    known, the series' last date not after today) is written in five plain statements from the
    order's lines, already in memory: one read of everything posting needs (the customer, their
    term and its instalments, the penalty rates of the half-year, an invoice already made), the
    number (the series row updated, hence locked, as :func:`next_number` does), then inserts of the
    invoice, its lines and its instalments. Nothing is cached across transactions, so an edited
    term, customer or rate counts at once. Whatever falls outside that case (a draft left by
    ``post_on_confirm = false``, an order to refuse, the year's first number, a date before the
    series' last one) takes the general path, which raises the same errors as before.
    """
    from core.db import utcnow
    from plugins.billing.settings import settings

    options = settings(app)
    if not options["post_on_confirm"] or not order.lines:
        return _invoice_from_order_orm(app, session, order).id
    session.flush()  # what the transaction changed so far is what the read below must see
    connection = session.connection()
    today = app.today
    rows = _ORDER_FACTS.rows(connection, {
        "order_id": order.id, "partner_id": order.customer_id, "default_term": _term_code(options["default_term"]),
        "half_year": dt.date(today.year, 1 if today.month <= 6 else 7, 1)})
    if rows and rows[0][_EXISTING] is not None:
        return rows[0][_EXISTING]
    facts = _post_facts(app, session, options, order, rows)
    if facts is None:
        return _invoice_from_order_orm(app, session, order).id
    values, lines, dues = facts
    taken = _TAKE_NUMBER.rows(connection, {"series": f"F{today.year}", "day": today})
    if not taken:  # first invoice of the year, or a later date already numbered: the general path
        return _invoice_from_order_orm(app, session, order).id
    values["number"] = f"F{today.year}-{taken[0][0]:06d}"
    values["created_at"] = utcnow()
    invoice_id = _INSERT_INVOICE.rows(connection, values)[0][0]
    for line in lines:
        line["invoice_id"] = invoice_id
    _INSERT_LINE.execute_many(connection, lines)
    for due in dues:
        due["invoice_id"] = invoice_id
    _INSERT_DUE.execute_many(connection, dues)
    if app.pm.hook.invoice_posted.get_hookimpls():  # only load the invoice back for a module that listens
        app.call("invoice_posted", app=app, session=session, invoice=session.get(Invoice, invoice_id))
    return invoice_id


def _term_code(code) -> str:
    return str(code).strip().upper()  # as ``get_term`` reads it


def _order_facts():
    from sqlalchemy import Date, Integer, String, bindparam, text

    from core.types import ScaledDecimal

    percent = ScaledDecimal(2)
    rate = ("(SELECT r.rate FROM billing_rate r WHERE r.kind = '{kind}' AND r.valid_from <= :half_year "
            "ORDER BY r.valid_from DESC LIMIT 1)")
    return text(
        "SELECT p.name, p.kind, p.street, p.postal_code, p.city, p.siren, p.vat_number, p.salesperson_id, "
        "t.id AS term_id, t.discount_percent, t.discount_days, l.percent, l.method, l.days, "
        "(SELECT i.id FROM billing_invoice i WHERE i.order_id = :order_id AND i.kind = 'invoice') AS existing_id, "
        f"{rate.format(kind='ecb_refinancing')} AS ecb_rate, {rate.format(kind='legal')} AS legal_rate, "
        "p.country, "
        # the nature of the operation: goods, service, or mixed when the order has both
        "(SELECT CASE WHEN MIN(pr.kind) = MAX(pr.kind) THEN MIN(pr.kind) ELSE 'mixed' END "
        "FROM core_sales_order_line ol JOIN core_product pr ON pr.id = ol.product_id "
        "WHERE ol.order_id = :order_id) AS operation_kind, "
        "(SELECT r.regime FROM billing_partner_regime r WHERE r.partner_id = p.id) AS regime "
        "FROM core_partner p "
        "LEFT JOIN billing_partner_term pt ON pt.partner_id = p.id "
        "JOIN billing_payment_term t ON t.id = COALESCE(pt.term_id, "
        "(SELECT d.id FROM billing_payment_term d WHERE d.code = :default_term)) "
        "JOIN billing_payment_term_line l ON l.term_id = t.id "
        "WHERE p.id = :partner_id ORDER BY l.sequence"
    ).bindparams(bindparam("half_year", type_=Date()), bindparam("order_id", type_=Integer()),
                 bindparam("partner_id", type_=Integer()), bindparam("default_term", type_=String())
    ).columns(name=String(), kind=String(), street=String(), postal_code=String(), city=String(),
              siren=String(), vat_number=String(), salesperson_id=Integer(), term_id=Integer(),
              discount_percent=percent, discount_days=Integer(), percent=percent, method=String(),
              days=Integer(), existing_id=Integer(), ecb_rate=percent, legal_rate=percent, country=String(),
              operation_kind=String(), regime=String())


def _take_number():
    """The series' next value, taken by updating its row (see :func:`next_number`)."""
    from sqlalchemy import Date, String, bindparam, text

    return text(
        "UPDATE billing_sequence SET last_value = last_value + 1, last_date = :day "
        "WHERE series = :series AND (last_date IS NULL OR last_date <= :day) RETURNING last_value"
    ).bindparams(bindparam("day", type_=Date()), bindparam("series", type_=String()))


#: the columns of the facts row, by position
(_NAME, _KIND, _STREET, _POSTAL_CODE, _CITY, _SIREN, _VAT_NUMBER, _SALESPERSON, _TERM, _DISCOUNT_PERCENT,
 _DISCOUNT_DAYS, _PERCENT, _METHOD, _DAYS, _EXISTING, _ECB_RATE, _LEGAL_RATE, _COUNTRY, _OPERATION_KIND,
 _REGIME) = range(20)
_INVOICE_COLUMNS = ["number", "kind", "state", "partner_id", "order_id", "origin_id", "salesperson_id", "term_id",
                    "invoice_date", "posted_on", "due_date", "final_due_date", "currency", "total_untaxed",
                    "total_tax", "total", "settled", "residual", "hold", "hold_reason", "seller_name",
                    "seller_siren", "seller_vat_number", "seller_address", "seller_identity", "buyer_name", "buyer_siren",
                    "buyer_vat_number", "buyer_address", "delivery_address", "delivery_country",
                    "buyer_is_business", "operation_category", "penalty_rate",
                    "recovery_indemnity", "early_discount", "discount_percent", "discount_until", "note",
                    "created_at", "tax_regime", "vat_mention"]
_LINE_COLUMNS = ["invoice_id", "sequence", "product_id", "description", "quantity", "unit_price", "discount",
                 "vat_rate", "vat_category", "vat_exemption", "subtotal", "origin_line_id"]
_DUE_COLUMNS = ["invoice_id", "sequence", "due_date", "amount"]


def _tables():
    from plugins.billing.models import InvoiceDue

    return Invoice.__table__, InvoiceLine.__table__, InvoiceDue.__table__


_ORDER_FACTS = PlainStatement(_order_facts)
_TAKE_NUMBER = PlainStatement(_take_number)
_INSERT_INVOICE = PlainStatement(lambda: insert_statement(_tables()[0], _INVOICE_COLUMNS, returning="id")())
_INSERT_LINE = PlainStatement(lambda: insert_statement(_tables()[1], _LINE_COLUMNS)())
_INSERT_DUE = PlainStatement(lambda: insert_statement(_tables()[2], _DUE_COLUMNS)())


def _post_facts(app, session, options, order: SalesOrder, rows):
    """``(invoice values, lines, instalments)`` of the order's posted invoice, exactly as
    :func:`post_invoice` makes them; None when the general path must decide (and raise)."""
    from types import SimpleNamespace

    from plugins.billing.services_terms import schedule

    if not rows or rows[0][_ECB_RATE] is None or rows[0][_LEGAL_RATE] is None:
        return None  # unknown term, or no rate for the half-year: the general path says which
    first = rows[0]
    lines = [SimpleNamespace(sequence=line.sequence, product_id=line.product_id, description=line.description,
                             quantity=line.quantity, unit_price=line.unit_price, discount=line.discount,
                             vat_rate=line.vat_rate) for line in order.lines]
    totals = SimpleNamespace(lines=lines)
    compute_totals(totals)  # the kernel's own rule, as post_invoice applies it
    if totals.total <= 0:
        return None
    from core.services.company import get_company, identity

    company = get_company(session)
    buyer = {"name": first[_NAME], "kind": first[_KIND], "street": first[_STREET], "postal_code": first[_POSTAL_CODE],
             "city": first[_CITY], "country": first[_COUNTRY], "siren": first[_SIREN], "vat_number": first[_VAT_NUMBER]}
    if refusal(company, buyer, order.customer_id):
        return None  # the general path refuses, naming every missing mention
    business = first[_KIND] == "company"  # ``Partner.is_business``
    taxes = _order_taxes(app, session, options, order, first, company, business, lines)
    for line, (rate, category, exemption) in zip(lines, taxes.lines):
        line.vat_rate, line.vat_category, line.vat_exemption = rate, category, exemption
    compute_totals(totals)
    seller = identity(company)
    today = app.today
    dues = schedule(totals.total, today, [(row[_PERCENT], row[_METHOD], row[_DAYS]) for row in rows])
    discount_percent, until = _discount_offered(first[_DISCOUNT_PERCENT], first[_DISCOUNT_DAYS], today)
    buyer = SimpleNamespace(street=first[_STREET], postal_code=first[_POSTAL_CODE], city=first[_CITY])
    delivery = order_delivery(order)
    values = {
        "kind": "invoice", "state": "posted", "partner_id": order.customer_id, "order_id": order.id,
        "origin_id": None, "salesperson_id": order.salesperson_id if order.salesperson_id is not None
        else first[_SALESPERSON], "term_id": first[_TERM], "invoice_date": today, "posted_on": today,
        "due_date": dues[0][0], "final_due_date": dues[-1][0], "currency": app.config.company.currency,
        "total_untaxed": totals.total_untaxed, "total_tax": totals.total_tax, "total": totals.total,
        "settled": Decimal("0.00"), "residual": totals.total, "hold": None, "hold_reason": None,
        "seller_name": seller["name"], "seller_siren": seller["siren"], "seller_vat_number": seller["vat_number"],
        "seller_address": address_text(SimpleNamespace(**seller)) or None,
        "seller_identity": json.dumps(seller, sort_keys=True),
        "buyer_name": first[_NAME], "buyer_siren": first[_SIREN], "buyer_vat_number": first[_VAT_NUMBER],
        "buyer_address": address_text(buyer) or None, "buyer_is_business": business,
        "delivery_address": delivery[0], "delivery_country": delivery[1],
        "operation_category": operation_category([first[_OPERATION_KIND]], options["operation_category"]),
        "penalty_rate": max(first[_ECB_RATE] + options["penalty_margin"], 3 * first[_LEGAL_RATE]),
        "recovery_indemnity": options["recovery_indemnity"] if business else None,
        "early_discount": _discount_mention(discount_percent, until), "discount_percent": discount_percent,
        "discount_until": until, "note": f"Commande {order.number}",
        "tax_regime": taxes.regime, "vat_mention": taxes.mention,
    }
    line_rows = [{"sequence": l.sequence, "product_id": l.product_id, "description": l.description,
                  "quantity": l.quantity, "unit_price": l.unit_price, "discount": l.discount,
                  "vat_rate": l.vat_rate, "vat_category": l.vat_category, "vat_exemption": l.vat_exemption,
                  "subtotal": l.subtotal, "origin_line_id": None} for l in lines]
    due_rows = [{"sequence": n, "due_date": day, "amount": amount} for n, (day, amount) in enumerate(dues, start=1)]
    return values, line_rows, due_rows


def _order_taxes(app, session, options, order: SalesOrder, first, company, business: bool, lines):
    """:func:`plugins.billing.taxes.decide` for the order's lines (product kinds read only when mixed)."""
    from plugins.billing.taxes import decide, derived_regime

    regime = first[_REGIME] or derived_regime(first[_COUNTRY], business)
    kind = {"goods": "goods", "service": "service"}.get(first[_OPERATION_KIND])
    kinds = [kind] * len(lines) if kind or regime == "domestic" else [line.product.kind for line in order.lines]
    customer = {"id": order.customer_id, "name": first[_NAME], "country": first[_COUNTRY],
                "vat_number": first[_VAT_NUMBER]}
    return decide(session, franchise=bool(company.vat_franchise), customer=customer, regime=regime,
                  lines=[(k, line.vat_rate, line.subtotal) for k, line in zip(kinds, lines)],
                  invoice_date=app.today, threshold=options["distance_selling_threshold"])


def _invoice_from_order_orm(app, session, order: SalesOrder) -> Invoice:
    """The general path of :func:`invoice_from_order`, through the mapped objects."""
    from plugins.billing.settings import settings

    existing = session.scalars(select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == "invoice")).first()
    if existing is not None:
        return existing
    invoice = _new_invoice(app, session, order.customer, salesperson_id=order.salesperson_id, order_id=order.id,
                           note=f"Commande {order.number}")
    for line in order.lines:
        invoice.lines.append(InvoiceLine(sequence=line.sequence, product_id=line.product_id,
                                         description=line.description, quantity=line.quantity,
                                         unit_price=line.unit_price, discount=line.discount,
                                         vat_rate=line.vat_rate))
    compute_totals(invoice)
    session.add(invoice)
    session.flush()
    if settings(app)["post_on_confirm"]:
        post_invoice(app, session, invoice)
    return invoice


def on_order_cancelled(app, session, order: SalesOrder) -> None:
    """A draft invoice is deleted with its order; a posted one not wholly credited refuses the cancel."""
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == "invoice")).first()
    if invoice is None:
        return
    if invoice.state == "draft":
        session.delete(invoice)
        session.flush()
        return
    credited = session.scalar(select(func.coalesce(func.sum(Invoice.total), 0)).where(
        Invoice.origin_id == invoice.id, Invoice.kind == "credit_note")) or 0
    if Decimal(credited) < invoice.total:
        raise StateError(f"order {order.number}: invoice {invoice.number} is posted; credit it first "
                         f"(`crm invoice credit {invoice.number}`)")


# --- posting ------------------------------------------------------------------------------------

def next_number(app, session, invoice: Invoice, prefix: str | None = None) -> str:
    """Take the next number of the invoice's series in this transaction (gapless, see the docstring).

    The usual case is one statement: ``UPDATE ... SET last_value = last_value + 1 ... RETURNING``
    on the series row, if the series exists and its last date is not after this invoice's. The
    UPDATE locks the row until our commit or rollback, as ``FOR UPDATE`` does: a concurrent poster
    waits, then (PostgreSQL re-reads the row it waited for) increments what we committed, so a
    number is never given twice and a rolled-back posting leaves no hole. Otherwise the series row
    is created if missing (``ON CONFLICT DO NOTHING``: two first posters of a year do not collide),
    then locked ``FOR UPDATE`` and read, and a date before the series' last one is refused.
    """
    prefix = prefix or ("F" if invoice.kind == "invoice" else "AV")  # "PEN": penalty invoices (services_penalties)
    series = f"{prefix}{invoice.invoice_date.year}"
    taken = _TAKE_NUMBER.rows(session.connection(), {"series": series, "day": invoice.invoice_date})
    value = taken[0][0] if taken else None
    if value is None:
        value = _first_or_refused_number(app, session, invoice, series)
    return f"{series}-{value:06d}"


def _first_or_refused_number(app, session, invoice: Invoice, series: str) -> int:
    """The series' first number (its row created), or the refusal of a date before its last one."""
    from sqlalchemy import update

    from core.dbutil import insert_ignore
    from plugins.billing.models import Sequence

    insert_ignore(session, Sequence.__table__, [{"series": series, "last_value": 0, "last_date": None}], ["series"])
    query = select(Sequence.last_value, Sequence.last_date).where(Sequence.series == series)
    if app.dialect == "postgresql":
        query = query.with_for_update()
    last_value, last_date = session.execute(query).one()
    if last_date is not None and invoice.invoice_date < last_date:
        raise ValidationError(f"dated {invoice.invoice_date.isoformat()}, before the last {series} invoice "
                              f"({last_date.isoformat()}): numbers must follow the dates", record=
                              f"invoice {label(invoice)}", field="invoice_date")
    value = last_value + 1
    session.execute(update(Sequence).where(Sequence.series == series).values(last_value=value,
                                                                          last_date=invoice.invoice_date))
    return value


def address_text(partner_or_company) -> str:
    """An address as an invoice freezes it: the street, then the postal code and city (blank parts left out)."""
    parts = [partner_or_company.street, " ".join(p for p in (partner_or_company.postal_code,
                                                             partner_or_company.city) if p)]
    return "\n".join(p for p in parts if p)


def order_delivery(order: SalesOrder | None) -> tuple[str | None, str | None]:
    """``(address, country)`` of the order's own delivery address, as posting freezes it; ``(None, None)``
    when the goods go to the customer's address."""
    if order is None or not order.delivery_street:
        return None, None
    from types import SimpleNamespace

    where = SimpleNamespace(street=order.delivery_street, postal_code=order.delivery_postal_code,
                            city=order.delivery_city)
    return address_text(where), order.delivery_country

def _discount_offered(percent: Decimal, days: int, invoice_date: dt.date) -> tuple[Decimal | None, dt.date | None]:
    """``(discount_percent, discount_until)`` an invoice freezes from its term: ``(None, None)`` without one.

    The window counts from the invoice date, both ends included: paid on ``discount_until`` is on time.
    """
    if not percent or percent <= 0:
        return None, None
    return percent, invoice_date + dt.timedelta(days=days)


def _discount_mention(percent: Decimal | None, until: dt.date | None) -> str:
    """The French mention printed on the invoice (documents.py reads this exact wording back)."""
    if percent is None:
        return "Pas d'escompte pour paiement anticipé"
    return f"Escompte de {percent.normalize():f} % pour paiement avant le {until.isoformat()}"


def post_invoice(app, session, invoice: Invoice, *, series: str | None = None) -> Invoice:
    """Draft -> posted: number, mentions, instalments, the discount offered; then ``invoice_posted``.

    An invoice freezes its term's early-payment discount as data (``discount_percent``,
    ``discount_until`` = invoice date + the term's days) beside the French mention
    (``early_discount``): :mod:`plugins.billing.services_payments` grants it to a payment on time.
    Immutable afterwards. ``series`` numbers it in another series than ``F``/``AV`` (``PEN``).
    """
    from plugins.billing.models import InvoiceDue
    from plugins.billing.services_rates import RateTable
    from plugins.billing.settings import settings
    from plugins.billing.services_terms import schedule, term_lines
    from plugins.billing.taxes import apply_taxes

    if invoice.state != "draft":
        _move(invoice, "post")  # raises with the state named
    if not invoice.lines:
        raise ValidationError("an invoice needs at least one line", record=f"invoice {label(invoice)}", field="lines")
    compute_totals(invoice)
    if invoice.total <= 0:
        raise ValidationError("the total must be above zero", record=f"invoice {label(invoice)}", field="total")
    options = settings(app)
    partner = invoice.partner
    seller = check_mentions(session, invoice, partner)  # before a number is taken: a refusal leaves no gap
    apply_taxes(app, session, invoice, partner)  # the regime's rates and categories, before the totals
    compute_totals(invoice)
    invoice.seller_name, invoice.seller_siren = seller["name"], seller["siren"]
    invoice.seller_vat_number = seller["vat_number"]
    invoice.seller_address = address_text(SimpleNamespace(**seller)) or None
    invoice.seller_identity = json.dumps(seller, sort_keys=True)
    invoice.buyer_name, invoice.buyer_siren, invoice.buyer_vat_number = partner.name, partner.siren, partner.vat_number
    invoice.buyer_address = address_text(partner) or None
    order = session.get(SalesOrder, invoice.order_id) if invoice.order_id and invoice.kind == "invoice" else None
    invoice.delivery_address, invoice.delivery_country = order_delivery(order)
    invoice.buyer_is_business = partner.is_business
    invoice.operation_category = operation_category(
        [line.product.kind if line.product is not None else None for line in invoice.lines],
        options["operation_category"])
    invoice.penalty_rate = RateTable(session, options["penalty_margin"]).penalty_rate(invoice.invoice_date)
    invoice.recovery_indemnity = options["recovery_indemnity"] if partner.is_business else None
    invoice.posted_on = app.today
    invoice.settled = Decimal("0.00")
    invoice.residual = invoice.total
    if invoice.kind == "invoice":
        term = invoice.term
        dues = schedule(invoice.total, invoice.invoice_date, term_lines(term))
        invoice.dues = [InvoiceDue(sequence=n, due_date=day, amount=amount)
                        for n, (day, amount) in enumerate(dues, start=1)]
        invoice.due_date, invoice.final_due_date = dues[0][0], dues[-1][0]
        invoice.discount_percent, invoice.discount_until = _discount_offered(
            term.discount_percent, term.discount_days, invoice.invoice_date)
        invoice.early_discount = _discount_mention(invoice.discount_percent, invoice.discount_until)
    invoice.number = next_number(app, session, invoice, series)
    _move(invoice, "post")
    session.flush()
    app.call("invoice_posted", app=app, session=session, invoice=invoice)
    return invoice


# --- credit notes -------------------------------------------------------------------------------

def credit_invoice(app, session, invoice: Invoice, lines: list[tuple[int, Decimal | None]] | None = None,
                   reason: str | None = None) -> Invoice:
    """A posted credit note cancelling all of ``invoice`` or some lines/quantities of it.

    ``lines`` is ``[(sequence, quantity or None for what is left of the line)]``. The credit goes
    to the invoice's open amount; what exceeds it (the invoice was paid) is the customer's credit.
    """
    from core.security import require

    require(app, session, "billing.invoice.credit")
    from plugins.billing.services_payments import apply_credit_note

    record = f"invoice {label(invoice)}"
    if invoice.kind != "invoice" or invoice.state == "draft":
        raise StateError(f"{record}: only a posted invoice can be credited (a draft is simply edited or deleted)")
    credited = dict(session.execute(
        select(InvoiceLine.origin_line_id, func.sum(InvoiceLine.quantity)).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.origin_id == invoice.id).group_by(InvoiceLine.origin_line_id)).all())
    by_sequence = {line.sequence: line for line in invoice.lines}
    wanted = lines if lines else [(sequence, None) for sequence in by_sequence]
    note = _new_invoice(app, session, invoice.partner, kind="credit_note", origin_id=invoice.id,
                        salesperson_id=invoice.salesperson_id,
                        note=f"Avoir sur facture {invoice.number}" + (f" : {reason}" if reason else ""))
    for sequence, quantity in wanted:
        line = by_sequence.get(sequence)
        if line is None:
            raise ValidationError(f"no line {sequence}", record=record, field="lines")
        left = line.quantity - (credited.get(line.id) or 0)
        if not lines and left <= 0:
            continue  # crediting "the rest": lines already wholly credited are left out
        quantity = left if quantity is None else Decimal(quantity).quantize(Decimal("0.001"))
        if quantity <= 0 or quantity > left:
            raise ValidationError(f"line {sequence}: {quantity} to credit, {left} left to credit", record=record,
                                  field="quantity")
        note.lines.append(InvoiceLine(sequence=len(note.lines) + 1, product_id=line.product_id,
                                      description=line.description, quantity=quantity, unit_price=line.unit_price,
                                      discount=line.discount, vat_rate=line.vat_rate, origin_line_id=line.id))
    if not note.lines:
        raise ValidationError("nothing left to credit", record=record, field="lines")
    _deduct_discount_granted(session, invoice, note)
    compute_totals(note)
    session.add(note)
    session.flush()
    post_invoice(app, session, note)
    apply_credit_note(app, session, note, invoice)
    return note


def _deduct_discount_granted(session, invoice: Invoice, note: Invoice) -> None:
    """Goods credited on an invoice paid with an early-payment discount are credited net of it.

    The customer paid the goods less the discount (the discount credit note took the rest), so
    crediting them at full price would hand the discount over twice. One line per VAT rate takes
    the discount percent off the credited base at that rate.
    """
    granted = session.scalar(select(func.count()).select_from(InvoiceLine).join(
        Invoice, Invoice.id == InvoiceLine.invoice_id).where(
        Invoice.origin_id == invoice.id, Invoice.kind == "credit_note", Invoice.state != "draft",
        InvoiceLine.origin_line_id.is_(None)))
    if not granted or not invoice.discount_percent:
        return
    per_rate: dict[Decimal, Decimal] = {}
    for line in note.lines:
        base = round_money(line.quantity * line.unit_price * (100 - line.discount) / 100)
        per_rate[line.vat_rate] = per_rate.get(line.vat_rate, Decimal(0)) + base
    percent = f"{invoice.discount_percent.normalize():f}"
    for rate, base in sorted(per_rate.items(), reverse=True):
        deduction = round_money(base * invoice.discount_percent / 100)
        if deduction > 0:
            note.lines.append(InvoiceLine(sequence=len(note.lines) + 1, quantity=Decimal(1), unit_price=-deduction,
                                          discount=Decimal(0), vat_rate=rate,
                                          description=f"Escompte de {percent} % déjà accordé, facture {invoice.number}"))


def discount_credit_note(app, session, invoice: Invoice, amount: Decimal, paid_on: dt.date) -> Invoice:
    """Post the early-payment discount credit note ("avoir d'escompte") of ``amount`` incl. VAT on ``invoice``.

    It reduces the VAT as well as the price (CGI art. 267-II-2°: an escompte is not part of the
    taxable amount), so it has one line per VAT rate of the invoice: see :func:`discount_bases`.
    Numbered in the ordinary credit-note series, dated today, ``invoice_posted`` fires as for any
    credit note. The caller allocates it (:func:`plugins.billing.services_payments.spread`).
    """
    percent = f"{invoice.discount_percent.normalize():f}"
    note = _new_invoice(app, session, invoice.partner, kind="credit_note", origin_id=invoice.id,
                        salesperson_id=invoice.salesperson_id,
                        note=f"Avoir sur facture {invoice.number} : escompte de {percent} % pour paiement "
                             f"anticipé le {paid_on.isoformat()}")
    for rate, base in discount_bases(invoice.lines, amount):
        note.lines.append(InvoiceLine(sequence=len(note.lines) + 1, description=f"Escompte de {percent} % "
                                      f"pour paiement anticipé, facture {invoice.number}", quantity=Decimal(1),
                                      unit_price=base, discount=Decimal(0), vat_rate=rate))
    compute_totals(note)
    session.add(note)
    session.flush()
    return post_invoice(app, session, note)


def discount_bases(lines, amount: Decimal) -> list[tuple[Decimal, Decimal]]:
    """``[(VAT rate, base excl. VAT)]`` of a discount of ``amount`` incl. VAT on an invoice of ``lines``.

    The amount is split over the invoice's rates in proportion to its base per rate, highest rate
    first, the last rate absorbing the rounding (so the parts add up to the cent). Each part is
    then a base whose VAT, rounded as on every invoice (``compute_totals``: base x rate, to the
    cent), makes the part: the credit note prints coherent VAT and totals exactly ``amount``.
    Some amounts have no such base at one rate (at 20 %, 2.02 + 0.40 = 2.42 and 2.03 + 0.41 = 2.44:
    nothing makes 2.43); a cent is then moved between rates, and with a single rate the note
    rounds up to the next reachable cent, in the customer's favour.
    """
    import itertools

    from core.types import CENT, round_money

    per_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        per_rate[line.vat_rate] = per_rate.get(line.vat_rate, Decimal(0)) + line.subtotal
    rates = sorted((rate for rate, base in per_rate.items() if base > 0), reverse=True)
    untaxed = sum((per_rate[rate] for rate in rates), Decimal(0))
    parts, left = [], amount
    for rate in rates[:-1]:
        part = min(round_money(amount * per_rate[rate] / untaxed), left)
        parts.append(part)
        left -= part
    parts.append(left)

    def gross(rate, base):
        return base + round_money(base * rate / Decimal(100))

    def base_within(rate, part):  # the largest base whose amount incl. VAT does not exceed ``part``
        base = round_money(part * Decimal(100) / (Decimal(100) + rate))
        while base > 0 and gross(rate, base) > part:
            base -= CENT
        while gross(rate, base + CENT) <= part:
            base += CENT
        return base

    # each rate but the last: the base within its part, or one cent above when the part is not reachable
    choices = [[base] if gross(rate, base) == part else [base, base + CENT]
               for rate, part in zip(rates[:-1], parts[:-1]) for base in [base_within(rate, part)]]
    fallback = None
    for bases in itertools.product(*choices):
        rest = amount - sum((gross(rate, base) for rate, base in zip(rates, bases)), Decimal(0))
        if rest < 0:
            continue
        last = base_within(rates[-1], rest)
        if gross(rates[-1], last) == rest:
            return [(rate, base) for rate, base in zip(rates, (*bases, last)) if base > 0]
        if fallback is None:
            fallback = (*bases, last + CENT)
    return [(rate, base) for rate, base in zip(rates, fallback) if base > 0]


# --- holds ----------------------------------------------------------------------------------------

def set_hold(session, invoice: Invoice, hold: str | None, reason: str | None = None) -> Invoice:
    """Mark an open invoice disputed or blocked (no reminder while held), or release it (``None``)."""
    record = f"invoice {label(invoice)}"
    if hold is not None:
        if invoice.state not in HOLDABLE:
            raise StateError(f"{record} is {invoice.state}: only an open invoice can be {hold}")
        if not (reason or "").strip():
            raise ValidationError("a reason is required", record=record, field="reason")
    elif invoice.hold is None:
        raise StateError(f"{record} is neither disputed nor blocked")
    invoice.hold, invoice.hold_reason = hold, (reason or "").strip() or None
    session.flush()
    return invoice


# --- reading --------------------------------------------------------------------------------------

def get_invoice(session, ref, *, lock: bool = False) -> Invoice:
    """An invoice or credit note by number (or id)."""
    text = str(ref).strip()
    query = select(Invoice).options(selectinload(Invoice.lines), selectinload(Invoice.dues))
    query = query.where(Invoice.id == int(text)) if text.isdigit() else query.where(Invoice.number == text.upper())
    if lock:
        query = query.with_for_update()
    invoice = session.scalars(query).first()
    if invoice is None:
        raise NotFound(f"invoice {text}: no such invoice (see `crm invoice list`)")
    return invoice
