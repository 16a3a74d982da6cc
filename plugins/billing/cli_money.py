"""``crm payment ...`` and ``crm reminders ...``: thin commands over the services."""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state
from plugins.billing.cli_documents import reminders_letter


@click.group()
def payment():
    """Payments received: add, import a bank statement, allocate, write off, refund credit, list."""


@payment.command("add")
@click.option("--amount", required=True, help="Amount received, e.g. 1200.00.")
@click.option("--customer", default=None, help="Customer id or exact name (default: the invoice's).")
@click.option("--date", "date_", default=None, help="Date received, YYYY-MM-DD (default --today).")
@click.option("--method", default="transfer", show_default=True,
              type=click.Choice(["transfer", "cheque", "card", "cash", "direct_debit", "other"]))
@click.option("--reference", default=None, help="Bank reference; invoice numbers in it are paid first.")
@click.option("--invoice", "invoices", multiple=True, help="Pay this invoice (repeat); default: oldest due first.")
@json_option
@pass_state
def payment_add(state, amount, customer, date_, method, reference, invoices, as_json):
    """Record a payment and allocate it; any excess stays as the customer's credit.

    A payment dated within an invoice's early-payment discount window that clears it net of the
    discount earns the discount: a discount credit note is posted and allocated to the invoice.
    """
    from plugins.billing.services_payments import payment_dict, record_payment

    app = state.app
    raw = {"amount": amount, "customer": customer, "date": date_ or app.today.isoformat(), "method": method,
           "reference": reference, "invoice": " ".join(invoices) or None}
    with app.transaction() as session:
        recorded = record_payment(app, session, {k: v for k, v in raw.items() if v is not None})
        data = payment_dict(*recorded, discounts=recorded.discounts)
    if as_json:
        emit_json(data)
        return
    paid = ", ".join(f"{a['invoice']} {a['amount']} ({a['state']})" for a in data["allocations"]) or "nothing"
    click.echo(f"payment {data['id']}: {data['amount']} from {data['customer']['name']} allocated to {paid}"
               + (f"; credit left {data['unallocated']}" if data["unallocated"] != "0.00" else ""))
    for discount in data["discounts"]:
        click.echo(f"  early-payment discount on {discount['invoice']}: credit note {discount['credit_note']} "
                   f"{discount['amount']} ({discount['untaxed']} excl. VAT + {discount['tax']} VAT)")


@payment.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["camt", "csv"]), default=None,
              help="camt (ISO 20022 camt.053 XML, 001.02 or 001.08) or csv; default: detected from the content.")
@click.option("--decimal-separator", type=click.Choice([",", "."]), default=None,
              help="The CSV's decimal separator, so that 1,234 means one thing (refused as ambiguous otherwise).")
@click.option("--skip-invalid", is_flag=True, help="CSV: write the good rows; put the bad ones, with the reason, "
                                                   "in a CSV.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the rejected rows go (default: FILE.rejected.csv).")
@click.option("--map", "pairs", multiple=True, metavar="FILECOLUMN=FIELD", help="CSV: rename a column of the file.")
@json_option
@pass_state
def payment_import(state, file, fmt, decimal_separator, skip_invalid, rejects, pairs, as_json):
    """Import a bank statement: camt.053 XML, or a CSV (date, amount, customer, method, reference, invoice).

    Each line is identified by the bank's entry reference, else by the file and its line: importing
    the same statement again creates nothing, and two identical lines are two payments. Credits
    become payments of the customer found by the invoice number in the structured reference or in
    the remittance text, the CSV customer column, the account that paid before, or the debtor's
    name; the named invoices are paid first, what is left goes to the customer's oldest open
    invoices ([billing] overpayment), and a named invoice left open by at most [billing]
    write_off_threshold is written off. Lines nobody is found for are listed by `crm payment
    unmatched`. A bad line refuses the whole file, naming the line (statement and entry) and field.
    """
    from core.cli.data import parse_mapping, run_with_report
    from plugins.billing.services_bank import import_bank_file

    app = state.app
    result = run_with_report(lambda progress: import_bank_file(
        app, file, fmt=fmt, skip_invalid=skip_invalid, rejects_path=rejects, mapping=parse_mapping(pairs),
        decimal_separator=decimal_separator, progress=progress), kind="payments", as_json=as_json)
    data = result.as_dict()
    if as_json:
        emit_json(data)
        return
    rules = ", ".join(f"{count} by {rule}" for rule, count in sorted(data["matched_by"].items()))
    click.echo(f"{data['file']} ({data['format']}): {data['rows']} line(s), {data['skipped']} already imported; "
               f"{data['created']} payment(s) of {data['amount']}" + (f" ({rules})" if rules else "")
               + f", {data['allocated']} allocated; {data['unmatched']} unmatched, {data['debits']} debit(s) kept, "
               f"{data['write_offs']} write-off(s), {data['rejected']} rejected"
               + (f" (see {data['rejects_file']})" if data["rejects_file"] else ""))


