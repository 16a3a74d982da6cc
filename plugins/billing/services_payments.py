"""Payments and their allocation to invoices; clearing an invoice closes its reminder case.

Allocation (:func:`order_targets`, one rule for ``crm payment add`` and the bank imports): to the
invoices the operator names, else to the invoice numbers found in the bank reference ("VIR SEPA
FACT F2026-000042"); what that leaves over goes to the customer's other open invoices oldest due
first (``[billing] overpayment = "credit"`` keeps it as credit instead). Without a number: the
open invoice whose open amount is the payment's, else oldest due first. An invoice dated after
the payment is never paid by it (naming one is refused). What is left is the customer's credit
(``unallocated``), usable later with ``crm payment allocate``. A payment is dated on or before
the business date and at most ten years before it (:func:`check_payment_date`).
Everything happens in the recording transaction: a payment that clears an invoice marks it paid,
closes its reminder case and tells collections, or nothing at all is written.

Early-payment discount (escompte): an invoice whose term offered one keeps ``discount_percent``
and ``discount_until`` (invoice date + the term's days). A payment dated on or before
``discount_until``, reaching (in the order above) an invoice with nothing settled yet, earns the
discount = total incl. VAT x percent / 100, rounded to the cent, when what is left of the payment
covers ``residual - discount``: a discount credit note ("avoir d'escompte", VAT reduced per rate,
see :func:`plugins.billing.services_invoices.discount_credit_note`) is posted and allocated to
the invoice, then the payment covers the rest, and the invoice is paid. Paid after the window, or
too little to clear the invoice with the discount: no discount, the payment is allocated as usual.
Credit used later (``crm payment allocate``) earns none: the discount rewards money arriving early.

Refunds (:func:`refund_credit`) keep every cent explained: amount = allocations + refunds + unallocated.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import select

from core.errors import StateError, ValidationError
from core.security import require
from plugins.billing.models import (OPEN_STATES, Allocation, Invoice, Payment, Refund, RefundSource,
                                    ReminderCase)

ZERO = Decimal("0.00")


def _refresh_due_date(invoice: Invoice) -> None:
    """The due date that counts is the oldest instalment not wholly covered by what was settled."""
    covered = Decimal(0)
    for due in invoice.dues:
        covered += due.amount
        if covered > invoice.settled:
            invoice.due_date = due.due_date
            return
    if invoice.dues:
        invoice.due_date = invoice.dues[-1].due_date


def allocate(app, session, invoice: Invoice, amount: Decimal, *, payment: Payment | None = None,
             credit_note: Invoice | None = None, write_off=None) -> bool:
    """Settle ``amount`` of ``invoice`` by a payment, a credit note or a write-off; returns True when
    this clears it (then its case is closed; paid unless only credit notes settled it)."""
    if invoice.state not in OPEN_STATES:
        raise StateError(f"invoice {invoice.number} is {invoice.state}: nothing is left to pay")
    if amount <= 0 or amount > invoice.residual:
        raise ValidationError(f"{amount} cannot be allocated, {invoice.residual} is open",
                              record=f"invoice {invoice.number}", field="amount")
    session.add(Allocation(invoice_id=invoice.id, payment_id=payment.id if payment else None,
                           credit_note_id=credit_note.id if credit_note else None,
                           write_off_id=write_off.id if write_off else None, amount=amount, allocated_on=app.today))
    invoice.settled += amount
    invoice.residual -= amount
    if invoice.residual == 0:
        only_credits = credit_note is not None and not session.scalars(select(Allocation.id).where(
            Allocation.invoice_id == invoice.id, (Allocation.payment_id.is_not(None)) |
            (Allocation.write_off_id.is_not(None))).limit(1)).first()
        invoice.state = "credited" if only_credits else "paid"
        close_case(app, session, invoice, "credited" if only_credits else "written_off" if write_off else "paid")
    else:
        invoice.state = "partially_paid"
        _refresh_due_date(invoice)
    session.flush()
    return invoice.residual == 0


def close_case(app, session, invoice: Invoice, reason: str) -> None:
    """Close the invoice's open collection case today and tell collections (once: a dedup key)."""
    from core.outbox import notify, resolve_recipients
    from core.rendering import render
    from plugins.billing.settings import collections_specs

    case = session.get(ReminderCase, invoice.id)
    if case is None or case.closed_on is not None:
        return
    case.closed_on, case.closed_reason = app.today, reason
    from plugins.billing.services_collections import record_closing

    record_closing(app, session, case, reason)  # the case's state and history, the customer's collection task
    recipients = resolve_recipients(session, collections_specs(app))
    if invoice.salesperson is not None and invoice.salesperson.email:
        recipients.append(invoice.salesperson.email)
    if recipients:
        notify(app, session, recipients=recipients,
               subject=f"Dossier de relance clos : facture {invoice.number} ({invoice.partner.name})",
               text=render(app, "billing/case_closed.txt", invoice=invoice, case=case, reason=reason),
               related=f"billing_invoice:{invoice.id}", dedup_key=f"billing:case-closed:{invoice.id}")


