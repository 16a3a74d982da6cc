"""Settle a statement's credit lines in bulk: plan in memory, write set-based.

The lines and the open invoices of their customers are read in two queries; the plan follows
the same rule as ``crm payment add`` (:func:`plugins.billing.services_payments.order_targets`:
named invoices first, then what is left to the oldest open ones or kept as credit, an invoice
dated after the payment left out), line after line in booking order, so a customer's second
payment sees what the first one settled. A named invoice the line leaves open by no more than
``[billing] write_off_threshold`` is written off (:mod:`plugins.billing.services_write_offs`).
Then payments, write-offs, allocations, invoices and lines are written with one statement each
(executemany). What needs a row-by-row path takes it: customers with an early-payment discount
on offer go through :func:`~plugins.billing.services_payments.record_payment` (it posts discount
credit notes), cleared invoices with an open reminder case are closed one by one (a message to
collections each), and ``payment_recorded`` listeners get each payment loaded back (with none,
nothing is loaded).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, text, update

from core import audit
from core.db import utcnow
from core.dbutil import copy_rows, fresh_statistics
from core.types import ScaledDecimal
from plugins.billing.models import OPEN_STATES, Allocation, Invoice, Payment
from plugins.billing.models_bank import BankLine, BankLineInvoice, WriteOff

ZERO = Decimal("0.00")


@dataclass(slots=True)
class _Open:
    """An invoice as the plan sees it."""

    id: int
    number: str
    partner_id: int
    invoice_date: object
    residual: Decimal
    settled: Decimal
    state: str


def settle(app, session, statement, entries: dict, result, *, source: str) -> None:
    """Turn the statement's matched credit lines into payments (see the module docstring)."""
    from plugins.billing.services_payments import order_targets
    from plugins.billing.services_write_offs import AUTOMATIC_REASON, operator, threshold
    from plugins.billing.settings import settings

    overpayment, limit = settings(app)["overpayment"], threshold(app)
    lines = session.execute(
        select(BankLine.id, BankLine.line_key, BankLine.partner_id, BankLine.amount, BankLine.booking_date,
               BankLine.method, BankLine.remittance)
        .where(BankLine.statement_id == statement.id, BankLine.direction == "credit")
        .order_by(BankLine.booking_date, BankLine.line_number, BankLine.id)).all()
    named = _named(session, statement)
    invoices, by_partner, slow = _open_invoices(app, session, statement)
    errors, payments, allocations, write_offs, slow_lines = [], [], [], [], []
    for line in lines:
        entry = entries[line.line_key]
        if line.partner_id is None:
            if result.format == "csv":
                errors.append((entry, line.id, "customer", "no customer given and no invoice found in the reference"))
            continue
        problems = [problem for number, invoice_id in named.get(line.id, []) if entry.numbers_from == "invoice"
                    and (problem := _strict_problem(number, invoices.get(invoice_id), line))]
        if problems:
            errors.append((entry, line.id, *problems[0]))
            continue
        if line.partner_id in slow:
            slow_lines.append(line)
            continue
        chosen = [invoice for invoice in (invoices.get(invoice_id) for _, invoice_id in named.get(line.id, []))
                  if invoice is not None and invoice.partner_id == line.partner_id and invoice.state in OPEN_STATES
                  and invoice.invoice_date <= line.booking_date]
        left, paid = line.amount, set()
        index = len(payments)
        for invoice in order_targets(chosen, by_partner.get(line.partner_id, []), line.amount, line.booking_date,
                                     overpayment):
            if left <= 0:
                break
            if invoice.state not in OPEN_STATES:
                continue
            amount = min(left, invoice.residual)
            _settle(invoice, amount)
            allocations.append({"invoice_id": invoice.id, "payment": index, "amount": amount,
                                "allocated_on": app.today})
            paid.add(invoice.id)
            left -= amount
        if left == 0:  # a named invoice this line paid, left open by a few cents: written off
            for invoice in chosen:
                if invoice.id in paid and 0 < invoice.residual <= limit:
                    write_offs.append({"invoice": invoice, "amount": invoice.residual, "line_id": line.id})
                    _settle(invoice, invoice.residual)
        payments.append({"partner_id": line.partner_id, "payment_date": line.booking_date, "amount": line.amount,
                         "method": line.method, "reference": (line.remittance or None) and line.remittance[:140],
                         "created_at": utcnow(), "unallocated": left, "bank_line_id": line.id})
    if errors:
        reject_lines(result, errors, session)
    _write(app, session, statement.id, payments, allocations, write_offs, source, operator(), AUTOMATIC_REASON)
    session.expire_all()
    _row_by_row(app, session, statement, slow_lines, named, entries)
    result.write_offs = len(write_offs)


