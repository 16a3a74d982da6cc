"""Receivables: aging by bucket, DSO, invoice listings (set-based SQL, one query per report).

Aging works per instalment, as of any day (a past day is rebuilt from the dated allocations): what is settled covers the instalments oldest first, and each
instalment's open part is bucketed by its own due date — an invoice half due in 30 days and half
in 60 days is not all "1-30 days" late. Days late = today - due date; not due means due date >=
today (the due date itself is not late).

DSO = open receivables / invoiced over the last ``dso_days`` days (invoices less credit notes,
incl. VAT) x ``dso_days``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, bindparam, select, text

from plugins.billing.formatting import cents
from plugins.billing.models_invoices import Invoice

BUCKETS = ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90")


def aging(app, session, today: dt.date | None = None) -> dict:
    """``{"customers": [...], "totals": {...}, "dso": ...}`` with exact amounts as strings."""
    from plugins.billing.settings import settings

    today = today or app.today
    dso_days = settings(app)["dso_days"]
    params = {"today": today, "d30": today - dt.timedelta(days=30), "d60": today - dt.timedelta(days=60),
              "d90": today - dt.timedelta(days=90), "since": today - dt.timedelta(days=dso_days)}
    statement = text(f"""
        WITH {_dues_as_of(today != app.today)},
        open_dues AS (
            SELECT partner_id, due_date,
                   CASE WHEN running <= settled THEN 0
                        WHEN running - amount >= settled THEN amount
                        ELSE running - settled END AS open_amount
            FROM dues)
        SELECT partner_id,
               SUM(CASE WHEN due_date >= :today THEN open_amount ELSE 0 END),
               SUM(CASE WHEN due_date < :today AND due_date >= :d30 THEN open_amount ELSE 0 END),
               SUM(CASE WHEN due_date < :d30 AND due_date >= :d60 THEN open_amount ELSE 0 END),
               SUM(CASE WHEN due_date < :d60 AND due_date >= :d90 THEN open_amount ELSE 0 END),
               SUM(CASE WHEN due_date < :d90 THEN open_amount ELSE 0 END)
        FROM open_dues GROUP BY partner_id HAVING SUM(open_amount) > 0""").bindparams(
        *[bindparam(name, type_=Date) for name in ("today", "d30", "d60", "d90")])
    rows = {row[0]: [cents(v or 0) for v in row[1:]] for row in session.execute(statement, params)}
    sales = session.execute(text("""
        SELECT partner_id, SUM(CASE WHEN kind = 'invoice' THEN total ELSE -total END)
        FROM billing_invoice WHERE state <> 'draft' AND invoice_date > :since AND invoice_date <= :today
        GROUP BY partner_id""").bindparams(bindparam("since", type_=Date), bindparam("today", type_=Date)),
        params).all()
    sales_by = {partner_id: cents(amount or 0) for partner_id, amount in sales}
    from core.models import Partner

    # read through the record rules: a salesperson's aging has only the customers they see
    names = dict(session.execute(select(Partner.id, Partner.name).where(Partner.id.in_(list(rows) or [0]))).all())
    from core.recordrules import visible_users
    from core.security import current_actor

    if visible_users(current_actor(app, session)) is not None:
        seen = set(session.execute(select(Partner.id).where(Partner.id.in_(list(sales_by) or [0]))).scalars())
        rows = {p: amounts for p, amounts in rows.items() if p in names}
        sales_by = {p: amount for p, amount in sales_by.items() if p in seen}
    customers, totals = [], [Decimal("0.00")] * len(BUCKETS)
    for partner_id in sorted(rows, key=lambda p: (names.get(p, ""), p)):
        amounts = rows[partner_id]
        total = sum(amounts, Decimal("0.00"))
        totals = [a + b for a, b in zip(totals, amounts)]
        customers.append({"customer": names.get(partner_id), "customer_id": partner_id,
                          **{bucket: str(amount) for bucket, amount in zip(BUCKETS, amounts)},
                          "total": str(total), "dso": _dso(total, sales_by.get(partner_id), dso_days)})
    grand = sum(totals, Decimal("0.00"))
    return {"today": today.isoformat(), "dso_days": dso_days, "customers": customers,
            "totals": {**{bucket: str(amount) for bucket, amount in zip(BUCKETS, totals)}, "total": str(grand)},
            "sales": str(sum(sales_by.values(), Decimal("0.00"))),
            "dso": _dso(grand, sum(sales_by.values(), Decimal(0)), dso_days)}


def _dues_as_of(historic: bool) -> str:
    """The ``dues`` CTE: each instalment of an invoice with what was settled of it on ``:today``.

    For the business date itself that is the invoice's ``settled``, over the open invoices only
    (fast: the open set). For another day (a period report's last day) it is rebuilt from the
    allocations dated up to that day, over the invoices issued by then, whatever their state now:
    an invoice paid since was still owed on that day.
    """
    if not historic:
        return """dues AS (
            SELECT i.partner_id, d.due_date, d.amount, i.settled,
                   SUM(d.amount) OVER (PARTITION BY d.invoice_id ORDER BY d.sequence) AS running
            FROM billing_invoice_due d JOIN billing_invoice i ON i.id = d.invoice_id
            WHERE i.state IN ('posted', 'partially_paid') AND i.kind = 'invoice')"""
    return """settled_then AS (
            SELECT invoice_id, SUM(amount) AS amount FROM billing_allocation
            WHERE allocated_on <= :today GROUP BY invoice_id),
        dues AS (
            SELECT i.partner_id, d.due_date, d.amount, COALESCE(s.amount, 0) AS settled,
                   SUM(d.amount) OVER (PARTITION BY d.invoice_id ORDER BY d.sequence) AS running
            FROM billing_invoice_due d JOIN billing_invoice i ON i.id = d.invoice_id
            LEFT JOIN settled_then s ON s.invoice_id = i.id
            WHERE i.state <> 'draft' AND i.kind = 'invoice' AND i.invoice_date <= :today)"""


def _dso(receivables: Decimal, sales: Decimal | None, days: int) -> str | None:
    """Days of sales outstanding to one decimal; None without sales in the period."""
    if not sales or sales <= 0:
        return None
    return str((receivables / sales * days).quantize(Decimal("0.1")))


def list_invoices(session, *, today: dt.date, overdue: bool = False, state: str | None = None, customer=None,
                  kind: str | None = None, limit: int | None = None) -> list[Invoice]:
    """Invoices newest first; ``overdue``: open, not held, due date < today, oldest due first. Each
    with its customer, read in the same statement (a list shows the customer's name)."""
    query = invoices_query(session, today=today, overdue=overdue, state=state, customer=customer, kind=kind)
    return load_invoices(session, query.limit(limit) if limit else query)


def load_invoices(session, query) -> list[Invoice]:
    """The invoices of ``query`` with their customer, in one statement (the API reads a page of
    :func:`invoices_query` with it)."""
    from sqlalchemy.orm import joinedload

    return list(session.scalars(query.options(joinedload(Invoice.partner, innerjoin=True))))


def invoices_query(session, *, today: dt.date, overdue: bool = False, state: str | None = None, customer=None,
                   kind: str | None = None):
    """The ``Select`` of :func:`list_invoices` (the API reads it a page at a time)."""
    from core.services.partners import get_partner

    query = select(Invoice)
    if overdue:
        query = query.where(Invoice.state.in_(("posted", "partially_paid")), Invoice.kind == "invoice",
                            Invoice.due_date < today).order_by(Invoice.due_date, Invoice.id)
    else:
        query = query.order_by(Invoice.id.desc())
    if state:
        query = query.where(Invoice.state == state)
    if kind:
        query = query.where(Invoice.kind == kind)
    if customer is not None:
        query = query.where(Invoice.partner_id == get_partner(session, customer).id)
    return query


def invoice_row(invoice: Invoice, today: dt.date) -> dict:
    """The short shape used by listings."""
    late = (today - invoice.due_date).days if invoice.due_date and invoice.state in ("posted", "partially_paid") \
        and invoice.due_date < today else 0
    return {"number": invoice.number or f"draft #{invoice.id}", "id": invoice.id, "kind": invoice.kind,
            "state": invoice.state, "customer": invoice.partner.name, "invoice_date": invoice.invoice_date.isoformat(),
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None, "days_late": late,
            "total": str(invoice.total), "residual": str(invoice.residual), "hold": invoice.hold}


def invoice_dict(session, invoice: Invoice, today: dt.date) -> dict:
    """Everything about one invoice: lines, VAT per rate, instalments, payments, the legal mentions."""
    from core.services.orders import vat_breakdown
    from core.types import ScaledDecimal

    # read as rows: the payment models (and the bank's, which they name) stay unloaded for a show
    allocations = session.execute(text(
        "SELECT amount, allocated_on, payment_id, credit_note_id FROM billing_allocation"
        " WHERE invoice_id = :invoice ORDER BY id").columns(amount=ScaledDecimal(2), allocated_on=Date),
        {"invoice": invoice.id}).all()
    return {**invoice_row(invoice, today), "total_untaxed": str(invoice.total_untaxed),
            "total_tax": str(invoice.total_tax), "settled": str(invoice.settled), "currency": invoice.currency,
            "term": invoice.term.code if invoice.term else None, "posted_on": _iso(invoice.posted_on),
            "final_due_date": _iso(invoice.final_due_date), "hold_reason": invoice.hold_reason,
            "origin": invoice.origin.number if invoice.origin else None, "note": invoice.note,
            "lines": [{"sequence": l.sequence, "description": l.description, "quantity": str(l.quantity),
                       "unit_price": str(l.unit_price), "discount": str(l.discount), "vat_rate": str(l.vat_rate),
                       "vat_category": l.vat_category, "vat_exemption": l.vat_exemption,
                       "subtotal": str(l.subtotal)} for l in invoice.lines],
            "vat": vat_breakdown(invoice),
            "instalments": [{"sequence": d.sequence, "due_date": d.due_date.isoformat(), "amount": str(d.amount)}
                            for d in invoice.dues],
            "allocations": [{"amount": str(a.amount), "date": a.allocated_on.isoformat(), "payment": a.payment_id,
                             "credit_note": a.credit_note_id} for a in allocations],
            "mentions": {"seller": {**_frozen_identity(invoice), "name": invoice.seller_name,
                                    "siren": invoice.seller_siren, "vat_number": invoice.seller_vat_number,
                                    "address": invoice.seller_address},
                         "buyer": {"name": invoice.buyer_name, "siren": invoice.buyer_siren,
                                   "vat_number": invoice.buyer_vat_number, "address": invoice.buyer_address,
                                   "business": invoice.buyer_is_business},
                         "delivery": {"address": invoice.delivery_address, "country": invoice.delivery_country}
                         if invoice.delivery_address else None,
                         "operation_category": invoice.operation_category,
                         "penalty_rate": None if invoice.penalty_rate is None else str(invoice.penalty_rate),
                         "recovery_indemnity": None if invoice.recovery_indemnity is None
                         else str(invoice.recovery_indemnity),
                         "early_discount": invoice.early_discount,
                         "tax_regime": invoice.tax_regime, "vat_mention": invoice.vat_mention,
                         "payment_reference": invoice.number,
                         "cancels": None if invoice.kind != "credit_note" or invoice.origin is None
                         else ("whole" if invoice.total >= invoice.origin.total else "part")}}


def _frozen_identity(invoice: Invoice) -> dict:
    """The rest of the seller's identity posting froze (legal form, RCS, capital, bank, e-address)."""
    import json

    return json.loads(invoice.seller_identity) if invoice.seller_identity else {}


def _iso(value):
    return value.isoformat() if value else None
