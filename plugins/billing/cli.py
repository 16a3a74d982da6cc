"""``crm term|invoice|aging|rate ...``: thin commands over the services, one transaction each."""

from __future__ import annotations

import datetime as dt

import click

from core.cli.context import DAY, emit_json, emit_record, emit_table, json_option, pass_state, parse_amount
from plugins.billing.completion import invoice_ref


# --- terms ------------------------------------------------------------------------------------------

@click.group()
def term():
    """Payment terms: list, show, create, assign to a customer."""


@term.command("list")
@json_option
@pass_state
def term_list(state, as_json):
    """Every payment term with its instalments."""
    from sqlalchemy import select

    from plugins.billing.models import PaymentTerm
    from plugins.billing.services_terms import term_dict

    with state.app.transaction() as session:
        rows = [term_dict(t) for t in session.scalars(select(PaymentTerm).order_by(PaymentTerm.code))]
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("code", "Code"), ("name", "Name"), ("description", "Instalments"),
                      ("beyond_legal_maximum", "Beyond legal max")])


@term.command("create")
@click.argument("code")
@click.option("--name", default=None, help="Printed name, e.g. '30 jours fin de mois'.")
@click.option("--instalment", "lines", multiple=True, required=True, metavar="[PERCENT:]METHOD[:DAYS]",
              help="METHOD is immediate, days, days_end_of_month or end_of_month_days; the last instalment "
                   "takes the balance. Repeat for several, e.g. --instalment 30:days:30 --instalment days:60.")
@click.option("--discount", "discount_percent", default=None, help="Early-payment discount, percent.")
@click.option("--discount-days", default=None, help="Days from the invoice date the discount applies.")
@click.option("--beyond-legal-maximum", is_flag=True,
              help="Accept a term longer than the French B2B legal maximum (60 days, or 45 days end of month).")
@json_option
@pass_state
def term_create(state, code, name, lines, discount_percent, discount_days, beyond_legal_maximum, as_json):
    """Create payment term CODE."""
    from core.schemas import load
    from plugins.billing.schemas import TermSchema
    from plugins.billing.services_terms import create_term, term_dict

    raw = {"code": code, "name": name, "lines": list(lines), "discount_percent": discount_percent,
           "discount_days": discount_days, "beyond_legal_maximum": beyond_legal_maximum}
    data = load(TermSchema(), {k: v for k, v in raw.items() if v is not None}, f"term {code}")
    with state.app.transaction() as session:
        created = term_dict(create_term(session, data))
    if as_json:
        emit_json(created)
    else:
        click.echo(f"term {created['code']}: {created['description']}")


@term.command("assign")
@click.argument("customer")
@click.argument("code")
@pass_state
def term_assign(state, customer, code):
    """Make CODE the default payment term of CUSTOMER (id or exact name)."""
    from core.services.partners import get_partner
    from plugins.billing.services_terms import get_term, set_partner_term

    with state.app.transaction() as session:
        partner = get_partner(session, customer)
        chosen = get_term(session, code)
        set_partner_term(session, partner, chosen)
        click.echo(f"customer {partner.name}: payment term {chosen.code}")


@term.command("due")
@click.argument("code")
@click.option("--date", "invoice_date", type=DAY, default=None, help="Invoice date (default --today).")
@click.option("--total", default="100.00", help="Invoice total to split (default 100.00).")
@json_option
@pass_state
def term_due(state, code, invoice_date, total, as_json):
    """Show the due dates and amounts CODE gives an invoice of --date."""
    from plugins.billing.services_terms import get_term, schedule, term_lines

    app = state.app
    day = invoice_date or app.today
    with app.transaction() as session:
        rows = [{"due_date": d.isoformat(), "amount": str(a)}
                for d, a in schedule(parse_amount(total, "--total"), day, term_lines(get_term(session, code)))]
    emit_json(rows) if as_json else emit_table(rows, [("due_date", "Due date"), ("amount", "Amount")])


# --- invoices ----------------------------------------------------------------------------------------

@click.group()
def invoice():
    """Invoices and credit notes: create, post, list, show, credit, dispute, block, release, pdf, facturx."""


@invoice.command("create")
@click.option("--customer", required=True, help="Customer id or exact name.")
@click.option("--line", "lines", multiple=True, required=True, metavar="SKU:QTY[:PRICE[:DISCOUNT%]]",
              help="An invoice line; repeat for several.")