def _named(session, statement) -> dict:
    """``{line id: [(number, invoice id or None)]}`` in the order the line named them."""
    rows = session.execute(select(BankLineInvoice.line_id, BankLineInvoice.number, BankLineInvoice.invoice_id)
                           .join(BankLine, BankLine.id == BankLineInvoice.line_id)
                           .where(BankLine.statement_id == statement.id)
                           .order_by(BankLineInvoice.line_id, BankLineInvoice.sequence))
    found: dict = {}
    for line_id, number, invoice_id in rows:
        found.setdefault(line_id, []).append((number, invoice_id))
    return found


def _open_invoices(app, session, statement):
    """The open invoices of the statement's customers and those its lines name, locked on PostgreSQL.

    Returns ``({id: _Open}, {partner: [_Open oldest due first]}, {partners with a discount on offer}``).
    """
    customers = select(BankLine.partner_id).where(BankLine.statement_id == statement.id,
                                                  BankLine.partner_id.is_not(None))
    named = select(BankLineInvoice.invoice_id).join(BankLine, BankLine.id == BankLineInvoice.line_id).where(
        BankLine.statement_id == statement.id, BankLineInvoice.invoice_id.is_not(None))
    query = (select(Invoice.id, Invoice.number, Invoice.partner_id, Invoice.invoice_date, Invoice.residual,
                    Invoice.settled, Invoice.state, Invoice.discount_until)
             .where(Invoice.kind == "invoice", ((Invoice.state.in_(OPEN_STATES)) & Invoice.partner_id.in_(customers))
                    | Invoice.id.in_(named))
             .order_by(Invoice.partner_id, Invoice.due_date, Invoice.invoice_date, Invoice.id))
    if app.dialect == "postgresql":
        query = query.with_for_update()  # two imports, or an import and `payment add`, queue up
    invoices, by_partner, slow = {}, {}, set()
    # the earliest day a line was paid: an offer running until then or later may be earned
    first = session.execute(select(func.min(BankLine.booking_date)).where(BankLine.statement_id == statement.id,
                                                                         BankLine.direction == "credit")).scalar()
    for *values, discount_until in session.execute(query):  # unpacked: a Row's attributes cost a lookup each
        invoice = invoices[values[0]] = _Open(*values)
        if invoice.state in OPEN_STATES:
            by_partner.setdefault(invoice.partner_id, []).append(invoice)
            if discount_until is not None and first is not None and discount_until >= first and invoice.settled == 0:
                slow.add(invoice.partner_id)
    return invoices, by_partner, slow


def _strict_problem(number, invoice, line):
    """What is wrong with an invoice the CSV ``invoice`` column names: ``(field, message)`` or None."""
    if invoice is None or invoice.partner_id != line.partner_id:
        return "invoice", f"{number}: no such invoice of this customer"
    if invoice.state not in OPEN_STATES:
        return "invoice", f"invoice {number} is {invoice.state}: nothing is left to pay"
    if invoice.invoice_date > line.booking_date:
        return "date", (f"{line.booking_date.isoformat()} is before invoice {number}'s date "
                        f"{invoice.invoice_date.isoformat()}: it cannot pay it")
    return None


def _settle(invoice: _Open, amount: Decimal) -> None:
    invoice.settled += amount
    invoice.residual -= amount
    invoice.state = "paid" if invoice.residual == 0 else "partially_paid"


def reject_lines(result, errors, session) -> None:
    """Bad lines ``[(entry, line id, field, message)]``: the whole file refused (every bad line
    listed), or with ``--skip-invalid`` those lines taken out again and listed as rejected."""
    from sqlalchemy import delete

    from core.importexport import refusal

    rejected = [(entry.line_number, fld, message) for entry, _, fld, message in errors]
    if not result.skip_invalid:
        result.rejected = sorted(result.rejected + rejected)
        raise refusal(result.file, result)
    result.rejected += rejected
    ids = [line_id for _, line_id, _, _ in errors]
    session.execute(delete(BankLineInvoice).where(BankLineInvoice.line_id.in_(ids)))
    session.execute(delete(BankLine).where(BankLine.id.in_(ids)))
    result.new -= len(ids)
    result.lines -= len(ids)


