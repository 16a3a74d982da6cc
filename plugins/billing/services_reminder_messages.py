"""Addressing the messages of one reminder run and storing them in the outbox (called by ``services_reminders``).

One message per customer, by the highest level the customer's invoices reached today, listing
every overdue invoice of the customer with its open amount (and, from the formal notice on, the
late interest to the day and the 40 € indemnity for business customers). Recipients follow the
level: ``customer`` (e-mail, or the postal address for a letter), ``owner`` (the sales owner, in
copy) and ``collections``. A customer without an e-mail address gets a letter instead.

The run does not word the messages: each outbox row names the level's template and carries a
JSON context (ISO dates, amounts as decimal strings), and the kernel words it with
``<template>.txt`` (and ``<template>.html`` if there is one) when it is delivered or shown.

A run over a million invoices writes a hundred thousand messages. Building each row in Python
(its context listing the customer's invoices) and inserting them through the ORM cost most of the
run, so the database writes them, set-based, in a few statements over temporary tables
(:mod:`plugins.billing.reminder_sql` holds them):

0. ``billing_run_split`` (:func:`split_instalments`, filled before the reminders are chosen): of the
   invoices paid in instalments, what is overdue today and the interest it earns;
1. ``billing_run_customer`` (:func:`customers_sql`): one row per customer reminded today, with the level, the
   sales owner, the totals and the JSON lines of the overdue invoices, in due-date order (with the
   references of their PDFs when the level attaches them: rendered at delivery);
2. ``billing_run_route`` (:meth:`Composer._routes`): who gets what for a (level, sales owner, has an
   e-mail address), a few rows worked out in Python from the policy, the users and collections;
3. one ``INSERT ... SELECT`` into the outbox joining them (:func:`messages_sql` through
   ``core.outbox.notify_select``: insert-ignore on the dedup key, so a rerun writes nothing twice).

Python then reads one short row per customer for what only it words: the internal summaries, the
collection tasks (amounts in the company's locale) and, for the CLI, the list of messages.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import Date, String, Text, bindparam, select, text

from core.errors import CrmError
from core.outbox import notification_row, notify_many, notify_select
from plugins.billing.formatting import Formatter, as_date
from plugins.billing.reminder_sql import customers_sql, drop_run_tables, fill_rate_days, messages_sql, rate_instalments

SUMMARY_LINES = 500
#: customers read per fetch while tallying, and collection tasks written per insert: the run holds a
#: batch, never every customer (on PostgreSQL through a server-side cursor)
TALLY_BATCH = 5_000


class _Head:
    """The first ``SUMMARY_LINES`` lines of a summary and how many there were: what it prints."""

    __slots__ = ("lines", "count")

    def __init__(self):
        self.lines, self.count = [], 0

    def append(self, line) -> None:
        self.count += 1
        if len(self.lines) < SUMMARY_LINES:
            self.lines.append(line)


class Composer:
    """Writes the outbox rows, collection tasks and summaries of one run, set-based."""

    def __init__(self, app, session, run_id: int, today: dt.date, policy, *, collect: bool = False):
        from core.models import User
        from core.outbox import resolve_recipients
        from plugins.billing.services_rates import RateTable
        from plugins.billing.settings import collections_specs, settings

        self.app, self.session, self.run_id, self.today = app, session, run_id, today
        self.dialect = session.get_bind().dialect.name
        self.levels = {level.level: level for level in policy}
        self.collect, self.collected = collect, []
        options = settings(app)
        self.indemnity = int(options["recovery_indemnity"].scaleb(2))  # cents
        self.rates = RateTable(session, options["penalty_margin"]) if any(l.interest for l in policy) else None
        self.fmt = Formatter(app.config.company.locale, app.config.company.currency)
        self.collections = resolve_recipients(session, collections_specs(app))
        self.users = {row.id: row for row in session.execute(select(User.id, User.email, User.name, User.login))}
        self.today_text = self.fmt.date(today)
        self.routes: dict[tuple, list[dict]] = {}  # (level, owner, has e-mail) -> the rows of billing_run_route
        self.owner_lines: dict[int, _Head] = {}  # for the summaries: owner -> (customer, level, invoices, open)
        self.level_totals: dict[int, list] = {}  # level -> [customers, invoices, open]
        self.task_rows, self.handed_over = [], _Head()
        self.customers = self.written = self.tasks = 0

    def compose(self, open_condition: str) -> None:
        """Write the customers' messages; ``open_condition`` selects the open invoices (alias ``i``)."""
        session = self.session
        with_rates = fill_rate_days(session, self.rates, self.today, open_condition)
        if with_rates:
            rate_instalments(session, self.today)
        params = {"run": self.run_id, "today": self.today, "today_iso": self.today.isoformat(),
                  "indemnity": self.indemnity, "company_language": self.app.config.company.locale.split("_")[0]}
        session.execute(text(customers_sql(self.dialect, open_condition, with_rates, _amount(self.indemnity)))
                        .bindparams(bindparam("today", type_=Date)), params)
        day = session.execute(text("SELECT MIN(unrated) FROM billing_run_customer")).scalar()
        if day is not None:  # interest claimed for a day without a known rate: the rate table names the gap
            self.rates.rate_days(as_date(day), self.today)
            raise CrmError(f"no late-payment rate known for {as_date(day).isoformat()}")
        if any(level.interest or level.indemnity for level in self.levels.values()):
            self._claim_on_reminders(with_rates, params)
        self._routes()
        self.written += notify_select(self.app, session, text(messages_sql(self.dialect)).columns(
            channel=String, recipients=Text, subject=String, template=String, context=Text, related=String,
            dedup_key=String, attachments=Text), params)
        self._tally(open_condition)

    def _claim_on_reminders(self, with_rates: bool, params: dict) -> None:
        """Record on each reminder sent the interest and indemnity its message claims (the customer's level says)."""
        interest = ("COALESCE((SELECT (2 * s.interest_units + 365000000) / 730000000 FROM billing_run_split s "
                    "WHERE s.invoice_id = i.id), (2 * billing_reminder.amount_open * (SELECT d.rate_days "
                    "FROM billing_run_rate_days d WHERE d.due_date = i.due_date) + 365000000) / 730000000)"
                    if with_rates else "NULL")
        self.session.execute(text(f"""
            UPDATE billing_reminder
            SET interest = CASE WHEN l.interest THEN {interest} END,
                indemnity = CASE WHEN l.indemnity AND p.kind = 'company' THEN :indemnity END
            FROM billing_run_customer c, billing_reminder_level l, core_partner p, billing_invoice i
            WHERE billing_reminder.run_id = :run AND billing_reminder.status = 'sent'
              AND c.partner_id = billing_reminder.partner_id AND l.level = c.level AND (l.interest OR l.indemnity)
              AND p.id = c.partner_id AND i.id = billing_reminder.invoice_id"""), params)

    def _routes(self) -> None:
        """Who gets which message, per (level, sales owner, has an e-mail address): the rows of ``billing_run_route``.

        ``to_customer`` puts the customer's e-mail address, or postal address for a letter, first;
        ``others`` are the internal recipients (the owner in copy, collections). A combination
        with nobody to send to gets no route: the customer is reported as a failure.
        """
        rows = []
        for level_no, owner_id, has_email in self.session.execute(text(
                "SELECT DISTINCT level, COALESCE(owner_id, 0), has_email FROM billing_run_customer")).all():
            level = self.levels[level_no]
            wanted = level.recipients.split(",")
            owner = self.users.get(owner_id)
            internal = [owner.email] if "owner" in wanted and owner is not None and owner.email else []
            if "collections" in wanted:
                internal.extend(a for a in self.collections if a not in internal)
            internal = [a.strip() for a in internal if a and a.strip()]
            external = "customer" in wanted
            channel = level.channel if (level.channel != "email" or has_email) else "letter"
            key = {"level": level_no, "owner_id": owner_id, "has_email": has_email, "template": level.template}
            if not external and not internal:
                routes = []
            elif channel == "email":
                routes = [_route(key, level, "email", "email" if external else "", internal)]
            else:  # the letter to the customer, an e-mail copy to the others
                routes = ([_route(key, level, "letter", "letter", [])] if external else []) + (
                    [_route(key, level, "email", "", internal, "Copie : ", ":copy")] if internal else [])
            for seq, route in enumerate(routes):
                route["seq"] = seq
            rows.extend(routes)
            self.routes[(level_no, owner_id, has_email)] = routes
        if rows:
            self.session.execute(text(
                "INSERT INTO billing_run_route (level, owner_id, has_email, seq, channel, to_customer, others, "
                "subject_head, subject_head_en, key_suffix, template) VALUES (:level, :owner_id, :has_email, :seq, "
                ":channel, :to_customer, :others, :subject_head, :subject_head_en, :key_suffix, :template)"), rows)

    def _tally(self, open_condition: str) -> None:
        """One short row per customer, in customer order: the summaries, tasks, failures and the CLI's list."""
        from core.scheduler import FAILURES_KEY

        invoices = self._invoices(open_condition) if self.collect else {}
        for partner_id, name, level_no, count, total_open, owner_id, has_email, numbers in self.session.execute(text(
                "SELECT c.partner_id, p.name, c.level, c.invoices, c.total_open, c.owner_id, c.has_email, c.numbers "
                "FROM billing_run_customer c JOIN core_partner p ON p.id = c.partner_id ORDER BY c.partner_id")
                .execution_options(yield_per=TALLY_BATCH)):
            level = self.levels[level_no]
            routes = self.routes[(level_no, owner_id or 0, has_email)]
            if not routes:  # the job reports it; the others are sent
                self.session.info.setdefault(FAILURES_KEY, []).append(
                    f"customer {name}: level {level_no} has nobody to send to (no owner, no collections)")
            if level.handover:
                summary = f"Recouvrer {self.fmt.money(_decimal(total_open))} : {numbers}"
                self.task_rows.append({"partner_id": partner_id, "run_id": self.run_id, "created_on": self.today,
                                       "state": "open", "summary": summary})
                self.handed_over.append((name, count, total_open))
                if len(self.task_rows) >= TALLY_BATCH:
                    self._write_tasks()
            self.customers += 1
            self.owner_lines.setdefault(owner_id, _Head()).append((name, level_no, count, total_open))
            totals = self.level_totals.setdefault(level_no, [0, 0, 0])
            totals[:] = totals[0] + 1, totals[1] + count, totals[2] + total_open
            if self.collect:
                channel = level.channel if (level.channel != "email" or has_email) else "letter"
                self.collected.append({"customer": name, "customer_id": partner_id, "level": level_no,
                                       "channel": channel, "total_open": _amount(total_open),
                                       "invoices": invoices.get(partner_id, [])})

    def _invoices(self, open_condition: str) -> dict[int, list]:
        """Each customer's overdue invoices as the CLI lists them (only when asked: ``collect``)."""
        found: dict[int, list] = {}
        for partner_id, number, due_date, residual, reminder_id in self.session.execute(text(f"""
                SELECT i.partner_id, i.number, i.due_date, COALESCE(s.overdue, i.residual), r.id
                FROM billing_run_customer c JOIN billing_invoice i ON i.partner_id = c.partner_id
                LEFT JOIN billing_reminder r ON r.invoice_id = i.id AND r.run_id = :run AND r.status = 'sent'
                LEFT JOIN billing_run_split s ON s.invoice_id = i.id
                WHERE {open_condition} AND i.due_date < :today AND COALESCE(s.overdue, 1) > 0
                ORDER BY i.partner_id, i.due_date, i.id""").bindparams(bindparam("today", type_=Date)),
                {"run": self.run_id, "today": self.today}):
            found.setdefault(partner_id, []).append({
                "number": number, "days_late": (self.today - as_date(due_date)).days,
                "open": self.fmt.money(_decimal(residual)), "new": reminder_id is not None})
        return found

    # --- end of the run -----------------------------------------------------------------------
    def finish(self) -> None:
        self._summaries()
        drop_run_tables(self.session)  # SQLite would keep them, tens of megabytes, on the pooled connection
        self._write_tasks()

    def _write_tasks(self) -> None:
        from plugins.billing.models import CollectionTask

        if self.task_rows:
            self.session.execute(CollectionTask.__table__.insert(), self.task_rows)
            self.tasks += len(self.task_rows)
            self.task_rows = []

    def _summaries(self) -> None:
        fmt = self.fmt
        rows = []
        for owner_id, lines in self.owner_lines.items():
            owner = self.users.get(owner_id)
            if owner is None or not owner.email:
                continue
            body = "\n".join([f"Relances envoyées le {self.today_text} à vos clients :", ""] + [
                f"- {name} : niveau {level}, {count} facture(s), {fmt.money(_decimal(amount))} ouverts"
                for name, level, count, amount in lines.lines] + _more(lines))
            rows.append(notification_row(self.app, recipients=[owner.email],
                                         subject=f"Relances du {self.today_text} : {lines.count} client(s)",
                                         text=body + "\n", related=f"billing_reminder_run:{self.run_id}",
                                         dedup_key=f"billing:summary:{self.run_id}:owner:{owner_id}"))
        if self.collections:
            lines = [f"Relances du {self.today_text} :", ""]
            for level_no in sorted(self.level_totals):
                customers, invoices, amount = self.level_totals[level_no]
                lines.append(f"- niveau {level_no} ({self.levels[level_no].name}) : {customers} client(s), "
                             f"{invoices} facture(s), {fmt.money(_decimal(amount))} ouverts")
            if self.handed_over.count:
                lines += ["", "Dossiers transmis au recouvrement :"] + [
                    f"- {name} : {count} facture(s), {fmt.money(_decimal(amount))}"
                    for name, count, amount in self.handed_over.lines] + _more(self.handed_over)
            rows.append(notification_row(self.app, recipients=self.collections,
                                         subject=f"Relances du {self.today_text} : {self.customers} client(s)",
                                         text="\n".join(lines) + "\n", related=f"billing_reminder_run:{self.run_id}",
                                         dedup_key=f"billing:summary:{self.run_id}:collections"))
        self.written += notify_many(self.app, self.session, rows)


#: the subject's head for a customer who reads English, by the level's template (level names are the
#: company's words, in its language)
ENGLISH_HEADS = {"billing/reminder_friendly": "Friendly reminder", "billing/reminder_firm": "Second reminder",
                 "billing/formal_notice": "Formal notice", "billing/handover": "Handed over to collections"}


def _route(key: dict, level, channel: str, to_customer: str, others: list, prefix: str = "", suffix: str = "") -> dict:
    return {**key, "channel": channel, "to_customer": to_customer, "others": json.dumps(others),
            "subject_head": f"{prefix}{level.name} : ",
            "subject_head_en": f"{ENGLISH_HEADS.get(level.template, 'Payment reminder')}: ", "key_suffix": suffix}


def _more(head: _Head) -> list[str]:
    return [f"... et {head.count - SUMMARY_LINES} autre(s)"] if head.count > SUMMARY_LINES else []


def _amount(cents: int) -> str:
    """Cents as the decimal string a JSON context carries ("1234.50"); the ``money`` filter words it."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units}.{rest:02d}"


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)
