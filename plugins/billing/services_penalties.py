"""Penalty invoices: the late interest and the 40 € indemnity of a late invoice, invoiced.

Code de commerce L441-10: late-payment penalties are due without a reminder, and a business
debtor owes a fixed 40 € indemnity for recovery costs per late invoice (D441-5). Neither is the
price of a supply, so both are outside the scope of VAT (no VAT line; the mention below).

- **When**: from a collection case that reached the formal notice (the first level of the policy
  that claims interest or the indemnity), paid since or not.
- **Interest** to the day of payment (the last settlement of a paid invoice) or to the day of
  issue, on what each instalment still owed day by day, each day at the penalty rate of its
  half-year: exactly the reminder run's formula (:meth:`RateTable.rate_days`, amount x
  percent-days / 36,500, summed per instalment and rounded once to the cent), cut at each
  settlement's date (a payment stops the interest on what it paid from the next day).
- **Indemnity**: once per invoice, for the buyer the invoice was posted to as a business
  (``recovery_indemnity`` frozen at posting).
- **Not twice**: each penalty invoice records its period (``billing_penalty``, unique per invoice
  and start); a second one starts where the last ended and claims only the interest accrued since.
- **Numbering**: its own gapless series ``PEN<year>-NNNNNN``, posted through ``post_invoice`` (the
  mentions frozen, ``invoice_posted`` fired), payable at once (term ``IMMEDIATE``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from core.errors import StateError
from core.security import require
from core.types import round_money
from plugins.billing.models import Allocation, Invoice, InvoiceLine, Payment, Penalty, ReminderCase

SERIES = "PEN"
MENTION = ("Pénalités de retard et indemnité forfaitaire pour frais de recouvrement (art. L441-10 du Code de "
           "commerce), non soumises à la TVA")
ZERO = Decimal("0.00")


def settlements(session, invoice: Invoice) -> list[tuple[dt.date, Decimal]]:
    """``[(date, amount)]`` settled on ``invoice``, oldest first: a payment on its date, a credit on its booking."""
    rows = session.execute(select(func.coalesce(Payment.payment_date, Allocation.allocated_on), Allocation.amount)
                           .outerjoin(Payment, Payment.id == Allocation.payment_id)
                           .where(Allocation.invoice_id == invoice.id)).all()
    return sorted((day, amount) for day, amount in rows)


def accrued_interest(rates, dues: list[tuple[dt.date, Decimal]], settled: list[tuple[dt.date, Decimal]],
                     start: dt.date | None, end: dt.date) -> Decimal:
    """Late interest from ``start`` (excluded; None: from each due date) to ``end`` included.

    ``dues`` are the instalments ``[(due date, amount)]`` in order, covered oldest first by the
    ``settled`` amounts; between two settlement dates each instalment owes
    ``min(amount, cumulated - covered)`` and earns ``owed x rates.rate_days(from, to)`` units, the
    reminder run's percent-days; the sum is divided by 36,500 and rounded once, as the run does.
    """
    first = min(day for day, _ in dues)
    low = max(start, first) if start else first
    cuts = sorted({day for day, _ in settled if low < day < end} | {low, end})
    units = Decimal(0)
    for a, b in zip(cuts, cuts[1:]):
        covered = sum((amount for day, amount in settled if day <= a), Decimal(0))
        cumulated = Decimal(0)
        for due_date, amount in dues:
            cumulated += amount
            owed = min(amount, cumulated - covered)
            since = max(a, due_date)
            if owed > 0 and since < b:
                units += owed * rates.rate_days(since, b)
    return round_money(units / Decimal(36500))


def formal_notice_level(session) -> int | None:
    """The first level of the policy that claims interest or the indemnity (the formal notice)."""
    from plugins.billing.services_reminder_levels import levels

    return next((level.level for level in levels(session) if level.interest or level.indemnity), None)


def invoice_penalties(app, session, invoice: Invoice) -> Penalty:
    """Issue the penalty invoice of ``invoice`` (see the module docstring), in the caller's transaction."""
    require(app, session, "billing.collections")
    from core.services.orders import compute_totals
    from plugins.billing.posting import new_invoice, post_invoice
    from plugins.billing.services_rates import RateTable
    from plugins.billing.services_terms import get_term
    from plugins.billing.settings import settings

    record = f"invoice {invoice.number or invoice.id}"
    if invoice.kind != "invoice" or invoice.state == "draft":
        raise StateError(f"{record}: penalties are invoiced for a posted invoice only")
    if session.scalars(select(Penalty.id).where(Penalty.penalty_invoice_id == invoice.id)).first():
        raise StateError(f"{record} is a penalty invoice: no penalty is claimed on penalties")
    formal = formal_notice_level(session)
    case = session.get(ReminderCase, invoice.id)
    if formal is None or case is None or case.level < formal:
        reached = case.level if case is not None else 0
        raise StateError(f"{record}: its collection case has not reached the formal notice (level {formal}; "
                         f"reached: {reached})")
    settled = settlements(session, invoice)
    end = settled[-1][0] if invoice.residual == 0 and settled else app.today
    last = session.scalars(select(Penalty).where(Penalty.invoice_id == invoice.id)
                           .order_by(Penalty.interest_to.desc()).limit(1)).first()
    start = last.interest_to if last is not None else None
    dues = [(due.due_date, due.amount) for due in invoice.dues] or [(invoice.due_date, invoice.total)]
    rates = RateTable(session, settings(app)["penalty_margin"])
    interest = accrued_interest(rates, dues, settled, start, end) if start is None or end > start else ZERO
    indemnity = (invoice.recovery_indemnity or ZERO) if last is None else ZERO
    if interest <= 0 and indemnity <= 0:
        since = f" since {start.isoformat()}" if start else ""
        raise StateError(f"{record}: no penalty accrued{since} (interest runs to {end.isoformat()})")
    interest_from = start or min(day for day, _ in dues)
    note = new_invoice(app, session, invoice.partner, term=get_term(session, "IMMEDIATE"),
                       salesperson_id=invoice.salesperson_id, note=MENTION)
    days = (end - interest_from).days
    if interest > 0:
        note.lines.append(InvoiceLine(
            sequence=1, description=f"Intérêts de retard, facture {invoice.number}, du "
                                    f"{interest_from.isoformat()} au {end.isoformat()} ({days} jours)",
            quantity=Decimal(1), unit_price=interest, vat_rate=Decimal(0), discount=Decimal(0)))
    if indemnity > 0:
        note.lines.append(InvoiceLine(
            sequence=len(note.lines) + 1, quantity=Decimal(1), unit_price=indemnity, vat_rate=Decimal(0),
            discount=Decimal(0), description=f"Indemnité forfaitaire pour frais de recouvrement, facture "
                                             f"{invoice.number}"))
    compute_totals(note)
    session.add(note)
    session.flush()
    post_invoice(app, session, note, series=SERIES, right="billing.collections")
    penalty = Penalty(invoice_id=invoice.id, penalty_invoice_id=note.id, interest_from=interest_from,
                      interest_to=end, interest=interest, indemnity=indemnity)
    session.add(penalty)
    session.flush()
    return penalty


def penalty_dict(session, penalty: Penalty) -> dict:
    invoice, note = session.get(Invoice, penalty.invoice_id), session.get(Invoice, penalty.penalty_invoice_id)
    return {"number": note.number, "invoice": invoice.number, "customer": note.partner.name,
            "interest_from": penalty.interest_from.isoformat(), "interest_to": penalty.interest_to.isoformat(),
            "days": (penalty.interest_to - penalty.interest_from).days, "interest": str(penalty.interest),
            "indemnity": str(penalty.indemnity), "total": str(note.total), "due_date": note.due_date.isoformat(),
            "mention": note.note}
