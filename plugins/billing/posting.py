"""Posting an invoice: its number, the mentions it freezes, its instalments, then ``invoice_posted``.

A draft is made in memory (:func:`new_invoice`) and posted by :func:`post_invoice`; numbers are
taken at posting, continuous per year and series (:func:`take_number`), so a refused posting
consumes none. The confirmation of an order posts its invoice through
:mod:`plugins.billing.order_invoices`, which uses the same numbering and the same frozen texts.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from core.errors import ValidationError
from core.models import Partner, SalesOrder
from core.security import require
from core.services.orders import compute_totals
from plugins.billing.invoice_states import label, move
from plugins.billing.mentions import check_mentions, operation_category
from plugins.billing.models_invoices import Invoice


def new_invoice(app, session, partner: Partner, *, kind: str = "invoice", term=None, invoice_date=None,
                 salesperson_id=None, order_id=None, origin_id=None, note=None) -> Invoice:
    """A draft invoice (or credit note) of ``partner`` in memory, with the customer's term by default."""
    from plugins.billing.services_terms import term_for_partner

    if kind == "invoice" and term is None:
        term = term_for_partner(app, session, partner.id)
    return Invoice(kind=kind, state="draft", partner=partner, term=term, invoice_date=invoice_date or app.today,
                   salesperson_id=salesperson_id if salesperson_id is not None else partner.salesperson_id,
                   order_id=order_id, origin_id=origin_id, currency=app.config.company.currency, note=note)



def next_number(app, session, invoice: Invoice, prefix: str | None = None) -> str:
    """Take the next number of the invoice's series in this transaction (gapless, see :func:`take_number`)."""
    prefix = prefix or ("F" if invoice.kind == "invoice" else "AV")  # "PEN": penalty invoices (services_penalties)
    return take_number(app, session, prefix, invoice.invoice_date, f"invoice {label(invoice)}")


def take_number(app, session, prefix: str, day: dt.date, record: str) -> str:
    """The next number of the series ``prefix`` + year of ``day``, taken in this transaction.

    The usual case is one statement: ``UPDATE ... SET last_value = last_value + 1 ... RETURNING``
    on the series row, if the series exists and its last date is not after ``day``. The UPDATE
    locks the row until our commit or rollback, as ``FOR UPDATE`` does: a concurrent poster
    waits, then (PostgreSQL re-reads the row it waited for) increments what we committed, so a
    number is never given twice and a rolled-back posting leaves no hole. Otherwise the series row
    is created if missing (``ON CONFLICT DO NOTHING``: two first posters of a year do not collide),
    then locked ``FOR UPDATE`` and read, and a date before the series' last one is refused
    (``record`` names the invoice in the message).
    """
    series = f"{prefix}{day.year}"
    value = session.connection().execute(_next_value(), {"b_series": series, "b_day": day}).scalar()
    if value is None:
        value = _first_or_refused_number(app, session, series, day, record)
    return f"{series}-{value:06d}"


_STATEMENTS: dict = {}


def _next_value():
    """``UPDATE billing_sequence ... RETURNING last_value``, built once (then SQLAlchemy's cached compiled form)."""
    statement = _STATEMENTS.get("next_value")
    if statement is None:
        from sqlalchemy import bindparam, or_, update

        from plugins.billing.models import Sequence

        table = Sequence.__table__
        day = bindparam("b_day", type_=table.c.last_date.type)  # names apart from the columns'
        statement = _STATEMENTS["next_value"] = (
            update(table).where(table.c.series == bindparam("b_series"), or_(table.c.last_date.is_(None),
                                                                           table.c.last_date <= day))
            .values(last_value=table.c.last_value + 1, last_date=day).returning(table.c.last_value))
    return statement


def _first_or_refused_number(app, session, series: str, day: dt.date, record: str) -> int:
    """The series' first number (its row created), or the refusal of a date before its last one."""
    from sqlalchemy import update

    from core.dbutil import insert_ignore
    from plugins.billing.models import Sequence

    insert_ignore(session, Sequence.__table__, [{"series": series, "last_value": 0, "last_date": None}], ["series"])
    query = select(Sequence.last_value, Sequence.last_date).where(Sequence.series == series)
    if app.dialect == "postgresql":
        query = query.with_for_update()
    last_value, last_date = session.execute(query).one()
    if last_date is not None and day < last_date:
        raise ValidationError(f"dated {day.isoformat()}, before the last {series} invoice "
                              f"({last_date.isoformat()}): numbers must follow the dates", record=record,
                              field="invoice_date")
    value = last_value + 1
    session.execute(update(Sequence).where(Sequence.series == series).values(last_value=value, last_date=day))
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
    where = SimpleNamespace(street=order.delivery_street, postal_code=order.delivery_postal_code,
                            city=order.delivery_city)
    return address_text(where), order.delivery_country


def discount_offered(percent: Decimal, days: int, invoice_date: dt.date) -> tuple[Decimal | None, dt.date | None]:
    """``(discount_percent, discount_until)`` an invoice freezes from its term: ``(None, None)`` without one.

    The window counts from the invoice date, both ends included: paid on ``discount_until`` is on time.
    """
    if not percent or percent <= 0:
        return None, None
    return percent, invoice_date + dt.timedelta(days=days)


def discount_mention(percent: Decimal | None, until: dt.date | None) -> str:
    """The French mention printed on the invoice (documents.py reads this exact wording back)."""
    if percent is None:
        return "Pas d'escompte pour paiement anticipé"
    return f"Escompte de {percent.normalize():f} % pour paiement avant le {until.isoformat()}"


def post_invoice(app, session, invoice: Invoice, *, series: str | None = None,
                 right: str = "billing.invoice.post") -> Invoice:
    """Draft -> posted: number, mentions, instalments, the discount offered; then ``invoice_posted``.

    An invoice freezes its term's early-payment discount as data (``discount_percent``,
    ``discount_until`` = invoice date + the term's days) beside the French mention
    (``early_discount``): :mod:`plugins.billing.services_payments` grants it to a payment on time.
    Immutable afterwards. ``series`` numbers it in another series than ``F``/``AV`` (``PEN``).
    ``right``: what the posting is done under, checked here: posting by hand needs
    ``billing.invoice.post``; a flow that posts as its consequence names its own (an order's
    confirmation ``core.order.write``, a credit note ``billing.invoice.credit``...).
    """
    require(app, session, right)
    from plugins.billing.models import InvoiceDue
    from plugins.billing.services_rates import RateTable
    from plugins.billing.settings import settings
    from plugins.billing.services_terms import schedule, term_lines
    from plugins.billing.taxes import apply_taxes

    if invoice.state != "draft":
        move(invoice, "post")  # raises with the state named
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
        invoice.discount_percent, invoice.discount_until = discount_offered(
            term.discount_percent, term.discount_days, invoice.invoice_date)
        invoice.early_discount = discount_mention(invoice.discount_percent, invoice.discount_until)
    invoice.number = next_number(app, session, invoice, series)
    move(invoice, "post")
    session.flush()
    app.call("invoice_posted", app=app, session=session, invoice=invoice)
    return invoice