def _new_ids(app, session, table, count: int) -> list[int]:
    """Ids for ``count`` new rows of ``table``, taken before the rows are written (no RETURNING needed)."""
    if count == 0:
        return []
    if app.dialect == "postgresql":
        return list(session.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                         "FROM generate_series(1, :count)"), {"table": table.name, "count": count})
                    .scalars())
    # SQLite: this transaction holds the database's write lock since it wrote the statement row,
    # so nobody else can take these ids before the rows are in
    last = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar()
    return list(range(last + 1, last + count + 1))


#: the statement's allocations (of its payments and of its write-offs), summed per invoice
_SETTLED_NOW = """SELECT a.invoice_id, SUM(a.amount) AS amount FROM billing_allocation a
    WHERE a.payment_id IN (SELECT p.id FROM billing_payment p JOIN billing_bank_line l ON l.id = p.bank_line_id
                           WHERE l.statement_id = :statement)
       OR a.write_off_id IN (SELECT w.id FROM billing_write_off w JOIN billing_bank_line l ON l.id = w.bank_line_id
                             WHERE l.statement_id = :statement)
    GROUP BY a.invoice_id"""
_APPLY = (
    f"""UPDATE billing_invoice SET settled = settled + d.amount, residual = residual - d.amount,
            state = CASE WHEN residual - d.amount = 0 THEN 'paid' ELSE 'partially_paid' END
        FROM ({_SETTLED_NOW}) AS d WHERE billing_invoice.id = d.invoice_id""",
    """UPDATE billing_bank_line SET state = 'paid'
       WHERE statement_id = :statement AND id IN (SELECT bank_line_id FROM billing_payment
                                                  WHERE bank_line_id IS NOT NULL)""",
)


def _write(app, session, statement_id, payments, allocations, write_offs, source, who, reason) -> None:
    """Every planned row, one executemany per table (Core INSERTs: no ORM bookkeeping per row)."""
    for payment, payment_id in zip(payments, _new_ids(app, session, Payment.__table__, len(payments))):
        payment["id"] = payment_id
    _insert(app, session, Payment, payments)
    rows = [{"invoice_id": a["invoice_id"], "payment_id": payments[a["payment"]]["id"], "write_off_id": None,
             "amount": a["amount"], "allocated_on": a["allocated_on"]} for a in allocations]
    if write_offs:
        table = WriteOff.__table__
        ids = _new_ids(app, session, table, len(write_offs))
        _insert(app, session, WriteOff, [
            {"id": write_off_id, "invoice_id": w["invoice"].id, "partner_id": w["invoice"].partner_id,
             "amount": w["amount"], "write_off_date": app.today, "reason": reason, "recorded_by": who,
             "source": source[:300], "bank_line_id": w["line_id"]} for w, write_off_id in zip(write_offs, ids)])
        rows += [{"invoice_id": w["invoice"].id, "payment_id": None, "write_off_id": write_off_id,
                  "amount": w["amount"], "allocated_on": app.today} for w, write_off_id in zip(write_offs, ids)]
    _insert(app, session, Allocation, rows)
    fresh_statistics(session, ["billing_payment", "billing_allocation"], len(payments) + len(rows))
    params = {"statement": statement_id}
    # SQLite: the trail gets each invoice the UPDATE settles, as a flush would record it
    # (PostgreSQL's triggers on the money tables record it themselves)
    before = session.execute(_BEFORE_APPLY, params).all() if audit.recorded(app, session, Invoice) else []
    for statement in _APPLY:  # the plan's figures, applied by the database from the rows just written
        session.execute(text(statement), params)
    audit.updated(app, session, Invoice, [
        (id_, number, {"settled": [settled, settled + amount], "residual": [residual, residual - amount],
                       "state": [state, "paid" if residual == amount else "partially_paid"]})
        for id_, number, settled, residual, state, amount in before])


#: each invoice the statement settles, before :data:`_APPLY` (amounts as the trail writes them)
_BEFORE_APPLY = text(f"""SELECT i.id, i.number, i.settled, i.residual, i.state, d.amount
    FROM billing_invoice i JOIN ({_SETTLED_NOW}) AS d ON d.invoice_id = i.id ORDER BY i.id""").columns(
    settled=ScaledDecimal(2), residual=ScaledDecimal(2), amount=ScaledDecimal(2))


