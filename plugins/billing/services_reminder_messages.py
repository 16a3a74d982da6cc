"""Wording and addressing the messages of one reminder run (called by ``services_reminders``).

One message per customer, by the highest level the customer's invoices reached today, listing
every overdue invoice of the customer with its open amount (and, from the formal notice on, the
late interest to the day and the 40 € indemnity for business customers). Recipients follow the
level: ``customer`` (e-mail, or the postal address for a letter), ``owner`` (the sales owner, in
copy) and ``collections``. A customer without an e-mail address gets a letter instead.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from html import escape

from markupsafe import Markup
from sqlalchemy import select, text

from core.outbox import notification_row, notify_many
from plugins.billing.formatting import Formatter, as_date, cents

BATCH = 2000
SUMMARY_LINES = 500


class Composer:
    def __init__(self, app, session, run_id: int, today: dt.date, policy, *, collect: bool = False):
        from core.models import Partner, User
        from core.outbox import resolve_recipients
        from core.rendering import environment
        from plugins.billing.services_rates import RateTable
        from plugins.billing.settings import collections_specs, settings

        self.app, self.session, self.run_id, self.today = app, session, run_id, today
        self.levels = {level.level: level for level in policy}
        self.collect, self.collected = collect, []
        options = settings(app)
        self.indemnity = options["recovery_indemnity"]
        self.rates = RateTable(session, options["penalty_margin"]) if any(l.interest for l in policy) else None
        self.fmt = Formatter(app.config.company.locale, app.config.company.currency)
        self.collections = resolve_recipients(session, collections_specs(app))
        self.users = {row.id: row for row in session.execute(select(User.id, User.email, User.name, User.login))}
        from plugins.billing.models import Reminder

        reminded = select(Reminder.partner_id).where(Reminder.run_id == run_id, Reminder.status == "sent")
        partners = select(Partner.id, Partner.name, Partner.email, Partner.kind, Partner.street, Partner.postal_code,
                          Partner.city, Partner.salesperson_id).where(Partner.id.in_(reminded))
        self.partners = {row.id: row for row in session.execute(partners)}
        env = environment(app)
        self.templates = {}
        for level in policy:
            self.templates[level.level] = (env.get_template(f"{level.template}.txt"), _optional(env, level))
        self.today_text = self.fmt.date(today)
        self.rows, self.updates, self.task_rows = [], [], []
        self.owner_lines: dict[int, list] = {}
        self.level_totals: dict[int, list] = {}
        self.handed_over: list = []
        self.customers = self.written = self.tasks = 0

    # --- one customer -------------------------------------------------------------------------
    def customer(self, partner_id: int, rows) -> None:
        level_no = max(row.new_level for row in rows if row.new_level is not None)
        level = self.levels[level_no]
        partner = self.partners[partner_id]
        business = partner.kind == "company"
        fmt = self.fmt
        invoices, lines, cells = [], [], []
        total_open, total_interest, total_indemnity = Decimal(0), Decimal(0), Decimal(0)
        for row in rows:
            due, amount = as_date(row.due_date), cents(row.residual)
            interest = self.rates.interest(amount, due, self.today) if level.interest else None
            indemnity = self.indemnity if level.indemnity and business else None
            total_open += amount
            total_interest += interest or 0
            total_indemnity += indemnity or 0
            if row.reminder_id is not None and (interest is not None or indemnity is not None):
                self.updates.append({"id": row.reminder_id, "interest": _raw(interest), "indemnity": _raw(indemnity)})
            invoice = {"number": row.number, "invoice_date": fmt.date(as_date(row.invoice_date)),
                       "due_date": fmt.date(due), "days_late": (self.today - due).days,
                       "total": fmt.money(cents(row.total)), "open": fmt.money(amount),
                       "interest": None if interest is None else fmt.money(interest),
                       "indemnity": None if indemnity is None else fmt.money(indemnity),
                       "level": row.level, "new": row.new_level is not None}
            invoices.append(invoice)
            lines.append(_text_line(invoice))
            cells.append(_html_row(invoice, level.interest, level.indemnity and business))
        # the invoice lines are worded here, in plain Python (the run words tens of thousands of
        # them); the templates word everything around them and can be overridden by the business
        context = {"customer": partner, "level": level, "invoices": invoices, "today": self.today_text,
                   "lines": "\n".join(lines), "rows": Markup("\n".join(cells)),
                   "business": business, "total_open": fmt.money(total_open),
                   "total_interest": fmt.money(total_interest), "total_indemnity": fmt.money(total_indemnity),
                   "total_claimed": fmt.money(total_open + total_interest + total_indemnity),
                   "interest": level.interest, "indemnity": level.indemnity and business}
        text_template, html_template = self.templates[level_no]
        body = text_template.render(context)
        html = html_template.render(context) if html_template is not None else None
        owner_id = rows[0].salesperson_id or partner.salesperson_id
        owner = self.users.get(owner_id)
        wanted = level.recipients.split(",")
        internal = []
        if "owner" in wanted and owner is not None and owner.email:
            internal.append(owner.email)
        if "collections" in wanted:
            internal.extend(a for a in self.collections if a not in internal)
        subject = f"{level.name} : {len(invoices)} facture{'s' if len(invoices) > 1 else ''} en retard ({partner.name})"
        key = f"billing:reminder:{partner_id}:{self.today.isoformat()}:L{level_no}:{min(r.id for r in rows)}"
        related = f"core_partner:{partner_id}"
        external = "customer" in wanted
        channel = level.channel if (level.channel != "email" or partner.email) else "letter"
        if not external and not internal:
            self._failure(f"customer {partner.name}: level {level_no} has nobody to send to (no owner, no collections)")
        elif channel == "email":
            recipients = ([partner.email] if external else []) + internal
            self.rows.append(notification_row(self.app, recipients=recipients, subject=subject, text=body, html=html,
                                              related=related, dedup_key=key))
        else:
            if external:
                address = ", ".join(p for p in (partner.name, partner.street, " ".join(
                    p for p in (partner.postal_code, partner.city) if p)) if p)
                self.rows.append(notification_row(self.app, recipients=[address], subject=subject, text=body,
                                                  channel="letter", related=related, dedup_key=key))
            if internal:
                self.rows.append(notification_row(self.app, recipients=internal, subject=f"Copie : {subject}",
                                                  text=body, html=html, related=related, dedup_key=key + ":copy"))
        if level.handover:
            self.task_rows.append({"partner_id": partner_id, "run_id": self.run_id, "created_on": self.today,
                                   "state": "open", "summary": f"Recouvrer {fmt.money(total_open)} : "
                                   + ", ".join(i["number"] for i in invoices)})
            self.handed_over.append((partner.name, len(invoices), total_open))
        self.customers += 1
        self.owner_lines.setdefault(owner_id, []).append((partner.name, level_no, len(invoices), total_open))
        totals = self.level_totals.setdefault(level_no, [0, 0, Decimal(0)])
        totals[0] += 1
        totals[1] += len(invoices)
        totals[2] += total_open
        if self.collect:
            self.collected.append({"customer": partner.name, "customer_id": partner_id, "level": level_no,
                                   "channel": channel, "total_open": str(total_open),
                                   "invoices": [{"number": i["number"], "days_late": i["days_late"],
                                                 "open": i["open"], "new": i["new"]} for i in invoices]})
        if len(self.rows) >= BATCH:
            self._flush()

    # --- end of the run -----------------------------------------------------------------------
    def finish(self) -> None:
        from plugins.billing.models import CollectionTask

        self._summaries()
        self._flush()
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
                f"- {name} : niveau {level}, {count} facture(s), {fmt.money(amount)} ouverts"
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
                             f"{invoices} facture(s), {fmt.money(amount)} ouverts")
            if self.handed_over:
                lines += ["", "Dossiers transmis au recouvrement :"] + [
                    f"- {name} : {count} facture(s), {fmt.money(amount)}"
                    for name, count, amount in self.handed_over[:SUMMARY_LINES]] + _more(self.handed_over)
            self.rows.append(notification_row(self.app, recipients=self.collections,
                                              subject=f"Relances du {self.today_text} : {self.customers} client(s)",
                                              text="\n".join(lines) + "\n", related=f"billing_reminder_run:{self.run_id}",
                                              dedup_key=f"billing:summary:{self.run_id}:collections"))

    def _failure(self, message: str) -> None:
        from core.scheduler import FAILURES_KEY

        self.session.info.setdefault(FAILURES_KEY, []).append(message)


def _text_line(invoice: dict) -> str:
    late = invoice["days_late"]
    line = (f"- Facture {invoice['number']} du {invoice['invoice_date']}, échue le {invoice['due_date']} "
            f"({late} jour{'s' if late > 1 else ''} de retard) : {invoice['open']} restant dû sur {invoice['total']}")
    if invoice["interest"] is not None:
        line += f", intérêts de retard {invoice['interest']}"
    if invoice["indemnity"] is not None:
        line += f", indemnité forfaitaire {invoice['indemnity']}"
    return line


def _html_row(invoice: dict, interest: bool, indemnity: bool) -> str:
    cells = [escape(invoice["number"]), escape(invoice["invoice_date"]), escape(invoice["due_date"]),
             str(invoice["days_late"]), escape(invoice["open"])]
    if interest:
        cells.append(escape(invoice["interest"] or ""))
    if indemnity:
        cells.append(escape(invoice["indemnity"] or ""))
    return "<tr><td>" + "</td><td>".join(cells) + "</td></tr>"


def _more(lines) -> list[str]:
    return [f"... et {len(lines) - SUMMARY_LINES} autre(s)"] if len(lines) > SUMMARY_LINES else []


def _raw(amount: Decimal | None):
    """An amount as the scaled integer a raw UPDATE writes into a money column."""
    return None if amount is None else int(amount.scaleb(2))


def _optional(env, level):
    """The HTML body of an e-mail level: ``<template>.html`` if the business wrote one, else the
    shared ``billing/reminder.html``; letters have none."""
    from jinja2 import TemplateNotFound

    if level.channel != "email":
        return None
    try:
        return env.get_template(f"{level.template}.html")
    except TemplateNotFound:
        return env.get_template("billing/reminder.html")
