"""Write-offs: the small difference a customer leaves on an invoice, settled with a reason.

A customer pays 119.50 of 120.00 (bank charges, a rounding): chasing 0.50 costs more than it
brings. Up to ``[billing] write_off_threshold`` (default 1.00; 0 turns write-offs off) the
difference is written off:

- by hand, ``crm payment write-off INVOICE --reason "..."`` (the whole open amount, which must be
  within the threshold);
- automatically at a bank import, when a line that named the invoice (its reference or the
  remittance text) leaves it open by no more than the threshold and nothing of the line is left.

A write-off is its own row (:class:`~plugins.billing.models.WriteOff`: amount, date, reason, who
and by which command) and settles the invoice through an allocation of its own, so aging on a past
day and a later FEC export both see it. Clearing the invoice marks it paid and closes its
reminder case, in the same transaction.
"""

from __future__ import annotations

import getpass
from decimal import Decimal

from sqlalchemy import select

from core.errors import StateError, ValidationError
from plugins.billing.models import OPEN_STATES, Invoice
from plugins.billing.models_bank import WriteOff

AUTOMATIC_REASON = "écart de règlement sous le seuil (automatique)"


def operator() -> str:
    """Who is at the keyboard: the OS login (on SQLite the kernel maps it to a user)."""
    try:
        return getpass.getuser()[:64]
    except Exception:  # no login name (a container without a passwd entry)
        return "unknown"


def threshold(app) -> Decimal:
    from plugins.billing.settings import settings

    return settings(app)["write_off_threshold"]


def within_threshold(app, residual: Decimal) -> bool:
    """Whether an open amount is small enough to be written off."""
    limit = threshold(app)
    return 0 < residual <= limit


def write_off(app, session, invoice: Invoice, *, reason: str, source: str, bank_line_id: int | None = None,
              recorded_by: str | None = None) -> WriteOff:
    """Write off what is open on ``invoice`` (at most the threshold), dated today; the invoice is paid."""
    from plugins.billing.services_payments import allocate

    record = f"invoice {invoice.number}"
    if invoice.kind != "invoice" or invoice.state not in OPEN_STATES:
        raise StateError(f"invoice {invoice.number} is {invoice.state}: nothing is left to write off")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("a write-off needs its reason", record=record, field="reason")
    if len(reason) > 200:
        raise ValidationError("at most 200 characters", record=record, field="reason")
    limit = threshold(app)
    if not within_threshold(app, invoice.residual):
        raise ValidationError(f"{invoice.residual} is open, more than the write-off threshold {limit} "
                              f"([billing] write_off_threshold)", record=record, field="amount")
    row = WriteOff(invoice_id=invoice.id, partner_id=invoice.partner_id, amount=invoice.residual,
                   write_off_date=app.today, reason=reason, recorded_by=recorded_by or operator(),
                   source=source[:300], bank_line_id=bank_line_id)
    session.add(row)
    session.flush()
    allocate(app, session, invoice, row.amount, write_off=row)
    return row


def write_off_invoice(app, session, number: str, reason: str) -> WriteOff:
    """``crm payment write-off INVOICE --reason R``: the invoice locked, then written off."""
    from core.security import require

    require(app, session, "billing.payment.write_off")
    from plugins.billing.services_invoices import get_invoice

    invoice = get_invoice(session, number, lock=True)  # a payment arriving meanwhile queues up
    return write_off(app, session, invoice, reason=reason, source="crm payment write-off")


def list_write_offs(session, customer=None) -> list[dict]:
    """Every write-off, newest first (``--customer``: one customer's)."""
    from core.models import Partner
    from core.services.partners import get_partner

    query = (select(WriteOff, Invoice.number, Partner.name).join(Invoice, Invoice.id == WriteOff.invoice_id)
             .join(Partner, Partner.id == WriteOff.partner_id).order_by(WriteOff.write_off_date.desc(),
                                                                          WriteOff.id.desc()))
    if customer is not None:
        query = query.where(WriteOff.partner_id == get_partner(session, customer).id)
    return [write_off_dict(row, number, name) for row, number, name in session.execute(query)]


def write_off_dict(row: WriteOff, number: str, customer: str) -> dict:
    return {"id": row.id, "invoice": number, "customer": customer, "amount": str(row.amount),
            "date": row.write_off_date.isoformat(), "reason": row.reason, "recorded_by": row.recorded_by,
            "source": row.source, "bank_line": row.bank_line_id}