@click.option("--term", "term_code", default=None, help="Payment term code (default: the customer's).")
@click.option("--date", "invoice_date", default=None, help="Invoice date YYYY-MM-DD (default --today).")
@click.option("--note", default=None)
@click.option("--post", is_flag=True, help="Post at once (number given, immutable).")
@json_option
@pass_state
def invoice_create(state, customer, lines, term_code, invoice_date, note, post, as_json):
    """Create an invoice by hand (a draft unless --post)."""
    from core.cli.orders import parse_line
    from plugins.billing.services_invoices import create_invoice
    from plugins.billing.services_receivables import invoice_dict

    raw = {"customer": customer, "lines": [parse_line(t) for t in lines], "term": term_code,
           "invoice_date": invoice_date, "note": note}
    app = state.app
    with app.transaction() as session:
        created = create_invoice(app, session, {k: v for k, v in raw.items() if v is not None}, post=post)
        data = invoice_dict(session, created, app.today)
    _echo_invoice(data, as_json)


def _echo_invoice(data, as_json):
    if as_json:
        emit_json(data)
    else:
        click.echo(f"{data['kind'].replace('_', ' ')} {data['number']} ({data['state']}): {data['total']} "
                   f"{data['currency']} incl. VAT" + (f", due {data['due_date']}" if data["due_date"] else ""))


@invoice.command("post")
@click.argument("ref", shell_complete=invoice_ref)
@json_option
@pass_state
def invoice_post(state, ref, as_json):
    """Post draft invoice REF: it gets the next number of its year and can no longer change."""
    from plugins.billing.services_invoices import get_invoice, post_invoice
    from plugins.billing.services_receivables import invoice_dict

    app = state.app
    with app.transaction() as session:
        posted = post_invoice(app, session, get_invoice(session, ref, lock=True))
        data = invoice_dict(session, posted, app.today)
    _echo_invoice(data, as_json)


@invoice.command("list")
@click.option("--overdue", is_flag=True, help="Only open invoices whose due date is past (today > due date).")
@click.option("--state", "state_", default=None, type=click.Choice(["draft", "posted", "partially_paid", "paid", "credited"]),
              help="Only invoices in this state.")
@click.option("--customer", default=None, help="Customer id or exact name.")
@click.option("--credit-notes", is_flag=True, help="Only credit notes.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many rows.")
@json_option
@pass_state
def invoice_list(state, overdue, state_, customer, credit_notes, limit, as_json):
    """Invoices, newest first (overdue: oldest due first)."""
    from plugins.billing.services_receivables import invoice_row, list_invoices

    app = state.app
    with app.transaction() as session:
        rows = [invoice_row(i, app.today) for i in list_invoices(
            session, today=app.today, overdue=overdue, state=state_, customer=customer,
            kind="credit_note" if credit_notes else None, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("number", "Number"), ("customer", "Customer"), ("invoice_date", "Date"),
                      ("due_date", "Due"), ("days_late", "Days late"), ("total", "Total"),
                      ("residual", "Open"), ("state", "State"), ("hold", "Hold")],
               empty="no overdue invoice" if overdue else "no invoice")


@invoice.command("show")
@click.argument("ref", shell_complete=invoice_ref)
@click.option("--print", "printable", is_flag=True, help="The invoice as printed (text), with every legal mention; "
              "`crm invoice pdf` writes the PDF.")
@click.option("--locale", type=click.Choice(["fr_FR", "en_GB", "en_US"]), default=None,
              help="Language of --print (default: the company's).")
@json_option
@pass_state
def invoice_show(state, ref, printable, locale, as_json):
    """Show invoice REF: lines, VAT per rate, instalments, payments, mentions."""
    from core.extensions import attach
    from plugins.billing.invoice_states import get_invoice
    from plugins.billing.services_receivables import invoice_dict

    app = state.app
    with app.transaction() as session:
        found = get_invoice(session, ref)
        # with the fields other modules add to invoices, nested by module (core.extensions)
        data = attach(app, session, "invoice", found.id, invoice_dict(session, found, app.today))
        text = None
        if printable:
            from core.rendering import render
            from core.services.company import reader_locale
            from plugins.billing.documents import invoice_context

            locale = locale or reader_locale(app, found.partner)
            text = render(app, "billing/invoice.txt", locale=locale, data=data,
                          **invoice_context(app, session, found, locale))
    if as_json:
        emit_json(data)
    elif printable:
        click.echo(text, nl=False)
    else:
        emit_record(data, [("number", "Number"), ("kind", "Kind"), ("state", "State"), ("customer", "Customer"),
                           ("invoice_date", "Date"), ("term", "Term"), ("due_date", "Due"),
                           ("total_untaxed", "Untaxed"), ("total_tax", "VAT"), ("total", "Total"),
                           ("settled", "Settled"), ("residual", "Open"), ("hold", "Hold")])


@invoice.command("credit")
@click.argument("ref", shell_complete=invoice_ref)
@click.option("--line", "lines", multiple=True, metavar="SEQUENCE[:QTY]",
              help="Credit only this line (all of what is left, or QTY); repeat. Default: the whole invoice.")