@payment.command("allocate")
@click.argument("payment_id", type=int, required=False)
@click.option("--line", "line_id", type=int, default=None, help="An unmatched bank line (crm payment unmatched) "
                                                                "instead of a payment.")
@click.option("--customer", default=None, help="With --line: whose payment it is (id or exact name).")
@click.option("--invoice", "invoices", multiple=True, help="Use the credit on this invoice (repeat).")
@json_option
@pass_state
def payment_allocate(state, payment_id, line_id, customer, invoices, as_json):
    """Use what is left of payment PAYMENT_ID (customer credit) on open invoices, oldest due first.

    With --line LINE (and --customer C or --invoice N): the unmatched bank line becomes C's payment,
    allocated like any payment; the account it came from is C's from now on.
    """
    from plugins.billing.services_bank import allocate_line
    from plugins.billing.services_payments import allocate_credit, payment_dict

    if (payment_id is None) == (line_id is None):
        raise click.UsageError("give either PAYMENT_ID or --line LINE")
    if customer and line_id is None:
        raise click.UsageError("--customer goes with --line")
    app = state.app
    with app.transaction() as session:
        if line_id is not None:
            found, allocations = allocate_line(app, session, line_id, customer=customer, numbers=list(invoices))
        else:
            found, allocations = allocate_credit(app, session, payment_id, list(invoices) or None)
        data = payment_dict(found, allocations)
    if as_json:
        emit_json(data)
    else:
        click.echo(f"payment {data['id']}: " + (", ".join(f"{a['invoice']} {a['amount']}" for a in data["allocations"])
                                               or "no open invoice") + f"; credit left {data['unallocated']}")


@payment.command("refund")
@click.argument("customer")
@click.argument("amount")
@click.option("--date", "date_", default=None, help="Date paid back, YYYY-MM-DD (default --today).")
@click.option("--method", default="transfer", show_default=True,
              type=click.Choice(["transfer", "cheque", "card", "cash", "direct_debit", "other"]))
@click.option("--reference", default=None, help="Bank reference of the transfer out.")
@json_option
@pass_state
def payment_refund(state, customer, amount, date_, method, reference, as_json):
    """Pay AMOUNT of CUSTOMER's credit back (customer id or exact name).

    Drawn on the customer's credit oldest first (unallocated payments, unused credit notes, dated
    on or before the refund); more than the credit available is refused and nothing is written.
    """
    from plugins.billing.services_payments import customer_credit, refund_credit, refund_dict

    app = state.app
    raw = {"customer": customer, "amount": amount, "date": date_ or app.today.isoformat(), "method": method,
           "reference": reference}
    with app.transaction() as session:
        refund = refund_credit(app, session, {k: v for k, v in raw.items() if v is not None})
        data = {**refund_dict(session, refund), "credit_left": str(customer_credit(session, refund.partner_id))}
    if as_json:
        emit_json(data)
        return
    drawn = ", ".join(f"payment {s['payment']}" if s["payment"] else f"credit note {s['credit_note']}"
                      for s in data["sources"])
    click.echo(f"refund {data['id']}: {data['amount']} paid back to {data['customer']['name']} (from {drawn}); "
               f"credit left {data['credit_left']}")


@payment.command("credit")
@click.option("--customer", default=None, help="Only this customer (id or exact name), even without credit.")
@json_option
@pass_state
def payment_credit(state, customer, as_json):
    """Customer credit: unallocated payments, unused credit notes, refunded so far, available."""
    from plugins.billing.services_credit import credit_summary

    with state.app.transaction() as session:
        rows = credit_summary(session, customer)
    emit_json(rows) if as_json else emit_table(rows, [
        ("customer", "Customer"), ("payments", "Unallocated payments"), ("credit_notes", "Unused credit notes"),
        ("refunded", "Refunded"), ("available", "Available")], empty="no customer credit")