def _open_invoices(app, session, partner_id: int, numbers: list[str] | None = None) -> list[Invoice]:
    query = select(Invoice).where(Invoice.partner_id == partner_id, Invoice.kind == "invoice")
    if numbers is not None:
        query = query.where(Invoice.number.in_(numbers))
    else:
        query = query.where(Invoice.state.in_(OPEN_STATES))
    query = query.order_by(Invoice.due_date, Invoice.invoice_date, Invoice.id)
    if app.dialect == "postgresql":
        query = query.with_for_update()  # two payments for one invoice queue up
    return list(session.scalars(query))


def _partner_of(session, data: dict, record: str):
    from core.services.partners import get_partner

    if data.get("customer"):
        return get_partner(session, data["customer"])
    numbers = _named_numbers(data)
    if numbers:
        invoice = session.scalars(select(Invoice).where(Invoice.number.in_(numbers)).limit(1)).first()
        if invoice is not None:
            return invoice.partner
    raise ValidationError("no customer given and no invoice found in the reference", record=record, field="customer")


def _named_numbers(data: dict) -> list[str]:
    if data.get("invoice"):
        return [n.upper() for n in re.split(r"[\s,;]+", data["invoice"].strip()) if n]
    from plugins.billing.bank import numbers_in_text

    return numbers_in_text(data.get("reference"))


def check_payment_date(app, day: dt.date, record: str) -> None:
    """On or before the business date, at most ten years before it (books are kept ten years, L123-22)."""
    if day > app.today:
        raise ValidationError(f"{day.isoformat()} is after the business date {app.today.isoformat()}: a payment "
                              f"is dated the day the money arrived", record=record, field="date")
    oldest = app.today - dt.timedelta(days=3653)
    if day < oldest:
        raise ValidationError(f"{day.isoformat()} is more than ten years before the business date "
                              f"{app.today.isoformat()}", record=record, field="date")


def order_targets(named: list, open_invoices: list, amount: Decimal, day: dt.date, overpayment: str) -> list:
    """The invoices a payment of ``amount`` dated ``day`` settles, in order (see the module docstring).

    ``named``: the open invoices its reference or the operator named, in that order; ``open_invoices``:
    the customer's open invoices oldest due first. Works on any objects with ``id``, ``residual``
    and ``invoice_date`` (models, or the rows a bank import plans with).
    """
    eligible = [i for i in open_invoices if i.invoice_date <= day]
    if named:
        chosen = {i.id for i in named}
        return list(named) + ([] if overpayment == "credit" else [i for i in eligible if i.id not in chosen])
    exact = [i for i in eligible if i.residual == amount][:1]
    return exact + [i for i in eligible if not exact or i.id != exact[0].id]


class Recorded(tuple):
    """``(payment, [(invoice, amount)])``; ``discounts`` lists the ``(invoice, discount credit note)`` earned."""

    def __new__(cls, payment, allocations, discounts):
        recorded = super().__new__(cls, (payment, allocations))
        recorded.discounts = discounts
        return recorded


