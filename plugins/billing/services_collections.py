"""Collection cases worked to the end: assignee, notes, promises to pay, disputes, closing.

A case is the reminder case of one overdue invoice (``billing_reminder_case``, keyed by the
invoice): the reminder run opens it at the first level sent, a clerk's first action opens it for
an overdue invoice not reminded yet. One case per invoice, not per customer: each invoice has its
own due date, level, promise and dispute, and is paid, credited or written off on its own; the
customer's cases are worked together because they go to one assignee (see
:func:`plugins.billing.services_collections_run.assign_new_cases`)
and ``crm partner account`` shows them side by side.

States are data (:data:`TRANSITIONS`): ``open`` -> ``promised`` (escalation suspended until the
promise date) -> ``open`` again when the date has passed (kept or broken, ``review_promises``)
-> ``closed`` (at payment, credit or write-off, by :func:`record_closing`; by hand with a reason).
A dispute is the invoice's hold (``billing_invoice.hold = 'disputed'``, one fact in one place:
``crm invoice dispute`` and ``crm collections dispute`` write the same field); the case shows as
``disputed`` while it lasts and the reminder run skips it, as it skips promised and closed cases.
Every change is one transaction (the caller's), dated with the business date, and leaves a
:class:`~plugins.billing.models.CaseEvent` in the case's history.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, text

from core.errors import NotFound, StateError, ValidationError
from core.models import Partner, User
from core.security import require
from plugins.billing.models import OPEN_STATES, CaseEvent, Invoice, Reminder, ReminderCase

STATES = ("open", "promised", "disputed", "closed")
#: action -> the states (as shown) it may start from
TRANSITIONS = {
    "assign": ("open", "promised", "disputed"),
    "note": ("open", "promised", "disputed", "closed"),
    "promise": ("open", "promised"),
    "dispute": ("open", "promised"),
    "resume": ("disputed",),
    "close": ("open", "promised", "disputed"),
    "reopen": ("closed",),
}


def shown_state(case: ReminderCase, invoice: Invoice) -> str:
    """The state a person sees: a dispute (the invoice's hold) shows over open and promised."""
    if case.state != "closed" and invoice.hold == "disputed":
        return "disputed"
    return case.state


def _check(action: str, case: ReminderCase, invoice: Invoice) -> None:
    state = shown_state(case, invoice)
    if state not in TRANSITIONS[action]:
        allowed = " or ".join(TRANSITIONS[action])
        raise StateError(f"case {invoice.number} is {state}: {action} needs a case that is {allowed}")


def acting_user(session, login: str | None) -> User | None:
    """The user doing the change: who runs crm, or ``login`` for a holder of core.impersonate."""
    from core.security import acting_user as actor_user

    return actor_user(session.info["app"], session, login)


def _event(session, case: ReminderCase, today: dt.date, kind: str, user: User | None, **values) -> CaseEvent:
    event = CaseEvent(invoice_id=case.invoice_id, event_date=today, kind=kind,
                      user_id=user.id if user else None, **values)
    session.add(event)
    return event


def get_case(app, session, ref, *, user: User | None = None, create: bool = True) -> tuple[ReminderCase, Invoice]:
    """The case of invoice ``ref`` (number or id), locked; opened now for an overdue invoice without one."""
    from plugins.billing.services_invoices import get_invoice

    invoice = get_invoice(session, ref, lock=app.dialect == "postgresql")
    query = select(ReminderCase).where(ReminderCase.invoice_id == invoice.id)
    if app.dialect == "postgresql":
        query = query.with_for_update()  # two clerks on one case queue up
    case = session.scalars(query).first()
    if case is not None:
        return case, invoice
    record = f"case {invoice.number or invoice.id}"
    if not create:
        raise NotFound(f"{record}: no collection case (see `crm collections list`)")
    if invoice.kind != "invoice" or invoice.state not in OPEN_STATES:
        raise StateError(f"{record}: invoice is {invoice.state}, there is nothing to collect")
    if invoice.due_date is None or app.today <= invoice.due_date:
        due = invoice.due_date.isoformat() if invoice.due_date else "-"
        raise StateError(f"{record}: the invoice is not overdue (due {due}); a case opens once it is")
    case = ReminderCase(invoice_id=invoice.id, partner_id=invoice.partner_id, level=0, opened_on=app.today,
                        last_reminded_on=app.today, state="open")
    session.add(case)
    session.flush()
    _event(session, case, app.today, "opened", user)
    from plugins.billing.services_collections_run import assign_new_cases

    assign_new_cases(app, session, app.today, only=invoice.id)
    session.refresh(case)
    return case, invoice


def assign_case(app, session, ref, login: str, *, user: User | None = None) -> ReminderCase:
    """Give the case to user ``login``."""
    require(app, session, "billing.collections")
    from core.services.people import get_user

    case, invoice = get_case(app, session, ref, user=user)
    _check("assign", case, invoice)
    assignee = get_user(session, login)
    if not assignee.active:
        raise ValidationError(f"user {assignee.login} is not active", record=f"case {invoice.number}", field="user")
    case.assignee_id = assignee.id
    _event(session, case, app.today, "assigned", user, assignee_id=assignee.id)
    session.flush()
    return case


def add_note(app, session, ref, note: str, *, user: User | None = None) -> ReminderCase:
    """Write a note in the case's history."""
    require(app, session, "billing.collections")
    case, invoice = get_case(app, session, ref, user=user)
    _check("note", case, invoice)
    if not (note or "").strip():
        raise ValidationError("a note needs a text", record=f"case {invoice.number}", field="text")
    _event(session, case, app.today, "note", user, text=note.strip())
    session.flush()
    return case


def promise(app, session, ref, promise_date: dt.date, amount: Decimal | None = None, *,
            user: User | None = None) -> ReminderCase:
    """The customer promises to pay ``amount`` (default: all that is open) by ``promise_date``.

    Escalation is suspended until that date included; the first reminder run after it checks the
    promise (:func:`review_promises`).
    """
    require(app, session, "billing.collections")
    case, invoice = get_case(app, session, ref, user=user)
    _check("promise", case, invoice)
    record = f"case {invoice.number}"
    if promise_date < app.today:
        raise ValidationError(f"{promise_date.isoformat()} is before today ({app.today.isoformat()})",
                              record=record, field="date")
    amount = invoice.residual if amount is None else amount
    if amount <= 0 or amount > invoice.residual:
        raise ValidationError(f"{amount} promised, {invoice.residual} is open", record=record, field="amount")
    case.state, case.promise_date, case.promise_amount = "promised", promise_date, amount
    case.promise_residual = invoice.residual
    _event(session, case, app.today, "promised", user, promise_date=promise_date, amount=amount)
    session.flush()
    return case


def dispute(app, session, ref, reason: str, *, user: User | None = None) -> ReminderCase:
    """The customer disputes the invoice: the invoice is held (no reminder) and a promise is dropped."""
    require(app, session, "billing.collections")
    from plugins.billing.services_invoices import set_hold

    case, invoice = get_case(app, session, ref, user=user)
    _check("dispute", case, invoice)
    set_hold(session, invoice, "disputed", reason)
    case.state, case.promise_date, case.promise_amount, case.promise_residual = "open", None, None, None
    _event(session, case, app.today, "disputed", user, text=reason.strip())
    session.flush()
    return case


def resume(app, session, ref, note: str | None = None, *, user: User | None = None) -> ReminderCase:
    """The dispute is settled without a credit note: the hold is lifted and reminders resume."""
    require(app, session, "billing.collections")
    from plugins.billing.services_invoices import set_hold

    case, invoice = get_case(app, session, ref, user=user, create=False)
    _check("resume", case, invoice)
    set_hold(session, invoice, None)
    _event(session, case, app.today, "resumed", user, text=(note or "").strip() or None)
    session.flush()
    return case


def close_by_hand(app, session, ref, reason: str, *, user: User | None = None) -> ReminderCase:
    """Close the case with a reason (e.g. handed to a lawyer): no reminder while it stays closed."""
    require(app, session, "billing.collections")
    case, invoice = get_case(app, session, ref, user=user, create=False)
    _check("close", case, invoice)
    if not (reason or "").strip():
        raise ValidationError("a reason is required", record=f"case {invoice.number}", field="reason")
    case.closed_on, case.closed_reason = app.today, "manual"
    record_closing(app, session, case, "manual", user=user, note=reason.strip())
    return case


def reopen(app, session, ref, reason: str | None = None, *, user: User | None = None) -> ReminderCase:
    """Re-open a case closed by hand whose invoice is still open: reminders resume."""
    require(app, session, "billing.collections")
    case, invoice = get_case(app, session, ref, user=user, create=False)
    _check("reopen", case, invoice)
    if invoice.state not in OPEN_STATES:
        raise StateError(f"case {invoice.number}: the invoice is {invoice.state}, there is nothing to collect")
    case.state, case.closed_on, case.closed_reason = "open", None, None
    _event(session, case, app.today, "reopened", user, text=(reason or "").strip() or None)
    session.flush()
    return case


def record_closing(app, session, case: ReminderCase, reason: str, *, user: User | None = None,
                   note: str | None = None) -> None:
    """The case is closed (``closed_on`` set by the caller): its state, its history, the customer's tasks.

    Called by ``services_payments.close_case`` (payment, credit note, write-off) and by hand. A
    collection task (the hand-over of a customer's cases) closes with the last of its cases.
    """
    kept = case.state == "promised"
    case.state, case.promise_date, case.promise_amount, case.promise_residual = "closed", None, None, None
    words = {"paid": "paid in full", "credited": "cancelled by a credit note", "written_off": "written off"}
    _event(session, case, app.today, "closed", user,
           text=note or (words.get(reason, reason) + ("; promise kept" if kept and reason == "paid" else "")))
    session.flush()
    session.execute(text("""
        UPDATE billing_collection_task SET state = 'closed'
        WHERE partner_id = :partner AND state = 'open' AND NOT EXISTS (
            SELECT 1 FROM billing_reminder_case c
            WHERE c.partner_id = :partner AND c.state <> 'closed' AND c.handed_over_on IS NOT NULL)"""),
                    {"partner": case.partner_id})


# --- reading ----------------------------------------------------------------------------------------

def list_cases(app, session, *, state: str | None = None, assignee: str | None = None) -> list[dict]:
    """The cases (all but closed ones unless ``state``), oldest due first; ``assignee`` a login."""
    from core.services.people import get_user

    assignee_user = User.__table__.alias("assignee")
    query = (select(ReminderCase, Invoice, Partner.name, assignee_user.c.login)
             .join(Invoice, Invoice.id == ReminderCase.invoice_id).join(Partner, Partner.id == ReminderCase.partner_id)
             .outerjoin(assignee_user, assignee_user.c.id == ReminderCase.assignee_id)
             .order_by(Invoice.due_date, Invoice.id))
    disputed = Invoice.hold == "disputed"
    if state is None:
        query = query.where(ReminderCase.state != "closed")
    elif state == "disputed":
        query = query.where(ReminderCase.state != "closed", disputed)
    elif state == "closed":
        query = query.where(ReminderCase.state == "closed")
    elif state in ("open", "promised"):
        query = query.where(ReminderCase.state == state, (Invoice.hold.is_(None)) | (Invoice.hold != "disputed"))
    else:
        raise ValidationError(f"{state!r}: must be one of {', '.join(STATES)}", record="collections", field="state")
    if assignee is not None:
        query = query.where(ReminderCase.assignee_id == get_user(session, assignee).id)
    return [case_dict(app, case, invoice, name, login) for case, invoice, name, login in session.execute(query)]


def case_dict(app, case: ReminderCase, invoice: Invoice, customer: str, assignee: str | None) -> dict:
    due = invoice.due_date
    late = (app.today - due).days if due and case.state != "closed" and app.today > due else 0
    return {"case": invoice.number, "invoice_id": invoice.id, "customer": customer, "customer_id": case.partner_id,
            "state": shown_state(case, invoice), "assignee": assignee, "level": case.level,
            "due_date": due.isoformat() if due else None, "days_late": late, "total": str(invoice.total),
            "residual": str(invoice.residual), "hold": invoice.hold, "hold_reason": invoice.hold_reason,
            "promise_date": case.promise_date.isoformat() if case.promise_date else None,
            "promise_amount": None if case.promise_amount is None else str(case.promise_amount),
            "opened_on": case.opened_on.isoformat(), "handed_over_on": _iso(case.handed_over_on),
            "closed_on": _iso(case.closed_on), "closed_reason": case.closed_reason}


def show_case(app, session, ref) -> dict:
    """One case with its whole history: the reminders sent and every event, oldest first."""
    case, invoice = get_case(app, session, ref, create=False)
    logins = dict(session.execute(select(User.id, User.login)).all())
    data = case_dict(app, case, invoice, invoice.partner.name, logins.get(case.assignee_id))
    history = [(r.run_date, 2, r.id, {"date": r.run_date.isoformat(), "kind": f"reminder_{r.status}",
                                      "level": r.level, "amount": str(r.amount_open), "user": None,
                                      "text": None})
               for r in session.scalars(select(Reminder).where(Reminder.invoice_id == invoice.id))]
    events = session.scalars(select(CaseEvent).where(CaseEvent.invoice_id == invoice.id)).all()
    if not any(e.kind == "opened" for e in events):
        history.append((case.opened_on, -1, 0, {"date": case.opened_on.isoformat(), "kind": "opened", "user": None,
                                                "text": "by the reminder run"}))
    for e in events:
        entry = {"date": e.event_date.isoformat(), "kind": e.kind, "user": logins.get(e.user_id), "text": e.text}
        if e.assignee_id:
            entry["assignee"] = logins.get(e.assignee_id)
        if e.promise_date:
            entry["promise_date"] = e.promise_date.isoformat()
        if e.amount is not None:
            entry["amount"] = str(e.amount)
        history.append((e.event_date, 1, e.id, entry))
    # on one day: the opening, the people's and payments' events, then what the run sent
    data["history"] = [entry for *_, entry in sorted(history, key=lambda h: h[:3])]
    return data


def _iso(value):
    return value.isoformat() if value else None

