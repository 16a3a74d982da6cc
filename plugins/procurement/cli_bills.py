"""``crm bill``: supplier bills received (import, add, list, show, approve, dispute); one transaction each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import click

from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state

BILL_COLUMNS = [("id", "#"), ("supplier", "Supplier"), ("number", "Number"), ("bill_date", "Date"),
                ("due_date", "Due"), ("total", "Total"), ("state", "State")]


@click.group()
def bill():
    """Supplier bills: import e-invoices, match them to purchase orders and receipts, approve, dispute."""


def _say(bills, as_json) -> None:
    from plugins.procurement.bills import bill_dict

    rows = [bill_dict(b, lines=False) for b in bills]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        extra = f" — {len(row['differences'])} difference(s)" if row["differences"] else ""
        click.echo(f"bill #{row['id']} {row['number']} of {row['supplier']['name']}: {row['total']} EUR, "
                   f"{row['state']}{extra}")


@bill.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
@pass_state
def bill_import(state, files, as_json):
    """Import supplier invoices: Factur-X PDF, CII XML or UBL XML (all or none).

    Each file is checked against its syntax's XSD, and against the EN 16931 Schematron when
    [procurement] bills_schematron = true; the supplier is found by SIREN or VAT number, a
    duplicate is refused, and each bill is matched to the orders and receipts (approved or held)."""
    from pathlib import Path

    from plugins.procurement.bills import import_bills

    app = state.app
    with app.transaction() as session:
        bills = import_bills(app, session, [Path(f) for f in files])
        _say(bills, as_json)


def _day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected a date YYYY-MM-DD", param_hint=option) from None


def _line(text: str) -> dict:
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[0]:
        raise click.BadParameter(f"{text!r}: expected SKU:QTY:PRICE[:VAT%]", param_hint="--line")
    try:
        numbers = [Decimal(p) for p in parts[1:]]
    except InvalidOperation:
        raise click.BadParameter(f"{text!r}: quantity, price and VAT are numbers", param_hint="--line") from None
    if numbers[0] <= 0 or numbers[1] < 0 or not all(n.is_finite() for n in numbers):
        raise click.BadParameter(f"{text!r}: the quantity is more than 0, the price 0 or more", param_hint="--line")
    line = {"sku": parts[0], "quantity": numbers[0], "unit_price": numbers[1]}
    if len(numbers) == 3:
        line["vat_rate"] = numbers[2]
    return line


@bill.command("add")
@click.option("--supplier", required=True, help="The supplier (id, SIREN or name).")
@click.option("--number", required=True, help="The supplier's invoice number.")
@click.option("--date", "bill_date", required=True, help="The invoice date (YYYY-MM-DD).")
@click.option("--due", help="The due date (default: the date plus [procurement] bill_payment_days).")
@click.option("--iban", help="The supplier's IBAN to pay the bill to.")
@click.option("--bic", help="The supplier's bank BIC.")
@click.option("--line", "lines", multiple=True, required=True, metavar="SKU:QTY:PRICE[:VAT]",
              help="A billed line (VAT 20 % unless given); repeat for several.")
@json_option
@pass_state
def bill_add(state, supplier, number, bill_date, due, iban, bic, lines, as_json):
    """Record a paper bill, matched like an imported one."""
    from core.services.partners import get_partner
    from plugins.procurement.bills import paper_bill, record_bill

    app = state.app
    values = {"number": number.strip(), "bill_date": _day(bill_date, "--date"), "due_date": _day(due, "--due"),
              "iban": iban, "bic": bic, "lines": [_line(t) for t in lines]}
    with app.transaction() as session:
        values["supplier_id"] = get_partner(session, supplier).id
        row = record_bill(app, session, paper_bill(values), label=f"bill {values['number']}")
        _say([row], as_json)


@bill.command("list")
@click.option("--due", is_flag=True, help="Only approved bills due by today.")
@click.option("--held", is_flag=True, help="Only bills held for their differences.")
@json_option
@pass_state
def bill_list(state, due, held, as_json):
    """Supplier bills, most recent first."""
    from plugins.procurement.bills import bill_dict, list_bills

    app = state.app
    with app.transaction() as session:
        rows = [bill_dict(b, lines=False) for b in list_bills(app, session, due=due, held=held)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["supplier"] = row["supplier"]["name"]
    emit_table(rows, BILL_COLUMNS, empty="no bill")


@bill.command("show")
@click.argument("ref")
@json_option
@pass_state
def bill_show(state, ref, as_json):
    """One bill: its lines, the purchase order lines they matched, its differences."""
    from plugins.procurement.bills import bill_dict, get_bill

    with state.app.transaction() as session:
        data = bill_dict(get_bill(session, ref))
    if as_json:
        emit_json(data)
        return
    emit_record({**data, "supplier": data["supplier"]["name"]},
                [("number", "Number"), ("supplier", "Supplier"), ("state", "State"), ("source", "Source"),
                 ("bill_date", "Date"), ("due_date", "Due"), ("total_untaxed", "Untaxed"), ("total_tax", "VAT"),
                 ("total", "Total")])
    emit_table(data["lines"], [("sku", "SKU"), ("quantity", "Qty"), ("unit_price", "Price"), ("vat_rate", "VAT %"),
                               ("subtotal", "Subtotal"), ("purchase_order_line_id", "PO line")], empty="no line")
    for difference in data["differences"]:
        click.echo(f"difference: {difference}")


@bill.command("pay")
@click.option("--due-by", required=True, help="Pay the approved bills due by this day (YYYY-MM-DD).")
@click.option("-o", "--output", type=click.Path(), help="The pain.001 file (default: PAY-<date>-<n>.xml here).")
@json_option
@pass_state
def bill_pay(state, due_by, output, as_json):
    """Build the SEPA credit transfer file (pain.001.001.03) paying the approved bills due; they become paying."""
    from core.files import output_path, write_private
    from plugins.procurement.sepa import pay_bills

    app = state.app
    due = _day(due_by, "--due-by")
    with app.transaction() as session:
        run = pay_bills(app, session, due)
        target = output_path(output, f"{run['run']}.xml")
        write_private(target, run.pop("xml"))
    run["file"] = str(target)
    if as_json:
        emit_json(run)
        return
    for line in run["skipped"]:
        click.echo(f"left out: {line}", err=True)
    click.echo(f"payment run {run['run']}: {run['bills']} bill(s), {run['total']} EUR, written to {target}")


def _transition(action: str):
    @click.argument("ref")
    @click.option("--reason", default="", help="Why (kept with the bill's differences).")
    @pass_state
    def command(state, ref, reason):
        from plugins.procurement.bills import change_state

        app = state.app
        with app.transaction() as session:
            row = change_state(app, session, ref, action, reason)
            click.echo(f"bill #{row.id} {row.number} {row.state}")
    return command


bill.command("approve", help="Approve held bill REF as it is (it can then be paid).")(_transition("approve"))
bill.command("dispute", help="Dispute bill REF with its supplier (it is not paid).")(_transition("dispute"))