def record_payment(app, session, raw: dict, *, record: str = "payment", validated: bool = False, partner=None,
                   numbers: list[str] | None = None) -> Recorded:
    """Record a payment and allocate it, early-payment discounts included; ``(payment, [(invoice, amount)])``.

    A bank import passes the ``partner`` it found and the ``numbers`` the line named (not strict:
    a number of another customer, paid or dated after the payment is passed over).
    """
    require(app, session, "billing.payment.record")
    from core.schemas import load
    from plugins.billing.schemas import PaymentSchema
    from plugins.billing.settings import settings

    data = raw if validated else load(PaymentSchema(), raw, record)
    check_payment_date(app, data["date"], record)
    partner = partner or _partner_of(session, data, record)
    payment = Payment(partner_id=partner.id, payment_date=data["date"], amount=data["amount"],
                      method=data["method"], reference=data.get("reference"), unallocated=data["amount"])
    session.add(payment)
    session.flush()
    strict = bool(data.get("invoice")) and numbers is None
    numbers = _named_numbers(data) if numbers is None else numbers
    named = []
    if numbers:
        found = {i.number: i for i in _open_invoices(app, session, partner.id, numbers)}
        missing = [n for n in numbers if n not in found]
        if missing and strict:
            raise ValidationError(f"{', '.join(missing)}: no such invoice of {partner.name}", record=record,
                                  field="invoice")
        named = [found[n] for n in numbers if n in found]
        closed = [i for i in named if i.state not in OPEN_STATES]
        if closed and strict:
            raise ValidationError(f"invoice {closed[0].number} is {closed[0].state}: nothing is left to pay",
                                  record=record, field="invoice")
        later = [i for i in named if i.invoice_date > data["date"]]
        if later and strict:
            raise ValidationError(f"{data['date'].isoformat()} is before invoice {later[0].number}'s date "
                                  f"{later[0].invoice_date.isoformat()}: it cannot pay it", record=record, field="date")
        named = [i for i in named if i.state in OPEN_STATES and i.invoice_date <= data["date"]]
    targets = order_targets(named, _open_invoices(app, session, partner.id), data["amount"], data["date"],
                            settings(app)["overpayment"])
    discounts = []
    allocations, cleared = spread(app, session, payment, targets, discounts=discounts)
    app.call("payment_recorded", app=app, session=session, payment=payment, allocations=allocations, cleared=cleared)
    return Recorded(payment, allocations, discounts)


def earned_discount(invoice: Invoice, payment: Payment) -> Decimal | None:
    """The early-payment discount ``payment`` may earn on ``invoice`` (see the module docstring), or None.

    On time means paid on or before ``discount_until``; only an invoice with nothing settled yet
    (no partial payment, no credit note) qualifies. The caller checks that the payment covers
    ``residual - discount``.
    """
    from core.types import round_money

    if invoice.kind != "invoice" or not invoice.discount_percent or invoice.discount_until is None:
        return None
    if payment.payment_date > invoice.discount_until or invoice.state != "posted" or invoice.settled != 0:
        return None
    discount = round_money(invoice.total * invoice.discount_percent / Decimal(100))
    return discount if 0 < discount < invoice.residual else None


def spread(app, session, payment: Payment, targets: list[Invoice], *, discounts: list | None = None):
    """Allocate what is left of ``payment`` over ``targets`` in order.

    With ``discounts`` (a list, filled with ``(invoice, credit note)``), an invoice that the rest
    of the payment clears with its early-payment discount gets its discount credit note first.
    """
    from plugins.billing.credit_notes import discount_credit_note

    allocations, cleared = [], []
    for invoice in targets:
        if payment.unallocated <= 0:
            break
        discount = earned_discount(invoice, payment) if discounts is not None else None
        if discount is not None and payment.unallocated >= invoice.residual - discount:
            note = discount_credit_note(app, session, invoice, discount, payment.payment_date)
            apply_credit_note(app, session, note, invoice)
            discounts.append((invoice, note))
        amount = min(payment.unallocated, invoice.residual)
        if amount <= 0:
            continue
        if allocate(app, session, invoice, amount, payment=payment):
            cleared.append(invoice)
        payment.unallocated -= amount
        allocations.append((invoice, amount))
    session.flush()
    return allocations, cleared


def allocate_credit(app, session, payment_id: int, numbers: list[str] | None = None):
    """Use what is left of a payment (the customer's credit) on open invoices, oldest first or as named."""
    require(app, session, "billing.payment.record")
    from core.errors import NotFound

    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id}: no such payment")
    if payment.unallocated <= 0:
        raise StateError(f"payment {payment_id}: nothing left to allocate")
    targets = _open_invoices(app, session, payment.partner_id, [n.upper() for n in numbers] if numbers else None)
    allocations, cleared = spread(app, session, payment, [i for i in targets if i.state in OPEN_STATES])
    if allocations:
        app.call("payment_recorded", app=app, session=session, payment=payment, allocations=allocations,
                 cleared=cleared)
    return payment, allocations


def apply_credit_note(app, session, note: Invoice, invoice: Invoice) -> None:
    """A credit note settles its invoice's open amount; any excess stays as the customer's credit."""
    amount = min(note.residual, invoice.residual) if invoice.state in OPEN_STATES else ZERO
    if amount > 0:
        allocate(app, session, invoice, amount, credit_note=note)
        note.settled += amount
        note.residual -= amount
    session.flush()


