"""Credit notes: cancelling a posted invoice in whole or in part, and the early-payment discount's note.

A posted invoice is never changed nor deleted (:mod:`plugins.billing.invoice_states`): a credit
note, posted like any invoice (:func:`~plugins.billing.posting.post_invoice`, numbered in the
``AV`` series), takes back what is cancelled, and goes to the invoice's open amount.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from core.errors import StateError, ValidationError
from core.services.orders import compute_totals
from core.types import round_money
from plugins.billing.invoice_states import label
from plugins.billing.models_invoices import Invoice, InvoiceLine
from plugins.billing.posting import new_invoice, post_invoice


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
    note = new_invoice(app, session, invoice.partner, kind="credit_note", origin_id=invoice.id,
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
    post_invoice(app, session, note, right="billing.invoice.credit")
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
    note = new_invoice(app, session, invoice.partner, kind="credit_note", origin_id=invoice.id,
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
    return post_invoice(app, session, note, right="billing.payment.record")


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
