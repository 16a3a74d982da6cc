"""Addressing the messages of one reminder run and storing their data (called by ``services_reminders``).

One message per customer, by the highest level the customer's invoices reached today, listing
every overdue invoice of the customer with its open amount (and, from the formal notice on, the
late interest to the day and the 40 € indemnity for business customers). Recipients follow the
level: ``customer`` (e-mail, or the postal address for a letter), ``owner`` (the sales owner, in
copy) and ``collections``. A customer without an e-mail address gets a letter instead.

The run does not word the messages: each outbox row names the level's template and carries a
JSON context (ISO dates, amounts as decimal strings), and the kernel words it with
``<template>.txt`` (and ``<template>.html`` if there is one) when it is delivered or shown. A run
over a million invoices writes tens of thousands of messages; rendering them here cost two thirds
of its time. The database writes each invoice's JSON line (``invoice_json_sql``) and its interest
(``fill_rate_days``); Python only addresses the message and splices the lines into the context.
Only the few internal summaries are worded here.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import select, text

from core.outbox import notification_row, notify_many
from plugins.billing.formatting import Formatter, as_date

BATCH = 2000
SUMMARY_LINES = 500


class Composer:
    """Builds the outbox rows of one run, customer by customer, and writes them in batches."""

    def __init__(self, app, session, run_id: int, today: dt.date, policy, *, collect: bool = False):
        from core.models import Partner, User
        from core.outbox import resolve_recipients
        from plugins.billing.models import Reminder
        from plugins.billing.services_rates import RateTable
        from plugins.billing.settings import collections_specs, settings

        self.app, self.session, self.run_id, self.today = app, session, run_id, today
        self.levels = {level.level: level for level in policy}
        # what the templates see of a level (a JSON context holds data, not ORM objects)
        self.level_data = {level.level: {"level": level.level, "name": level.name, "handover": level.handover}
                           for level in policy}
        self.collect, self.collected = collect, []
        options = settings(app)
        self.indemnity = int(options["recovery_indemnity"].scaleb(2))  # cents
        self.rates = RateTable(session, options["penalty_margin"]) if any(l.interest for l in policy) else None
        self.fmt = Formatter(app.config.company.locale, app.config.company.currency)
        self.collections = resolve_recipients(session, collections_specs(app))
        self.users = {row.id: row for row in session.execute(select(User.id, User.email, User.name, User.login))}
        reminded = select(Reminder.partner_id).where(Reminder.run_id == run_id, Reminder.status == "sent")
        partners = select(Partner.id, Partner.name, Partner.email, Partner.kind, Partner.street, Partner.postal_code,
                          Partner.city, Partner.salesperson_id).where(Partner.id.in_(reminded))
        self.partners = {row.id: row for row in session.execute(partners)}
        self.today_iso = today.isoformat()
        self.today_text = self.fmt.date(today)
        self.indemnity_text = _amount(self.indemnity)
        self.wanted = {level.level: level.recipients.split(",") for level in policy}
        self.rows, self.updates, self.task_rows = [], [], []
        self.owner_lines: dict[int, list] = {}
        self.level_totals: dict[int, list] = {}
        self.handed_over: list = []
        self.customers = self.written = self.tasks = 0

    # --- one customer -------------------------------------------------------------------------
    def customer(self, partner_id: int, rows) -> None:
        """Address the message of one customer; ``rows`` are their overdue invoices, oldest due first,
        each with its context line already written by the database (``invoice_json_sql``)."""
        level_no = max(row.new_level for row in rows if row.new_level is not None)
        level = self.levels[level_no]
        partner = self.partners[partner_id]
        business = partner.kind == "company"
        with_interest = bool(level.interest)
        with_indemnity = bool(level.indemnity and business)
        total_open = sum(row.residual for row in rows)
        total_interest = total_indemnity = 0
        if with_interest or with_indemnity:
            indemnity = self.indemnity if with_indemnity else None
            lines = []
            for row in rows:
                interest = None
                extra = ""
                if with_interest:
                    interest = row.interest
                    if interest is None:  # no rate known for that day: the rate table says which
                        interest = self._interest(row.residual, row.line)
                    total_interest += interest
                    extra = f',"interest":"{_amount(interest)}"'
                if with_indemnity:
                    total_indemnity += indemnity
                    extra += f',"indemnity":"{self.indemnity_text}"'
                lines.append(row.line[:-1] + extra + "}")
                if row.reminder_id is not None:
                    self.updates.append({"id": row.reminder_id, "interest": interest, "indemnity": indemnity})
        else:
            lines = [row.line for row in rows]
        count = len(rows)
        head = json.dumps({
            "customer": {"name": partner.name, "email": partner.email, "street": partner.street,
                         "postal_code": partner.postal_code, "city": partner.city},
            "level": self.level_data[level_no], "today": self.today_iso, "business": business,
            "interest": with_interest, "indemnity": with_indemnity, "total_open": _amount(total_open),
            "total_interest": _amount(total_interest), "total_indemnity": _amount(total_indemnity),
            "total_claimed": _amount(total_open + total_interest + total_indemnity)}, ensure_ascii=False)
        context = head[:-1] + ',"invoices":[' + ",".join(lines) + "]}"
        owner_id = rows[0].salesperson_id or partner.salesperson_id
        owner = self.users.get(owner_id)
        wanted = self.wanted[level_no]
        internal = []
        if "owner" in wanted and owner is not None and owner.email:
            internal.append(owner.email)
        if "collections" in wanted:
            internal.extend(a for a in self.collections if a not in internal)
        subject = f"{level.name} : {count} facture{'s' if count > 1 else ''} en retard ({partner.name})"
        key = f"billing:reminder:{partner_id}:{self.today_iso}:L{level_no}:{min(r.id for r in rows)}"
        related = f"core_partner:{partner_id}"
        external = "customer" in wanted
        channel = level.channel if (level.channel != "email" or partner.email) else "letter"
        if not external and not internal:
            self._failure(f"customer {partner.name}: level {level_no} has nobody to send to (no owner, no collections)")
        elif channel == "email":
            recipients = ([partner.email] if external else []) + internal
            self._add(context, recipients=recipients, subject=subject, template=level.template, related=related,
                      dedup_key=key)
        else:
            if external:
                address = ", ".join(p for p in (partner.name, partner.street, " ".join(
                    p for p in (partner.postal_code, partner.city) if p)) if p)
                self._add(context, recipients=[address], subject=subject, channel="letter", template=level.template,
                          related=related, dedup_key=key)
            if internal:
                self._add(context, recipients=internal, subject=f"Copie : {subject}", template=level.template,
                          related=related, dedup_key=key + ":copy")
        if level.handover:
            self.task_rows.append({"partner_id": partner_id, "run_id": self.run_id, "created_on": self.today,
                                   "state": "open", "summary": f"Recouvrer {self.fmt.money(_decimal(total_open))} : "
                                   + ", ".join(row.number for row in rows)})
            self.handed_over.append((partner.name, count, total_open))
        self.customers += 1
        self.owner_lines.setdefault(owner_id, []).append((partner.name, level_no, count, total_open))
        totals = self.level_totals.setdefault(level_no, [0, 0, 0])
        totals[0] += 1
        totals[1] += count
        totals[2] += total_open
        if self.collect:
            self.collected.append({"customer": partner.name, "customer_id": partner_id, "level": level_no,
                                   "channel": channel, "total_open": _amount(total_open),
                                   "invoices": [{"number": row.number, "days_late": json.loads(row.line)["days_late"],
                                                 "open": self.fmt.money(_decimal(row.residual)),
                                                 "new": row.new_level is not None} for row in rows]})
        if len(self.rows) >= BATCH:
            self._flush()

    def _add(self, context: str, **values) -> None:
        """One outbox row, worded at delivery: the kernel checks it, the context is our JSON text."""
        row = notification_row(self.app, **values)
        row["context"] = context
        self.rows.append(row)

    def _interest(self, amount: int, line: str) -> int:
        """Late interest in cents, to the day with the dated rates (see ``RateTable.interest``)."""
        due = dt.date.fromisoformat(json.loads(line)["due_date"])
        return int(self.rates.interest(_decimal(amount), due, self.today).scaleb(2))

    # --- end of the run -----------------------------------------------------------------------
    def finish(self) -> None:
        from plugins.billing.models import CollectionTask

        self._summaries()
        self._flush()
        if self.rates is not None:
            self.session.execute(text("DROP TABLE IF EXISTS billing_run_rate_days"))
        if self.updates:
            self.session.execute(text("UPDATE billing_reminder SET interest = :interest, indemnity = :indemnity "
                                      "WHERE id = :id"), self.updates)
        if self.task_rows:
            self.session.execute(CollectionTask.__table__.insert(), self.task_rows)
            self.tasks = len(self.task_rows)

    def _flush(self) -> None:
        self.written += notify_many(self.app, self.session, self.rows)
        self.rows = []

    def _summaries(self) -> None:
        fmt = self.fmt
        for owner_id, lines in self.owner_lines.items():
            owner = self.users.get(owner_id)
            if owner is None or not owner.email:
                continue
            body = "\n".join([f"Relances envoyées le {self.today_text} à vos clients :", ""] + [
                f"- {name} : niveau {level}, {count} facture(s), {fmt.money(_decimal(amount))} ouverts"
                for name, level, count, amount in lines[:SUMMARY_LINES]] + _more(lines))
            self.rows.append(notification_row(self.app, recipients=[owner.email],
                                              subject=f"Relances du {self.today_text} : {len(lines)} client(s)",
                                              text=body + "\n", related=f"billing_reminder_run:{self.run_id}",
                                              dedup_key=f"billing:summary:{self.run_id}:owner:{owner_id}"))
        if self.collections:
            lines = [f"Relances du {self.today_text} :", ""]
            for level_no in sorted(self.level_totals):
                customers, invoices, amount = self.level_totals[level_no]
                lines.append(f"- niveau {level_no} ({self.levels[level_no].name}) : {customers} client(s), "
                             f"{invoices} facture(s), {fmt.money(_decimal(amount))} ouverts")
            if self.handed_over:
                lines += ["", "Dossiers transmis au recouvrement :"] + [
                    f"- {name} : {count} facture(s), {fmt.money(_decimal(amount))}"
                    for name, count, amount in self.handed_over[:SUMMARY_LINES]] + _more(self.handed_over)
            self.rows.append(notification_row(self.app, recipients=self.collections,
                                              subject=f"Relances du {self.today_text} : {self.customers} client(s)",
                                              text="\n".join(lines) + "\n", related=f"billing_reminder_run:{self.run_id}",
                                              dedup_key=f"billing:summary:{self.run_id}:collections"))

    def _failure(self, message: str) -> None:
        from core.scheduler import FAILURES_KEY

        self.session.info.setdefault(FAILURES_KEY, []).append(message)


def _more(lines) -> list[str]:
    return [f"... et {len(lines) - SUMMARY_LINES} autre(s)"] if len(lines) > SUMMARY_LINES else []


def _iso(value) -> str:
    """A date from a raw SQL row as ISO text (SQLite gives text, PostgreSQL a date)."""
    return value[:10] if isinstance(value, str) else value.isoformat()


def _amount(cents: int) -> str:
    """Cents as the decimal string a JSON context carries ("1234.50"); the ``money`` filter words it."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units}.{rest:02d}"


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def invoice_json_sql(dialect: str) -> str:
    """The SQL expression of one invoice's entry in a message context (``i`` is the invoice).

    The database writes the JSON of each invoice line (ISO dates, amounts as decimal strings from
    the integer cents): two hundred thousand lines cost it a fraction of what building them in
    Python would. Interest and indemnity, which depend on the customer's level, are added by
    :meth:`Composer.customer`.
    """
    if dialect == "postgresql":
        def money(column):
            return f"(({column}) / 100)::text || '.' || lpad((({column}) % 100)::text, 2, '0')"
        return ("json_build_object('number', i.number, 'invoice_date', i.invoice_date, 'due_date', i.due_date, "
                f"'days_late', :today - i.due_date, 'total', {money('i.total')}, 'open', {money('i.residual')})::text")
    return ("json_object('number', i.number, 'invoice_date', substr(i.invoice_date, 1, 10), "
            "'due_date', substr(i.due_date, 1, 10), "
            "'days_late', CAST(julianday(:today) - julianday(i.due_date) AS INTEGER), "
            "'total', printf('%d.%02d', i.total / 100, i.total % 100), "
            "'open', printf('%d.%02d', i.residual / 100, i.residual % 100))")