def customer_credit(session, partner_id: int) -> Decimal:
    """Unallocated payments plus unused credit notes."""
    return sum((amount for *_, amount in _credits(session, partner_id)), ZERO)


def _credits(session, partner_id: int, on=None, *, lock: bool = False) -> list[tuple]:
    """``[(date, payment or credit note, credit left)]`` of a customer, oldest first (dated up to ``on``)."""
    payments = select(Payment).where(Payment.partner_id == partner_id, Payment.unallocated > 0)
    notes = select(Invoice).where(Invoice.partner_id == partner_id, Invoice.kind == "credit_note",
                                  Invoice.state != "draft", Invoice.residual > 0)
    if on is not None:
        payments = payments.where(Payment.payment_date <= on)
        notes = notes.where(Invoice.invoice_date <= on)
    if lock:  # two refunds (or a refund and an allocation) of the same credit queue up
        payments, notes = payments.with_for_update(), notes.with_for_update()
    found = [(p.payment_date, 0, p.id, p, p.unallocated) for p in session.scalars(payments)]
    found += [(n.invoice_date, 1, n.id, n, n.residual) for n in session.scalars(notes)]
    return [(day, row, amount) for day, _, _, row, amount in sorted(found, key=lambda c: c[:3])]


def refund_credit(app, session, raw: dict, *, record: str = "refund") -> Refund:
    """Pay back ``amount`` of a customer's credit (``customer, amount, date, method, reference``).

    Drawn on the credits dated on or before the refund, oldest first; more than that credit is
    refused, naming the customer and the credit available. One transaction with the caller.
    """
    from core.schemas import load
    from core.security import require

    require(app, session, "billing.payment.refund")
    from core.services.partners import get_partner
    from plugins.billing.schemas import RefundSchema

    data = load(RefundSchema(), raw, record)
    partner = get_partner(session, data["customer"])
    credits = _credits(session, partner.id, data["date"], lock=app.dialect == "postgresql")
    available = sum((amount for *_, amount in credits), ZERO)
    if data["amount"] > available:
        raise ValidationError(f"{data['amount']} asked, {partner.name} has only {available} of credit available "
                              f"on {data['date'].isoformat()}", record=f"refund to {partner.name}", field="amount")
    refund = Refund(partner_id=partner.id, refund_date=data["date"], amount=data["amount"], method=data["method"],
                    reference=data.get("reference"))
    left = data["amount"]
    for _, source, credit in credits:
        if left <= 0:
            break
        part = min(left, credit)
        if isinstance(source, Payment):
            source.unallocated -= part
            refund.sources.append(RefundSource(payment_id=source.id, amount=part))
        else:
            source.settled += part
            source.residual -= part
            refund.sources.append(RefundSource(credit_note_id=source.id, amount=part))
        left -= part
    session.add(refund)
    session.flush()
    return refund


def payment_dict(payment: Payment, allocations=None, discounts=None) -> dict:
    result = {"id": payment.id, "customer": {"id": payment.partner_id, "name": payment.partner.name},
              "date": payment.payment_date.isoformat(), "amount": str(payment.amount), "method": payment.method,
              "reference": payment.reference, "unallocated": str(payment.unallocated)}
    if allocations is not None:
        result["allocations"] = [{"invoice": invoice.number, "amount": str(amount), "state": invoice.state,
                                  "residual": str(invoice.residual)} for invoice, amount in allocations]
    if discounts is not None:
        result["discounts"] = [{"invoice": invoice.number, "credit_note": note.number, "amount": str(note.total),
                                "untaxed": str(note.total_untaxed), "tax": str(note.total_tax)}
                               for invoice, note in discounts]
    return result


def refund_dict(session, refund: Refund) -> dict:
    """A refund and the credits it drew on (``payment`` id or ``credit_note`` number)."""
    numbers = dict(session.execute(select(Invoice.id, Invoice.number).where(
        Invoice.id.in_([s.credit_note_id for s in refund.sources if s.credit_note_id] or [0]))).all())
    return {"id": refund.id, "kind": "refund", "customer": {"id": refund.partner_id, "name": refund.partner.name},
            "date": refund.refund_date.isoformat(), "amount": str(refund.amount), "method": refund.method,
            "reference": refund.reference,
            "sources": [{"payment": s.payment_id, "credit_note": numbers.get(s.credit_note_id), "amount": str(s.amount)}
                        for s in refund.sources]}
