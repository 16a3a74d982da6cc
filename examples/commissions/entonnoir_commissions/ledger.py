"""Booking the commission ledger from billing's hooks (inside billing's own transaction).

Both functions take what billing hands the hook (a payment, invoices, a credit note) and read
only their public attributes (``id``, ``number``, ``kind``, ``order_id``, ``partner_id``,
``total_untaxed``, ``total``, ``residual``, ``settled``, ``origin``); they never import billing.
Raising here would roll the payment or the credit note back, so they never refuse: an invoice
without a salesperson, or a salesperson without a plan in force, simply earns no commission.

Idempotent: each row has a ``source`` (``payment:12:invoice:7``) unique with its tier band, and a
source already booked is skipped, so a hook called twice for the same event books once. Billing
allocates a payment to an invoice at most once (either the payment is used up, or the invoice is
cleared), which is what makes the pair a key.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.models import Partner, SalesOrder
from core.types import round_money
from entonnoir_commissions import rules
from entonnoir_commissions.models import ZERO, CommissionEntry
from entonnoir_commissions.services import plan_for


def salesperson_of(session, invoice) -> int | None:
    """Who earns on an invoice: its order's salesperson, else its customer's salesperson.

    The kernel's sales order is the source of truth (the salesperson who made the sale); an
    invoice typed in without an order (``crm invoice create``), or an order without a
    salesperson, falls back to the customer's salesperson (``crm partner add --salesperson``).
    """
    if invoice.order_id is not None:
        order = session.get(SalesOrder, invoice.order_id)
        if order is not None and order.salesperson_id is not None:
            return order.salesperson_id
    partner = session.get(Partner, invoice.partner_id)
    return partner.salesperson_id if partner is not None else None


def _booked(session, source: str) -> bool:
    return session.scalars(select(CommissionEntry.id).where(CommissionEntry.source == source).limit(1)).first() \
        is not None


def accrue_payment(app, session, payment, allocations) -> list[CommissionEntry]:
    """Book the commission earned by ``payment`` on each invoice it settled (``[(invoice, amount)]``)."""
    booked = []
    for invoice, amount in allocations:
        if getattr(invoice, "kind", "invoice") == "invoice":
            booked.extend(accrue(app, session, payment, invoice, Decimal(amount)))
    return booked


def accrue(app, session, payment, invoice, amount: Decimal) -> list[CommissionEntry]:
    """One payment's ``amount`` on one invoice: its untaxed share, cut at the plan's tiers.

    The rows are dated today (the business date the payment is booked), which decides the
    statement month and the tier period: a closed month's statement never changes.
    """
    source = f"payment:{payment.id}:invoice:{invoice.id}"
    salesperson_id = salesperson_of(session, invoice)
    if amount <= 0 or salesperson_id is None or _booked(session, source):
        return []
    today = app.today
    plan = plan_for(session, salesperson_id, today, lock=True)
    if plan is None:
        return []
    collected_before = session.scalar(
        select(func.coalesce(func.sum(CommissionEntry.collected), 0))
        .where(CommissionEntry.invoice_id == invoice.id, CommissionEntry.kind == "accrual"))
    base = rules.untaxed_share(Decimal(collected_before), amount, invoice.total_untaxed, invoice.total)
    if base <= 0:
        return []
    start, end = rules.tier_period(today, plan.tier_period)
    already = session.scalar(
        select(func.coalesce(func.sum(CommissionEntry.base), 0))
        .where(CommissionEntry.salesperson_id == salesperson_id, CommissionEntry.kind == "accrual",
               CommissionEntry.accrued_on.between(start, end)))
    parts = rules.split(Decimal(already), base, plan.rate, [(t.threshold, t.rate) for t in plan.tiers])
    collected = rules.spread(amount, [portion for portion, _ in parts])
    rows = [CommissionEntry(kind="accrual", source=source, part=n, salesperson_id=salesperson_id,
                            accrued_on=today, invoice_id=invoice.id, invoice_number=invoice.number,
                            payment_id=payment.id, payment_date=payment.payment_date, plan_id=plan.id,
                            collected=money, base=portion, rate=rate, commission=rules.commission(portion, rate))
            for n, ((portion, rate), money) in enumerate(zip(parts, collected))]
    session.add_all(rows)
    session.flush()
    return rows


def invoice_balance(session, invoice_id: int) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    """Per salesperson: ``(salesperson_id, collected, base, commission)`` still standing on an invoice."""
    total = lambda column: func.coalesce(func.sum(column), 0)  # noqa: E731
    rows = session.execute(
        select(CommissionEntry.salesperson_id, total(CommissionEntry.collected), total(CommissionEntry.base),
               total(CommissionEntry.commission))
        .where(CommissionEntry.invoice_id == invoice_id)
        .group_by(CommissionEntry.salesperson_id).order_by(CommissionEntry.salesperson_id))
    return [(who, Decimal(c).quantize(ZERO), Decimal(b).quantize(ZERO), Decimal(k).quantize(ZERO))
            for who, c, b, k in rows]


def reverse_credit_note(app, session, note) -> list[CommissionEntry]:
    """Take back the share of an invoice's commission that a credit note gives back to the customer.

    given back = credited − what was still open on the invoice (billing settles the open part
    first; ``residual + note.settled`` is that open amount whether or not billing has applied the
    note yet); share = given back ÷ collected on the invoice (net of earlier reversals), at most 1;
    the reversal is that share of the invoice's standing commission, base and collected amount,
    rounded to the cent, or all of it when the share is 1. Dated today, in today's statement.
    """
    invoice = note.origin
    if invoice is None:
        return []
    source = f"credit_note:{note.id}:invoice:{invoice.id}"
    if _booked(session, source):
        return []
    standing = [row for row in invoice_balance(session, invoice.id) if row[1] > 0]
    if not standing:
        return []
    open_before = invoice.residual + (note.settled or ZERO)
    share = rules.reversal_share(rules.refunded(note.total, open_before), sum((row[1] for row in standing), ZERO))
    if share == 0:
        return []

    def taken(value: Decimal) -> Decimal:
        return -value if share == 1 else -round_money(value * share)

    rows = []
    for n, (salesperson_id, collected, base, earned) in enumerate(standing):
        rows.append(CommissionEntry(
            kind="reversal", source=source, part=n, salesperson_id=salesperson_id, accrued_on=app.today,
            invoice_id=invoice.id, invoice_number=invoice.number, credit_note_id=note.id,
            credit_note_number=note.number, collected=taken(collected), base=taken(base), rate=None,
            commission=taken(earned)))
    session.add_all(rows)
    session.flush()
    return rows
