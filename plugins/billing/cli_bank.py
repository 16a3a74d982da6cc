"""``crm payment unmatched | write-off | write-offs``: the bank lines nobody claimed, small differences."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state


@click.command("unmatched")
@click.option("--debits", is_flag=True, help="The debits kept for the supplier side too.")
@json_option
@pass_state
def payment_unmatched(state, debits, as_json):
    """Bank credits no customer was found for, oldest first: allocate them with `crm payment allocate --line`."""
    from plugins.billing.services_bank import unmatched_lines

    with state.app.transaction() as session:
        rows = unmatched_lines(session, include_debits=debits)
    emit_json(rows) if as_json else emit_table(rows, [
        ("line", "Line"), ("date", "Date"), ("direction", "Direction"), ("amount", "Amount"),
        ("counterparty", "Counterparty"), ("iban", "IBAN"), ("remittance", "Remittance"), ("file", "File")],
        empty="no unmatched bank line")


@click.command("write-off")
@click.argument("invoice")
@click.option("--reason", required=True, help="Why the difference is not claimed (kept with the write-off).")
@json_option
@pass_state
def payment_write_off(state, invoice, reason, as_json):
    """Write off what is left open on INVOICE, at most [billing] write_off_threshold; the invoice is paid.

    Recorded with the date (--today), the reason, who and the command; the reminder case closes.
    """
    from plugins.billing.models import Invoice
    from plugins.billing.services_write_offs import write_off_dict, write_off_invoice

    app = state.app
    with app.transaction() as session:
        row = write_off_invoice(app, session, invoice, reason)
        found = session.get(Invoice, row.invoice_id)
        data = {**write_off_dict(row, found.number, found.partner.name), "state": found.state}
    if as_json:
        emit_json(data)
    else:
        click.echo(f"write-off {data['id']}: {data['amount']} on {data['invoice']} ({data['customer']}), now "
                   f"{data['state']}: {data['reason']}")


@click.command("write-offs")
@click.option("--customer", default=None, help="Only this customer (id or exact name).")
@json_option
@pass_state
def payment_write_offs(state, customer, as_json):
    """Every write-off, newest first: amount, date, reason, who and by which command."""
    from plugins.billing.services_write_offs import list_write_offs

    with state.app.transaction() as session:
        rows = list_write_offs(session, customer)
    emit_json(rows) if as_json else emit_table(rows, [
        ("id", "Id"), ("date", "Date"), ("invoice", "Invoice"), ("customer", "Customer"), ("amount", "Amount"),
        ("reason", "Reason"), ("recorded_by", "By"), ("source", "Command")], empty="no write-off")
