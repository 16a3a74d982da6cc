"""The reminder run: set-based SQL decides who gets which level and writes the messages.

Rules (DESIGN.md "Billing", issue 5), each enforced here:

- overdue means today > due date; level N is reached when today > due date + its delay, i.e.
  ``due_date < today - delay`` (a threshold date computed once, so the SQL is the same on SQLite
  and PostgreSQL and uses the open-invoice index);
- each level goes out once per invoice: ``billing_reminder`` is unique on (invoice, level) and is
  written with ``ON CONFLICT DO NOTHING``; a rerun, or a second worker, finds nothing left to do;
- catch-up: an invoice that reached several levels since its last reminder gets only the highest
  (status ``sent``); the levels jumped are recorded as ``skipped``;
- paid, credited, disputed and blocked invoices are not selected; a partly paid one is reminded
  of its residual at the time of the run; of an invoice paid in instalments, only the instalments
  overdue are claimed, interest on each from its own due date (``split_instalments``);
- one message per customer per run, listing all of the customer's overdue invoices, worded by the
  highest level reached today; then one internal summary per sales owner and one for collections.

Everything, messages included (the outbox), is written in the caller's transaction. The messages
are stored as a template name and a JSON context and worded when they are delivered or shown
(``services_reminder_messages``). A run is a handful of statements whatever the size of the
ledger; Python only handles what is per run or per customer and small (the policy, the routes,
the summaries, the collection tasks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Date, bindparam
from sqlalchemy import text as sql_text

from core.db import utcnow
from core.security import require
from plugins.billing.models import ReminderRun
from plugins.billing.services_reminder_levels import levels as load_levels

#: the invoices a run looks at: open, not held (disputed, blocked), their collection case neither promised
#: (escalation suspended until the promise date) nor closed by hand (``services_collections``)
OPEN = ("i.state IN ('posted', 'partially_paid') AND i.kind = 'invoice' AND i.hold IS NULL AND i.residual > 0 "
        "AND NOT EXISTS (SELECT 1 FROM billing_reminder_case k WHERE k.invoice_id = i.id AND k.state <> 'open')")


def text(statement: str):
    """A SQL statement whose ``:today`` and ``:thN`` parameters are dates on both databases."""
    import re

    names = sorted(set(re.findall(r":(today|th\d+)\b", statement)))
    return sql_text(statement).bindparams(*[bindparam(name, type_=Date) for name in names])


LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('entonnoir:billing.reminders:' || current_schema()))"


@dataclass
class RunReport:
    """What a run did (or, dry, would do)."""

    run_date: dt.date
    run_id: int | None = None
    customers: int = 0
    sent: dict = field(default_factory=dict)  # level -> invoices newly at that level
    skipped: int = 0
    notifications: int = 0
    tasks: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    messages: list = field(default_factory=list)  # per customer, when collected (CLI)

    def counts(self) -> dict:
        return {"customers": self.customers, "reminders": sum(self.sent.values()), "skipped_levels": self.skipped,
                "notifications": self.notifications, "collection_tasks": self.tasks,
                "promises_kept": self.promises_kept, "promises_broken": self.promises_broken,
                **{f"level_{level}": count for level, count in sorted(self.sent.items())}}

    def as_dict(self) -> dict:
        return {"run_date": self.run_date.isoformat(), "run_id": self.run_id, **self.counts(),
                "messages": self.messages}


def run_reminders(app, session, today: dt.date | None = None, *, collect: bool = False) -> RunReport:
    """Run the reminders for ``today`` (default ``app.today``) in ``session``'s transaction."""
    require(app, session, "billing.reminders.run")
    from plugins.billing.services_collections_run import assign_new_cases, review_promises

    today = today or app.today
    report = RunReport(today)
    policy = load_levels(session)
    if app.dialect == "postgresql":
        session.execute(text(LOCK_SQL))  # workers queue here; the second one then finds nothing left
    # promises whose date has passed first: a broken one re-opens its case, reminded below the same day
    report.promises_kept, report.promises_broken = review_promises(app, session, today)
    if not policy:
        return report
    run = ReminderRun(run_date=today, created_at=utcnow())
    session.add(run)
    session.flush()
    report.run_id = run.id
    params = {"run": run.id, "today": today}
    thresholds = {f"th{level.level}": today - dt.timedelta(days=level.delay_days) for level in policy}
    params.update(thresholds)
    target = "CASE " + " ".join(f"WHEN i.due_date < :th{level.level} THEN {level.level}"
                                for level in reversed(policy)) + " ELSE 0 END"
    from plugins.billing.reminder_sql import create_run_tables, drop_run_tables, split_instalments

    create_run_tables(session)
    split_instalments(session, OPEN, today)
    # For SQLite: CROSS JOIN keeps the open invoices (their due-date index) as the outer loop, where
    # its planner would rather index the whole invoice table for the few levels; written in invoice
    # order, the reminders, then the cases, fill their indexes page by page instead of at random.
    session.execute(text(f"""
        INSERT INTO billing_reminder (run_id, invoice_id, partner_id, level, run_date, status, amount_open)
        SELECT :run, x.id, x.partner_id, l.level, :today,
               CASE WHEN l.level = x.target THEN 'sent' ELSE 'skipped' END, x.overdue
        FROM (SELECT i.id, i.partner_id, COALESCE(s.overdue, i.residual) AS overdue,
                     COALESCE(c.level, 0) AS current_level, {target} AS target
              FROM billing_invoice i LEFT JOIN billing_reminder_case c ON c.invoice_id = i.id
              LEFT JOIN billing_run_split s ON s.invoice_id = i.id
              WHERE {OPEN} AND i.due_date < :th1 AND COALESCE(s.overdue, 1) > 0) x
        CROSS JOIN billing_reminder_level l
        WHERE x.target > x.current_level AND l.level > x.current_level AND l.level <= x.target
        ORDER BY x.id, l.level
        ON CONFLICT (invoice_id, level) DO NOTHING"""), params)
    for level, status, count in session.execute(text(
            "SELECT level, status, COUNT(*) FROM billing_reminder WHERE run_id = :run GROUP BY level, status"),
            params):
        if status == "sent":
            report.sent[level] = count
        else:
            report.skipped += count
    if not report.sent:
        run.sent, run.skipped = 0, report.skipped
        drop_run_tables(session)
        return report
    session.execute(text("""
        INSERT INTO billing_reminder_case (invoice_id, partner_id, level, opened_on, last_reminded_on, handed_over_on)
        SELECT r.invoice_id, r.partner_id, r.level, :today, :today, CASE WHEN l.handover THEN :today END
        FROM billing_reminder r JOIN billing_reminder_level l ON l.level = r.level
        WHERE r.run_id = :run AND r.status = 'sent'
        ON CONFLICT (invoice_id) DO UPDATE SET level = excluded.level, last_reminded_on = excluded.last_reminded_on,
            handed_over_on = COALESCE(billing_reminder_case.handed_over_on, excluded.handed_over_on)"""), params)
    assign_new_cases(app, session, today)
    from plugins.billing.services_reminder_messages import Composer

    composer = Composer(app, session, run.id, today, policy, collect=collect)
    composer.compose(OPEN)
    composer.finish()
    report.customers, report.notifications, report.tasks = composer.customers, composer.written, composer.tasks
    report.messages = composer.collected
    run.customers, run.sent, run.skipped = report.customers, sum(report.sent.values()), report.skipped
    session.flush()
    return report


