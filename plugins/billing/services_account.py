"""A customer's account as billing sees it (``crm partner account``) and the statement (``crm partner statement``).

**Account** (the ``partner_account`` hook, section ``billing``): what is owed (``receivable``: the
open invoices' residuals), the customer's ``credit`` (unallocated payments and unused credit
notes), ``balance`` = receivable - credit, ``overdue`` (what is past due, today > due date), the
open invoices with their days late and reminder level, the payments with their allocations, the
open collection cases and their promises, and ``average_days_to_pay`` (invoice date to the last
payment, over the customer's paid invoices; ``average_days_late`` the same from the final due
date), ``null`` without a paid invoice.

**Statement** (document ``billing.statement``, the "relevé de compte" a customer receives), for a
period: the opening balance (invoices and refunds dated before it, less credit notes and
payments), every movement of the period in date order with the running balance, the closing
balance, and what is overdue at the period's end (per invoice: the instalments due before that
day not yet covered by the settlements booked by then). Positive balances are owed by the customer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from core.documents import Document, DocumentKind
from core.errors import NotFound, ValidationError

ZERO = Decimal("0.00")
PAYMENTS_SHOWN = 50


def account_section(app, session, partner):
    """Billing's section of ``partner``'s account (an ``AccountSection``), None for a partner never invoiced."""
    from plugins.billing.models import Invoice, OPEN_STATES, ReminderCase

    from core.services.partners import AccountSection
    from plugins.billing.services_collections import list_cases
    from plugins.billing.services_payments import customer_credit

    today = app.today
    invoices = session.scalars(select(Invoice).where(Invoice.partner_id == partner.id, Invoice.kind == "invoice",
                                                     Invoice.state.in_(OPEN_STATES))
                               .order_by(Invoice.due_date, Invoice.id)).all()
    levels = dict(session.execute(select(ReminderCase.invoice_id, ReminderCase.level).where(
        ReminderCase.partner_id == partner.id)).all())
    if not partner.is_customer and not invoices:
        return None
    receivable = sum((i.residual for i in invoices), ZERO)
    overdue = sum((i.residual for i in invoices if i.due_date and today > i.due_date), ZERO)
    credit = customer_credit(session, partner.id)
    open_invoices = [{"number": i.number, "invoice_date": i.invoice_date.isoformat(),
                      "due_date": i.due_date.isoformat(), "days_late": max((today - i.due_date).days, 0),
                      "total": str(i.total), "residual": str(i.residual), "state": i.state,
                      "level": levels.get(i.id, 0), "hold": i.hold} for i in invoices]
    payments = _payments(session, partner.id)
    cases = [c for c in list_cases(app, session) if c["customer_id"] == partner.id]
    promises = [{"case": c["case"], "promise_date": c["promise_date"], "amount": c["promise_amount"]}
                for c in cases if c["state"] == "promised"]
    days_to_pay, days_late = _payment_behaviour(session, partner.id)
    data = {"receivable": str(receivable), "credit": str(credit), "balance": str(receivable - credit),
            "overdue": str(overdue), "open_invoices": open_invoices, "payments": payments, "cases": cases,
            "promises": promises, "average_days_to_pay": days_to_pay, "average_days_late": days_late}
    summary = [("balance", str(receivable - credit)), ("receivable", str(receivable)), ("credit", str(credit)),
               ("overdue", str(overdue)), ("average days to pay", "-" if days_to_pay is None else str(days_to_pay)),
               ("average days late", "-" if days_late is None else str(days_late))]
    tables = [("Open invoices", open_invoices, [("number", "Invoice"), ("due_date", "Due"), ("days_late", "Days late"),
                                                 ("residual", "Open"), ("level", "Level"), ("hold", "Hold")]),
              ("Payments", [{**p, "allocated": ", ".join(f"{a['invoice']} {a['amount']}" for a in p["allocations"])}
                            for p in payments],
               [("date", "Date"), ("amount", "Amount"), ("reference", "Reference"), ("allocated", "Allocated"),
                ("unallocated", "Credit left")]),
              ("Collection cases", cases, [("case", "Case"), ("state", "State"), ("assignee", "Assignee"),
                                           ("level", "Level"), ("residual", "Open"), ("promise_date", "Promised for"),
                                           ("promise_amount", "Promised")])]
    return AccountSection(key="billing", title="Billing", order=20, data=data, summary=summary, tables=tables,
                          documents={"statement": "billing.statement"})


def _payments(session, partner_id: int) -> list[dict]:
    from plugins.billing.models import Allocation, Invoice, Payment

    found = session.scalars(select(Payment).where(Payment.partner_id == partner_id)
                            .order_by(Payment.payment_date.desc(), Payment.id.desc()).limit(PAYMENTS_SHOWN)).all()
    allocations: dict[int, list] = {}
    for payment_id, number, amount in session.execute(
            select(Allocation.payment_id, Invoice.number, Allocation.amount).join(Invoice, Invoice.id ==
                                                                                  Allocation.invoice_id)
            .where(Allocation.payment_id.in_([p.id for p in found] or [0])).order_by(Allocation.id)):
        allocations.setdefault(payment_id, []).append({"invoice": number, "amount": str(amount)})
    return [{"id": p.id, "date": p.payment_date.isoformat(), "amount": str(p.amount), "reference": p.reference,
             "method": p.method, "unallocated": str(p.unallocated), "allocations": allocations.get(p.id, [])}
            for p in found]


def _payment_behaviour(session, partner_id: int) -> tuple[int | None, int | None]:
    """Average days from invoice date, and from final due date, to the last payment, over paid invoices."""
    from plugins.billing.models import Allocation, Invoice, Payment

    last_paid = (select(Allocation.invoice_id, func.max(Payment.payment_date).label("paid_on"))
                 .join(Payment, Payment.id == Allocation.payment_id).group_by(Allocation.invoice_id).subquery())
    rows = session.execute(select(Invoice.invoice_date, Invoice.final_due_date, last_paid.c.paid_on)
                           .join(last_paid, last_paid.c.invoice_id == Invoice.id)
                           .where(Invoice.partner_id == partner_id, Invoice.state == "paid")).all()
    if not rows:
        return None, None
    from plugins.billing.formatting import as_date

    to_pay = [(as_date(paid) - issued).days for issued, _, paid in rows]
    late = [(as_date(paid) - due).days for _, due, paid in rows]
    return _rounded(sum(to_pay), len(rows)), _rounded(sum(late), len(rows))


def _rounded(total: int, count: int) -> int:
    return int((Decimal(total) / count).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


# --- the statement ("relevé de compte") -----------------------------------------------------------------

def statement_kind() -> DocumentKind:
    return DocumentKind("billing.statement", "a customer's statement of account: PARTNER_ID[:FROM:TO] (ISO dates; "
                        "default: 1 January to today)", render_statement)


def parse_ref(app, ref: str) -> tuple[int, dt.date, dt.date]:
    parts = str(ref).strip().split(":")
    try:
        partner_id = int(parts[0])
        start = dt.date.fromisoformat(parts[1]) if len(parts) > 1 else dt.date(app.today.year, 1, 1)
        end = dt.date.fromisoformat(parts[2]) if len(parts) > 2 else app.today
    except ValueError:
        raise ValidationError(f"{ref!r}: expected PARTNER_ID[:FROM:TO] with ISO dates", record="statement") from None
    if end < start:
        raise ValidationError(f"{end.isoformat()} is before {start.isoformat()}", record="statement", field="to")
    return partner_id, start, end


def statement(session, partner_id: int, start: dt.date, end: dt.date) -> dict:
    """The figures of the statement of ``partner_id`` from ``start`` to ``end`` (both included)."""
    from plugins.billing.models import Invoice, Payment, Refund

    movements = []  # (date, order, label, reference, debit, credit)
    for invoice in session.scalars(select(Invoice).where(Invoice.partner_id == partner_id, Invoice.state != "draft",
                                                         Invoice.invoice_date <= end)):
        is_invoice = invoice.kind == "invoice"
        movements.append((invoice.invoice_date, 0 if is_invoice else 1, "invoice" if is_invoice else "credit_note",
                          invoice.number, invoice.total if is_invoice else ZERO, ZERO if is_invoice else invoice.total))
    for payment in session.scalars(select(Payment).where(Payment.partner_id == partner_id,
                                                         Payment.payment_date <= end)):
        movements.append((payment.payment_date, 2, "payment", payment.reference or f"#{payment.id}", ZERO,
                          payment.amount))
    for refund in session.scalars(select(Refund).where(Refund.partner_id == partner_id, Refund.refund_date <= end)):
        movements.append((refund.refund_date, 3, "refund", refund.reference or f"#{refund.id}", refund.amount, ZERO))
    movements.sort(key=lambda m: (m[0], m[1], m[3] or ""))
    opening = sum((debit - credit for day, _, _, _, debit, credit in movements if day < start), ZERO)
    balance, lines = opening, []
    for day, _, kind, reference, debit, credit in movements:
        if day < start:
            continue
        balance += debit - credit
        lines.append({"date": day.isoformat(), "kind": kind, "reference": reference, "debit": str(debit),
                      "credit": str(credit), "balance": str(balance)})
    overdue = _overdue_at(session, partner_id, end)
    return {"from": start.isoformat(), "to": end.isoformat(), "opening_balance": str(opening), "lines": lines,
            "total_debit": str(sum((Decimal(l["debit"]) for l in lines), ZERO)),
            "total_credit": str(sum((Decimal(l["credit"]) for l in lines), ZERO)),
            "closing_balance": str(balance), "overdue": overdue,
            "total_overdue": str(sum((Decimal(o["overdue"]) for o in overdue), ZERO))}


def _overdue_at(session, partner_id: int, end: dt.date) -> list[dict]:
    """Per invoice dated by ``end``: the instalments due before ``end`` not covered by what was settled by then."""
    from plugins.billing.models import Allocation, Invoice

    settled = dict(session.execute(select(Allocation.invoice_id, func.sum(Allocation.amount))
                                   .join(Invoice, Invoice.id == Allocation.invoice_id)
                                   .where(Invoice.partner_id == partner_id, Allocation.allocated_on <= end)
                                   .group_by(Allocation.invoice_id)).all())
    found = []
    for invoice in session.scalars(select(Invoice).where(Invoice.partner_id == partner_id, Invoice.kind == "invoice",
                                                         Invoice.state != "draft", Invoice.invoice_date <= end)
                                   .order_by(Invoice.invoice_date, Invoice.id)):
        covered, cumulated, oldest, due_amount = Decimal(settled.get(invoice.id) or 0), ZERO, None, ZERO
        for due in invoice.dues:
            cumulated += due.amount
            if due.due_date < end:
                due_amount = cumulated
                if oldest is None and cumulated > covered:
                    oldest = due.due_date
        amount = due_amount - covered
        if amount > 0:
            found.append({"number": invoice.number, "due_date": oldest.isoformat(),
                          "days_late": (end - oldest).days, "overdue": str(amount.quantize(ZERO))})
    return found


def render_statement(app, session, ref: str, locale: str) -> Document:
    """The statement ``PARTNER_ID[:FROM:TO]`` as an A4 page in ``locale``."""
    from core.models import Partner
    from core.rendering import gettext, render
    from plugins.billing.posting import address_text

    partner_id, start, end = parse_ref(app, ref)
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"partner {partner_id}: no such partner")
    _ = gettext(app, locale)
    data = statement(session, partner_id, start, end)
    title = f"{_('Statement of account')} — {partner.name}"
    html = render(app, "billing/statement.html", locale=locale, title=title, partner=partner,
                  address=[line for line in (address_text(partner) or "").split("\n") if line],
                  today=app.today, **data)
    name = "releve" if locale.startswith("fr") else "statement"
    return Document(title=title, filename=f"{name}-{partner_id}-{end.isoformat()}", html=html)