def fill_rate_days(session, rates, today: dt.date, open_condition: str) -> bool:
    """Fill the temporary table ``billing_run_rate_days`` (due date -> percent-days x 10,000).

    The late interest depends on the amount and the due date only (``RateTable.rate_days``), so it
    is computed once per distinct due date of the open overdue invoices; the database then gives
    each invoice its interest in cents, rounded half up once:
    ``(2 x cents x rate_days + 365,000,000) / 730,000,000`` in integers. A day without a known
    rate is left out (NULL): the run asks the rate table again for those, which names the gap.
    :returns: False when no level claims interest (nothing to fill).
    """
    from sqlalchemy import Date, bindparam

    if rates is None:
        return False
    dialect = session.get_bind().dialect.name
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS billing_run_rate_days (due_date DATE PRIMARY KEY, "
                         "rate_days BIGINT NOT NULL)" + (" ON COMMIT DROP" if dialect == "postgresql" else "")))
    session.execute(text("DELETE FROM billing_run_rate_days"))
    days = session.execute(text(f"SELECT DISTINCT i.due_date FROM billing_invoice i WHERE {open_condition} "
                                "AND i.due_date < :today").bindparams(bindparam("today", type_=Date)),
                           {"today": today}).scalars().all()
    from core.errors import CrmError

    values = []
    for day in days:
        due = as_date(day)
        try:
            weight = rates.rate_days(due, today) * 10000
        except CrmError:
            continue
        values.append({"due_date": due, "rate_days": int(weight)})
    if values:
        session.execute(text("INSERT INTO billing_run_rate_days (due_date, rate_days) VALUES (:due_date, :rate_days)")
                        .bindparams(bindparam("due_date", type_=Date)), values)
    return True