def _insert(app, session, model, rows: list[dict]) -> None:
    """``rows`` into ``model``'s table straight through the driver (:func:`~core.dbutil.copy_rows`:
    one COPY on PostgreSQL, whose table triggers record them as for an INSERT; SQLite's executemany,
    each row then recorded in the trail with the id it was given). SQLAlchemy's parameter work per
    row took longer than SQLite's INSERT itself (100,000 payments), and an executemany on
    PostgreSQL is a statement per row (6 s)."""
    if not rows:
        return
    table = model.__table__
    if "id" not in rows[0] and app.dialect != "postgresql":
        for row, row_id in zip(rows, _new_ids(app, session, table, len(rows))):
            row["id"] = row_id
    copy_rows(session, table, rows)
    audit.inserted(app, session, model, rows, [row.get("id") for row in rows])


def _row_by_row(app, session, statement, slow_lines, named, entries) -> None:
    """What a set cannot do: discount offers, cases to close, listeners of ``payment_recorded``."""
    from core.models import Partner
    from plugins.billing.services_invoices import get_invoice
    from plugins.billing.services_payments import _refresh_due_date, close_case, record_payment

    touched = text(f"SELECT invoice_id FROM ({_SETTLED_NOW}) AS settled")
    params = {"statement": statement.id}
    to_close = session.execute(text(f"""SELECT c.invoice_id FROM billing_reminder_case c
        JOIN billing_invoice i ON i.id = c.invoice_id
        WHERE c.closed_on IS NULL AND i.state = 'paid' AND c.invoice_id IN ({touched.text})"""), params).scalars().all()
    written_off = set(session.execute(select(WriteOff.invoice_id).join(BankLine, BankLine.id == WriteOff.bank_line_id)
                                      .where(BankLine.statement_id == statement.id)).scalars())
    for invoice_id in to_close:
        close_case(app, session, get_invoice(session, invoice_id), "written_off" if invoice_id in written_off else "paid")
    instalments = session.execute(text(f"""SELECT i.id FROM billing_invoice i
        WHERE i.state = 'partially_paid' AND i.id IN ({touched.text})
          AND (SELECT COUNT(*) FROM billing_invoice_due d WHERE d.invoice_id = i.id) > 1"""), params).scalars().all()
    for invoice_id in instalments:
        _refresh_due_date(get_invoice(session, invoice_id))
    if app.pm.hook.payment_recorded.get_hookimpls():
        _tell_listeners(app, session, statement)
    for line in slow_lines:
        entry = entries[line.line_key]
        data = {"date": line.booking_date, "amount": line.amount, "method": line.method,
                "reference": (line.remittance or None) and line.remittance[:140], "invoice": None}
        payment, _ = record_payment(app, session, data, record=entry.label, validated=True,
                                    partner=session.get(Partner, line.partner_id),
                                    numbers=[number for number, _ in named.get(line.id, [])])
        payment.bank_line_id = line.id
        session.execute(update(BankLine).where(BankLine.id == line.id).values(state="paid"))
    session.flush()


def _tell_listeners(app, session, statement) -> None:
    """``payment_recorded`` for each bulk payment, loaded back with its allocations, in order.

    ``cleared``: the invoices whose last allocation of this import is the payment's and which are
    now paid (a write-off after it, or a later line of the same statement, cleared them otherwise).
    """
    payments = session.scalars(select(Payment).join(BankLine, BankLine.id == Payment.bank_line_id)
                               .where(BankLine.statement_id == statement.id).order_by(Payment.id)).all()
    rows = session.execute(select(Allocation.id, Allocation.payment_id, Invoice, Allocation.amount)
                           .join(Invoice, Invoice.id == Allocation.invoice_id)
                           .where(Allocation.invoice_id.in_(text(f"SELECT invoice_id FROM ({_SETTLED_NOW}) AS s")
                                                            .bindparams(statement=statement.id)))
                           .order_by(Allocation.id)).all()
    mine = {payment.id for payment in payments}
    by_payment: dict = {}
    last: dict = {}
    for allocation_id, payment_id, invoice, amount in rows:
        last[invoice.id] = payment_id
        if payment_id in mine:
            by_payment.setdefault(payment_id, []).append((invoice, amount))
    for payment in payments:
        allocations = by_payment.get(payment.id, [])
        cleared = [invoice for invoice, _ in allocations if invoice.residual == 0 and last[invoice.id] == payment.id]
        app.call("payment_recorded", app=app, session=session, payment=payment, allocations=allocations,
                 cleared=cleared)