# --- reading the cases ----------------------------------------------------------------------------

def list_cases(session, *, include_closed: bool = False, today: dt.date | None = None) -> list[dict]:
    """Every open reminder case (or every case) with its level and its history, oldest due first."""
    from sqlalchemy import select

    from core.models import Partner
    from plugins.billing.models import Invoice, Reminder, ReminderCase

    query = (select(ReminderCase, Invoice, Partner.name).join(Invoice, Invoice.id == ReminderCase.invoice_id)
             .join(Partner, Partner.id == ReminderCase.partner_id).order_by(Invoice.due_date, Invoice.id))
    if not include_closed:
        query = query.where(ReminderCase.closed_on.is_(None))
    found = session.execute(query).all()
    history: dict[int, list] = {}
    ids = [case.invoice_id for case, _, _ in found]
    for chunk in range(0, len(ids), 500):
        for reminder in session.scalars(select(Reminder).where(Reminder.invoice_id.in_(ids[chunk:chunk + 500]))
                                        .order_by(Reminder.level)):
            history.setdefault(reminder.invoice_id, []).append({
                "level": reminder.level, "status": reminder.status, "date": reminder.run_date.isoformat(),
                "amount_open": str(reminder.amount_open),
                "interest": None if reminder.interest is None else str(reminder.interest),
                "indemnity": None if reminder.indemnity is None else str(reminder.indemnity)})
    return [{"invoice": invoice.number, "customer": name, "due_date": invoice.due_date.isoformat(),
             "days_late": (today - invoice.due_date).days if today else None, "residual": str(invoice.residual),
             "state": invoice.state, "level": case.level, "opened_on": case.opened_on.isoformat(),
             "handed_over_on": case.handed_over_on.isoformat() if case.handed_over_on else None,
             "closed_on": case.closed_on.isoformat() if case.closed_on else None, "closed_reason": case.closed_reason,
             "history": history.get(case.invoice_id, [])} for case, invoice, name in found]