@payment.command("list")
@click.option("--customer", default=None, help="Only this customer's (id or exact name).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="At most this many, newest first.")
@json_option
@pass_state
def payment_list(state, customer, limit, as_json):
    """Payments and refunds, newest first, with the credit each payment leaves (``kind`` tells which)."""
    from plugins.billing.payment_history import list_payments

    with state.app.transaction() as session:
        rows = list_payments(session, customer, limit)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["customer"] = row["customer"]["name"]
        if row["kind"] == "refund":
            row["amount"], row["unallocated"] = f"-{row['amount']}", ""
    emit_table(rows, [("kind", "Kind"), ("id", "Id"), ("date", "Date"), ("customer", "Customer"),
                      ("amount", "Amount"), ("method", "Method"), ("reference", "Reference"),
                      ("unallocated", "Credit left")], empty="no payment")


@click.group()
def reminders():
    """Reminders: the daily run, open cases, the policy of levels, collection tasks."""


@reminders.command("run")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; write nothing.")
@json_option
@pass_state
def reminders_run(state, dry_run, as_json):
    """Send the reminder levels due on --today: one message per customer, each level once per invoice."""
    from plugins.billing.services_reminders import run_reminders

    app = state.app
    session = app.session()
    try:
        with session.begin():
            report = run_reminders(app, session, collect=True)
            if dry_run:
                session.rollback()
    finally:
        session.close()
    data = {**report.as_dict(), "dry_run": dry_run}
    if as_json:
        emit_json(data)
        return
    verb = "would send" if dry_run else "sent"
    levels = ", ".join(f"level {k[6:]}: {v}" for k, v in data.items() if k.startswith("level_")) or "nothing due"
    click.echo(f"reminders {data['run_date']}: {verb} to {data['customers']} customer(s) ({levels}; "
               f"{data['skipped_levels']} level(s) skipped by catch-up)")
    for message in data["messages"]:
        invoices = ", ".join(f"{i['number']} ({i['days_late']} d, {i['open']})" for i in message["invoices"])
        click.echo(f"  {message['customer']}: level {message['level']} by {message['channel']}: {invoices}")


@reminders.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Closed cases too.")
@json_option
@pass_state
def reminders_list(state, include_closed, as_json):
    """Every open reminder case with its level and history."""
    from plugins.billing.services_reminders import list_cases

    app = state.app
    with app.transaction() as session:
        rows = list_cases(session, include_closed=include_closed, today=app.today)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["history"] = "; ".join(f"L{h['level']} {h['status']} {h['date']}" for h in row["history"])
    emit_table(rows, [("invoice", "Invoice"), ("customer", "Customer"), ("due_date", "Due"), ("days_late", "Days late"),
                      ("residual", "Open"), ("level", "Level"), ("history", "History"), ("closed_on", "Closed")],
               empty="no open reminder case")


@reminders.command("tasks")
@json_option
@pass_state
def reminders_tasks(state, as_json):
    """Open collection tasks (customers handed over to collections)."""
    from sqlalchemy import select

    from core.models import Partner
    from plugins.billing.models import CollectionTask

    with state.app.transaction() as session:
        rows = [{"id": t.id, "customer": name, "created_on": t.created_on.isoformat(), "state": t.state,
                 "summary": t.summary} for t, name in session.execute(
                     select(CollectionTask, Partner.name).join(Partner, Partner.id == CollectionTask.partner_id)
                     .where(CollectionTask.state == "open").order_by(CollectionTask.id))]
    emit_json(rows) if as_json else emit_table(rows, [("id", "Id"), ("customer", "Customer"),
                                                      ("created_on", "Since"), ("summary", "Summary")],
                                               empty="no open collection task")


@reminders.group("level")
def level():
    """The reminder policy: list, set, remove levels."""


@level.command("list")
@json_option
@pass_state
def level_list(state, as_json):
    from plugins.billing.services_reminder_levels import level_dict, levels

    with state.app.transaction() as session:
        rows = [level_dict(row) for row in levels(session)]
    emit_json(rows) if as_json else emit_table(rows, [
        ("level", "Level"), ("name", "Name"), ("delay_days", "Days after due"), ("channel", "Channel"),
        ("recipients", "Recipients"), ("template", "Template"), ("interest", "Interest"), ("indemnity", "Indemnity"),
        ("handover", "Hand-over"), ("attach_invoices", "Invoices attached")])


@level.command("set")
@click.argument("number", type=int)
@click.option("--name", default=None)
@click.option("--delay", "delay_days", default=None, help="Reached when today > due date + DELAY days.")
@click.option("--channel", default=None, type=click.Choice(["email", "letter"]))
@click.option("--recipients", default=None, help="Comma-separated: customer, owner, collections.")
@click.option("--template", default=None, help="Template name without extension, e.g. billing/reminder_firm.")
@click.option("--interest/--no-interest", default=None, help="Claim late-payment interest to the day.")
@click.option("--indemnity/--no-indemnity", default=None,
              help="Claim the 40 EUR recovery indemnity per invoice (business customers).")
@click.option("--handover/--no-handover", default=None, help="Hand the case over to collections (a task).")
@click.option("--attach-invoices/--no-attach-invoices", default=None,
              help="Attach a PDF of each overdue invoice (a letter prints them after it).")
@pass_state
def level_set(state, number, **options):
    """Create or change level NUMBER (levels stay numbered 1..n with increasing delays)."""
    from plugins.billing.services_reminder_levels import set_level

    raw = {"level": number, **{k: v for k, v in options.items() if v is not None}}
    with state.app.transaction() as session:
        row = set_level(session, raw)
        click.echo(f"reminder level {row.level}: {row.name}, {row.delay_days} days after the due date")


@level.command("remove")
@click.argument("number", type=int)
@pass_state
def level_remove(state, number):
    """Remove level NUMBER (only the last one: the history keeps its numbers)."""
    from plugins.billing.services_reminder_levels import remove_level

    with state.app.transaction() as session:
        remove_level(session, number)
    click.echo(f"reminder level {number} removed")


def _bank_commands():
    from plugins.billing.cli_bank import payment_unmatched, payment_write_off, payment_write_offs

    for command in (payment_unmatched, payment_write_off, payment_write_offs):
        payment.add_command(command)


_bank_commands()

reminders.add_command(reminders_letter)
