"""What the reminder run does for the collection cases: promises whose date passed, assignees of new cases.

Both are set-based (a few statements whatever the number of cases) and run in the run's
transaction (``services_reminders.run_reminders``); a clerk's command opening a case assigns it
with the same rule (``services_collections.get_case``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, bindparam, select, text

from core.models import User


def review_promises(app, session, today: dt.date) -> tuple[int, int]:
    """Promises whose date has passed (today > promise date): kept or broken, the case open again.

    Kept when the invoice's residual fell by at least the amount promised since the promise.
    A broken promise is told to the case's assignee and the sales owner (the outbox, once per
    promise: a dedup key). Set-based; :returns: ``(kept, broken)``.
    """
    params = {"today": today}
    due = "c.state = 'promised' AND c.promise_date < :today"
    kept = "i.residual <= c.promise_residual - c.promise_amount"
    session.execute(_dated(f"""
        INSERT INTO billing_case_event (invoice_id, event_date, kind, promise_date, amount)
        SELECT c.invoice_id, :today, CASE WHEN {kept} THEN 'promise_kept' ELSE 'promise_broken' END,
               c.promise_date, c.promise_amount
        FROM billing_reminder_case c JOIN billing_invoice i ON i.id = c.invoice_id
        WHERE {due}"""), params)
    broken = session.execute(_dated(f"""
        SELECT c.invoice_id, i.number, p.name, c.promise_date, c.promise_amount, i.residual, a.login,
               COALESCE(i.salesperson_id, p.salesperson_id)
        FROM billing_reminder_case c JOIN billing_invoice i ON i.id = c.invoice_id
        JOIN core_partner p ON p.id = c.partner_id LEFT JOIN core_user a ON a.id = c.assignee_id
        WHERE {due} AND NOT ({kept}) ORDER BY c.invoice_id"""), params).all()
    counted = session.execute(_dated(f"SELECT COUNT(*) FROM billing_reminder_case c WHERE {due}"), params).scalar()
    if broken:
        _tell_broken(app, session, broken)
    session.execute(_dated("""
        UPDATE billing_reminder_case SET state = 'open', promise_date = NULL, promise_amount = NULL,
            promise_residual = NULL
        WHERE state = 'promised' AND promise_date < :today"""), params)
    return counted - len(broken), len(broken)


def _tell_broken(app, session, rows) -> None:
    from core.outbox import notification_row, notify_many, resolve_recipients
    from plugins.billing.formatting import Formatter, as_date, cents
    from plugins.billing.settings import collections_specs

    fmt = Formatter(app.config.company.locale, app.config.company.currency)
    owners = {row.id: row.email for row in session.execute(select(User.id, User.email))}
    messages = []
    for invoice_id, number, customer, promised_on, amount, residual, assignee, owner_id in rows:
        promised_on = as_date(promised_on)
        recipients = resolve_recipients(session, [f"user:{assignee}"]) if assignee else []
        if owners.get(owner_id) and owners[owner_id] not in recipients:
            recipients.append(owners[owner_id])
        recipients = recipients or resolve_recipients(session, collections_specs(app))
        if not recipients:
            continue
        body = (f"{customer} avait promis de payer {fmt.money(cents(amount))} au plus tard le "
                f"{fmt.date(promised_on)} pour la facture {number}.\n"
                f"La promesse n'est pas tenue : il reste {fmt.money(cents(residual))} à payer.\n"
                "Le dossier est rouvert et les relances reprennent.\n")
        messages.append(notification_row(
            app, recipients=recipients, subject=f"Promesse de paiement non tenue : facture {number} ({customer})",
            text=body, related=f"billing_invoice:{invoice_id}",
            dedup_key=f"billing:promise-broken:{invoice_id}:{promised_on.isoformat()}"))
    notify_many(app, session, messages)


def assign_new_cases(app, session, today: dt.date, *, only: int | None = None) -> int:
    """Give every open case without an assignee one, by ``[billing] case_assignment`` (set-based).

    - ``round_robin``: the active users of role ``collections`` in login order, one customer after
      the other (a customer's cases stay with whoever already works one of them);
    - ``salesperson``: the invoice's salesperson, else the customer's;
    - ``user:LOGIN``: always that user.

    Each assignment is an ``assigned`` event of the case's history. :returns: how many.
    """
    from core.services.people import get_user
    from plugins.billing.settings import settings

    rule = settings(app)["case_assignment"]
    params = {"today": today, "only": only}
    if rule == "salesperson":
        chosen = "COALESCE(i.salesperson_id, p.salesperson_id)"
    elif rule.startswith("user:"):
        params["fixed"] = get_user(session, rule[5:]).id
        chosen = ":fixed"
    else:
        team = session.scalars(select(User.id).where(User.role == "collections", User.active.is_(True))
                               .order_by(User.login)).all()
        if not team:
            return 0
        params["offset"] = session.execute(text("SELECT COUNT(DISTINCT partner_id) FROM billing_reminder_case "
                                                "WHERE assignee_id IS NOT NULL")).scalar()
        turns = " ".join(f"WHEN {n} THEN {user_id}" for n, user_id in enumerate(team))
        chosen = f"COALESCE(k.assignee_id, CASE (:offset + f.turn - 1) % {len(team)} {turns} END)"
    restrict = "AND n.invoice_id = :only" if only is not None else ""
    written = session.execute(_dated(f"""
        INSERT INTO billing_case_event (invoice_id, event_date, kind, assignee_id, text)
        SELECT invoice_id, :today, 'assigned', chosen, :rule FROM (
            SELECT n.invoice_id, {chosen} AS chosen
            FROM billing_reminder_case n
            JOIN billing_invoice i ON i.id = n.invoice_id JOIN core_partner p ON p.id = n.partner_id
            LEFT JOIN (SELECT partner_id, MAX(assignee_id) AS assignee_id FROM billing_reminder_case
                       WHERE assignee_id IS NOT NULL AND state <> 'closed' GROUP BY partner_id) k
                   ON k.partner_id = n.partner_id
            LEFT JOIN (SELECT partner_id, dense_rank() OVER (ORDER BY partner_id) AS turn
                       FROM (SELECT DISTINCT c.partner_id FROM billing_reminder_case c
                             WHERE c.assignee_id IS NULL AND c.state <> 'closed' AND NOT EXISTS (
                                 SELECT 1 FROM billing_reminder_case o WHERE o.partner_id = c.partner_id
                                 AND o.assignee_id IS NOT NULL AND o.state <> 'closed')) x) f
                   ON f.partner_id = n.partner_id
            WHERE n.assignee_id IS NULL AND n.state <> 'closed' {restrict}) y
        WHERE chosen IS NOT NULL"""), {**params, "rule": f"rule {rule}"}).rowcount
    if written:
        # each case takes the assignee of its latest ``assigned`` event, found by one grouping: a
        # per-case subquery ``ORDER BY e.id DESC LIMIT 1`` let PostgreSQL walk the whole event
        # table backwards for each case (5,000,000 invoices: minutes on one statement)
        session.execute(text(f"""
            UPDATE billing_reminder_case SET assignee_id = e.assignee_id
            FROM billing_case_event e
            JOIN (SELECT invoice_id, MAX(id) AS id FROM billing_case_event
                  WHERE kind = 'assigned' AND invoice_id IN (
                      SELECT invoice_id FROM billing_reminder_case WHERE assignee_id IS NULL AND state <> 'closed')
                  GROUP BY invoice_id) latest ON latest.id = e.id
            WHERE e.invoice_id = billing_reminder_case.invoice_id
              AND billing_reminder_case.assignee_id IS NULL AND billing_reminder_case.state <> 'closed'
              {restrict.replace('n.', 'billing_reminder_case.')}"""), params)
    return written


def _dated(statement: str):
    return text(statement).bindparams(bindparam("today", type_=Date))