@click.option("--reason", default=None)
@json_option
@pass_state
def invoice_credit(state, ref, lines, reason, as_json):
    """Issue a posted credit note cancelling invoice REF in whole or in part."""
    from decimal import Decimal

    from plugins.billing.services_invoices import credit_invoice, get_invoice
    from plugins.billing.services_receivables import invoice_dict

    wanted = []
    for item in lines:
        sequence, _, quantity = item.partition(":")
        if not sequence.isdigit():
            raise click.BadParameter(f"{item!r}: expected SEQUENCE[:QTY]", param_hint="--line")
        try:
            wanted.append((int(sequence), Decimal(quantity) if quantity else None))
        except ArithmeticError:
            raise click.BadParameter(f"{item!r}: {quantity!r} is not a quantity", param_hint="--line") from None
    app = state.app
    with app.transaction() as session:
        note = credit_invoice(app, session, get_invoice(session, ref, lock=True), wanted or None, reason)
        data = invoice_dict(session, note, app.today)
    _echo_invoice(data, as_json)


def _hold_command(name: str, hold: str | None, doc: str):
    @invoice.command(name, help=doc)
    @click.argument("ref", shell_complete=invoice_ref)
    @click.option("--reason", default=None, required=hold is not None, help="Why (shown in the listings).")
    @pass_state
    def command(state, ref, reason):
        from plugins.billing.services_invoices import get_invoice, set_hold

        with state.app.transaction() as session:
            found = set_hold(session, get_invoice(session, ref, lock=True), hold, reason)
            click.echo(f"invoice {found.number}: {found.hold or 'released'}")

    return command


_hold_command("dispute", "disputed", "Mark invoice REF disputed: no reminder until released.")
_hold_command("block", "blocked", "Block reminders for invoice REF (a payment plan, a lawyer...).")
_hold_command("release", None, "Lift the dispute or block of invoice REF.")


# --- receivables ---------------------------------------------------------------------------------------

@click.command("aging")
@json_option
@pass_state
def aging_command(state, as_json):
    """Open receivables per customer by bucket (not due, 1-30, 31-60, 61-90, over 90 days) and DSO."""
    from plugins.billing.services_receivables import aging

    app = state.app
    with app.transaction() as session:
        report = aging(app, session)
    if as_json:
        emit_json(report)
        return
    rows = report["customers"] + [{"customer": "TOTAL", **report["totals"], "dso": report["dso"]}]
    emit_table(rows, [("customer", "Customer"), ("not_due", "Not due"), ("days_1_30", "1-30"),
                      ("days_31_60", "31-60"), ("days_61_90", "61-90"), ("over_90", "> 90"), ("total", "Total"),
                      ("dso", "DSO")], title=f"Aging on {report['today']}", empty="no open receivable")


@click.group()
def rate():
    """Dated reference rates for late interest (ECB refinancing rate, French legal rate)."""


@rate.command("list")
@json_option
@pass_state
def rate_list(state, as_json):
    from sqlalchemy import select

    from plugins.billing.models import Rate

    with state.app.transaction() as session:
        rows = [{"kind": r.kind, "valid_from": r.valid_from.isoformat(), "rate": str(r.rate)}
                for r in session.scalars(select(Rate).order_by(Rate.kind, Rate.valid_from))]
    emit_json(rows) if as_json else emit_table(rows, [("kind", "Kind"), ("valid_from", "From"), ("rate", "Rate %")])


@rate.command("add")
@click.argument("kind", type=click.Choice(["ecb_refinancing", "legal"]))
@click.argument("valid_from")
@click.argument("value")
@pass_state
def rate_add(state, kind, valid_from, value):
    """Record rate KIND of VALUE percent a year from VALID_FROM (YYYY-MM-DD)."""
    from core.errors import ValidationError
    from core.schemas import Exact
    from marshmallow import ValidationError as SchemaError

    from plugins.billing.services_rates import add_rate

    try:
        day = dt.date.fromisoformat(valid_from)
    except ValueError:
        raise ValidationError(f"{valid_from!r} is not a date (YYYY-MM-DD)", record="rate", field="valid_from") from None
    try:
        number = Exact(2).deserialize(value)
    except SchemaError as exc:
        raise ValidationError(str(exc.messages[0]), record="rate", field="rate") from None
    with state.app.transaction() as session:
        add_rate(session, kind, day, number)
    click.echo(f"rate {kind}: {number} % from {day.isoformat()}")


from plugins.billing.cli_documents import invoice_facturx, invoice_pdf  # noqa: E402
from plugins.billing.cli_collections import invoice_penalties  # noqa: E402

invoice.add_command(invoice_pdf)
invoice.add_command(invoice_penalties)
invoice.add_command(invoice_facturx)
