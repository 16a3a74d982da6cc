"""Payments and their allocation to invoices; clearing an invoice closes its reminder case.

Allocation: to the invoices the operator names, else to the invoice numbers found in the bank
reference ("VIR SEPA FACT F2026-000042"), else to the customer's open invoices oldest due first.
What is left is the customer's credit (``unallocated``), usable later with ``crm payment allocate``.
Everything happens in the recording transaction: a payment that clears an invoice marks it paid,
closes its reminder case and tells collections, or nothing at all is written.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from core.errors import StateError, ValidationError
from core.schemas import load
from plugins.billing.models import OPEN_STATES, Allocation, Invoice, Payment, ReminderCase

NUMBER_RE = re.compile(r"\b(F\d{4}-\d{6,})\b", re.IGNORECASE)
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
             credit_note: Invoice | None = None) -> bool:
    """Settle ``amount`` of ``invoice``; returns True when this clears it (then its case is closed)."""
    if invoice.state not in OPEN_STATES:
        raise StateError(f"invoice {invoice.number} is {invoice.state}: nothing is left to pay")
    if amount <= 0 or amount > invoice.residual:
        raise ValidationError(f"{amount} cannot be allocated, {invoice.residual} is open",
                              record=f"invoice {invoice.number}", field="amount")
    session.add(Allocation(invoice_id=invoice.id, payment_id=payment.id if payment else None,
                           credit_note_id=credit_note.id if credit_note else None, amount=amount,
                           allocated_on=app.today))
    invoice.settled += amount
    invoice.residual -= amount
    if invoice.residual == 0:
        only_credits = credit_note is not None and not session.scalars(select(Allocation.id).where(
            Allocation.invoice_id == invoice.id, Allocation.payment_id.is_not(None)).limit(1)).first()
        invoice.state = "credited" if only_credits else "paid"
        close_case(app, session, invoice, "credited" if only_credits else "paid")
    else:
        invoice.state = "partially_paid"
        _refresh_due_date(invoice)
    session.flush()
    return invoice.residual == 0


def close_case(app, session, invoice: Invoice, reason: str) -> None:
    """Close the invoice's open reminder case today and tell collections (once: a dedup key)."""
    from core.outbox import notify, resolve_recipients
    from core.rendering import render
    from plugins.billing.settings import collections_specs

    case = session.get(ReminderCase, invoice.id)
    if case is None or case.closed_on is not None:
        return
    case.closed_on, case.closed_reason = app.today, reason
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
    return [m.upper() for m in NUMBER_RE.findall(data.get("reference") or "")]


def record_payment(app, session, raw: dict, *, record: str = "payment", validated: bool = False):
    """Record a payment and allocate it; returns ``(payment, [(invoice, amount)])``."""
    from plugins.billing.schemas import PaymentSchema

    data = raw if validated else load(PaymentSchema(), raw, record)
    partner = _partner_of(session, data, record)
    payment = Payment(partner_id=partner.id, payment_date=data["date"], amount=data["amount"],
                      method=data["method"], reference=data.get("reference"), unallocated=data["amount"])
    session.add(payment)
    session.flush()
    numbers = _named_numbers(data)
    if numbers:
        targets = _open_invoices(app, session, partner.id, numbers)
        found = {invoice.number for invoice in targets}
        missing = [n for n in numbers if n not in found]
        if missing and data.get("invoice"):
            raise ValidationError(f"{', '.join(missing)}: no such invoice of {partner.name}", record=record,
                                  field="invoice")
        closed = [i for i in targets if i.state not in OPEN_STATES]
        if closed and data.get("invoice"):
            raise ValidationError(f"invoice {closed[0].number} is {closed[0].state}: nothing is left to pay",
                                  record=record, field="invoice")
        targets = [i for i in targets if i.state in OPEN_STATES]
        if not targets:  # a reference naming only settled invoices: oldest first, like no reference
            targets = _open_invoices(app, session, partner.id)
    else:
        targets = _open_invoices(app, session, partner.id)
    allocations, cleared = spread(app, session, payment, targets)
    app.call("payment_recorded", app=app, session=session, payment=payment, allocations=allocations, cleared=cleared)
    return payment, allocations


def spread(app, session, payment: Payment, targets: list[Invoice]):
    """Allocate what is left of ``payment`` over ``targets`` in order."""
    allocations, cleared = [], []
    for invoice in targets:
        if payment.unallocated <= 0:
            break
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
    payments = sum(session.scalars(select(Payment.unallocated).where(Payment.partner_id == partner_id)), ZERO)
    notes = sum(session.scalars(select(Invoice.residual).where(
        Invoice.partner_id == partner_id, Invoice.kind == "credit_note", Invoice.state != "draft")), ZERO)
    return payments + notes


def payment_dict(payment: Payment, allocations=None) -> dict:
    result = {"id": payment.id, "customer": {"id": payment.partner_id, "name": payment.partner.name},
              "date": payment.payment_date.isoformat(), "amount": str(payment.amount), "method": payment.method,
              "reference": payment.reference, "unallocated": str(payment.unallocated)}
    if allocations is not None:
        result["allocations"] = [{"invoice": invoice.number, "amount": str(amount), "state": invoice.state,
                                  "residual": str(invoice.residual)} for invoice, amount in allocations]
    return result


# --- import (crm import payments FILE / crm payment import FILE) -----------------------------------

COLUMNS = ("date", "amount", "customer", "method", "reference", "invoice")


def payment_kind():
    from core.importexport import DataKind
    from plugins.billing.schemas import PaymentSchema

    return DataKind(name="payments", schema=PaymentSchema, write=_write_payment, export=_export_payments,
                    columns=COLUMNS, summary="payments received (bank exports), allocated to invoices")


def _write_payment(app, session, data, *, update, record, provided):
    """One bank line; the same line imported again (customer, date, amount, reference) is skipped."""
    partner = _partner_of(session, data, record)
    same = select(Payment.id).where(Payment.partner_id == partner.id, Payment.payment_date == data["date"],
                                    Payment.amount == data["amount"])
    same = same.where(Payment.reference == data["reference"]) if data.get("reference") else \
        same.where(Payment.reference.is_(None))
    if session.scalars(same.limit(1)).first() is not None:
        return "skipped"
    record_payment(app, session, data, record=record, validated=True)
    return "created"


def _export_payments(app, session):
    for payment in session.scalars(select(Payment).order_by(Payment.payment_date, Payment.id)):
        yield {"date": payment.payment_date.isoformat(), "amount": str(payment.amount),
               "customer": str(payment.partner_id), "method": payment.method, "reference": payment.reference,
               "invoice": None}
