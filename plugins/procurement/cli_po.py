"""``crm po``: purchase orders (list, show, pdf, confirm, receive, cancel); thin commands, one transaction each."""

from __future__ import annotations

import click

from core.cli.complete import references
from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state


def _purchase_order_number():
    from plugins.procurement.models_purchase import PurchaseOrder

    return PurchaseOrder.number


#: ``shell_complete`` of the arguments naming a purchase order (its number)
po_ref = references(_purchase_order_number)


@click.group()
def po():
    """Purchase orders: list, show, print (pdf), confirm (send), receive, cancel."""


@po.command("list")
@click.option("--state", "po_state", type=click.Choice(["draft", "confirmed", "partial", "received", "cancelled"]),
              default=None, help="Only orders in this state.")
@click.option("--supplier", "supplier_ref", default=None, help="Only this supplier's orders.")
@json_option
@pass_state
def po_list(state, po_state, supplier_ref, as_json):
    """Purchase orders, newest first."""
    from plugins.procurement.services_purchase import list_purchase_orders, purchase_order_dict

    with state.app.transaction() as session:
        rows = [purchase_order_dict(o, lines=False)
                for o in list_purchase_orders(session, state=po_state, supplier=supplier_ref)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["supplier"] = row["supplier"]["name"]
    emit_table(rows, [("number", "Number"), ("order_date", "Date"), ("supplier", "Supplier"), ("state", "State"),
                      ("line_count", "Lines"), ("total_untaxed", "Excl. VAT")], empty="no purchase order")


@po.command("show")
@click.argument("ref", shell_complete=po_ref)
@json_option
@pass_state
def po_show(state, ref, as_json):
    """Show purchase order REF (id or number) with its lines and why each was raised."""
    from plugins.procurement.services_purchase import get_purchase_order, purchase_order_dict

    from core.extensions import attach

    with state.app.transaction() as session:
        found = get_purchase_order(session, ref)
        data = attach(state.app, session, "purchase_order", found.id, purchase_order_dict(found))
    if as_json:
        emit_json(data)
        return
    emit_record({**data, "supplier": data["supplier"]["name"]},
                [("number", "Number"), ("state", "State"), ("supplier", "Supplier"), ("order_date", "Date"),
                 ("confirmed_at", "Confirmed"), ("received_at", "Received"), ("total_untaxed", "Excl. VAT")])
    for line in data["lines"]:
        line["why"] = f"{line['why']['trigger']} on {line['why']['raised_on']}" + (
            f", forecast {line['why']['forecast']}" if line["why"]["forecast"] is not None else "")
    emit_table(data["lines"], [("sku", "SKU"), ("quantity", "Qty"), ("received_quantity", "Received"),
                               ("unit_price", "Unit price"), ("subtotal", "Subtotal"),
                               ("expected_date", "Expected"), ("why", "Why")])


@po.command("pdf")
@click.argument("ref", shell_complete=po_ref)
@click.option("--output", "-o", type=click.Path(), default=None,
              help="File or folder to write (a name ending with '/' is a folder, made if missing; "
                   "default: bon-de-commande-NUMBER.pdf in the current folder).")
@click.option("--html", "as_html", is_flag=True, help="Write the HTML page instead of the PDF.")
@click.option("--locale", type=click.Choice(["fr_FR", "en_GB", "en_US"]), default=None,
              help="Language of the document (default: the company's).")
@pass_state
def po_pdf(state, ref, output, as_html, locale):
    """Print purchase order REF (id or number) as the supplier receives it: A4 PDF (or HTML)."""
    from core.documents import write

    with state.app.transaction() as session:
        path = write(state.app, session, "procurement.purchase_order", ref, output=output, html=as_html, locale=locale)
    click.echo(f"written to {path}")


@po.command("confirm")
@click.argument("ref", shell_complete=po_ref)
@pass_state
def po_confirm(state, ref):
    """Confirm draft REF: it is sent to the supplier (outbox) with the document."""
    from plugins.procurement.services_purchase import confirm_purchase_order

    app = state.app
    with app.transaction() as session:
        order = confirm_purchase_order(app, session, ref)
        click.echo(f"purchase order {order.number} confirmed and queued for {order.supplier.name}")


def _receipt_line(text: str) -> dict:
    from core.schemas import load
    from plugins.procurement.schemas import ReceiptLineSchema

    sku, sep, quantity = text.rpartition(":")
    if not sep or not sku:
        raise click.BadParameter(f"{text!r}: expected SKU:QUANTITY", param_hint="--line")
    return load(ReceiptLineSchema(), {"sku": sku, "quantity": quantity}, f"--line {text}")


@po.command("receive")
@click.argument("ref", shell_complete=po_ref)
@click.option("--line", "lines", multiple=True, metavar="SKU:QTY",
              help="Receive this quantity of SKU; repeat for several. Default: everything still due.")
@pass_state
def po_receive(state, ref, lines):
    """Receive goods of purchase order REF: stock moves in, the order becomes partial or received."""
    from plugins.procurement.services_purchase import receive_purchase_order

    app = state.app
    with app.transaction() as session:
        order = receive_purchase_order(app, session, ref, [_receipt_line(t) for t in lines] or None)
        click.echo(f"purchase order {order.number} {'received' if order.state == 'received' else 'partly received'}")


@po.command("cancel")
@click.argument("ref", shell_complete=po_ref)
@click.option("--reason", default="", help="Why (kept on the order, told to the supplier).")
@pass_state
def po_cancel(state, ref, reason):
    """Cancel purchase order REF (what is still due stops counting as incoming)."""
    from plugins.procurement.services_purchase import cancel_purchase_order

    app = state.app
    with app.transaction() as session:
        order = cancel_purchase_order(app, session, ref, reason)
        click.echo(f"purchase order {order.number} cancelled")

