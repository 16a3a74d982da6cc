"""Sales order commands."""

from __future__ import annotations

import click

from core.cli.complete import references
from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state
from core.cli.fields import extension_rows, set_option


def _order_number():
    from core.models import SalesOrder

    return SalesOrder.number


order_ref = references(_order_number)


def parse_line(text: str) -> dict:
    """``SKU:QUANTITY[:UNIT_PRICE[:DISCOUNT]]`` into a line dict (validated by the schema later)."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 4 or not parts[0]:
        raise click.BadParameter(f"{text!r}: expected SKU:QUANTITY[:UNIT_PRICE[:DISCOUNT]]", param_hint="--line")
    line = {"sku": parts[0], "quantity": parts[1]}
    if len(parts) > 2 and parts[2]:
        line["unit_price"] = parts[2]
    if len(parts) > 3 and parts[3]:
        line["discount"] = parts[3]
    return line


@click.group()
def order():
    """Sales orders: create, confirm, deliver, cancel, list, show."""


@order.command("create")
@click.option("--customer", required=True, help="Customer id or exact name.")
@click.option("--line", "lines", multiple=True, required=True, metavar="SKU:QTY[:PRICE[:DISCOUNT%]]",
              help="An order line; repeat for several. Price defaults to the product's list price.")
@click.option("--salesperson", default=None, help="Login of the salesperson (default: the customer's).")
@click.option("--team", default=None, help="Sales team name.")
@click.option("--origin", default=None, help="Where the order comes from (free text).")
@click.option("--note", default=None, help="A note printed on the order.")
@click.option("--delivery-street", default=None,
              help="Deliver to this street, not the customer's address (with --delivery-city).")
@click.option("--delivery-postal-code", default=None, help="Postal code of the delivery address.")
@click.option("--delivery-city", default=None, help="City of the delivery address.")
@click.option("--delivery-country", default=None, metavar="CC",
              help="Country of the delivery address, ISO code (default: the customer's).")
@click.option("--confirm", "confirm_now", is_flag=True, help="Confirm at once (same transaction).")
@set_option
@json_option
@pass_state
def order_create(state, customer, lines, salesperson, team, origin, note, confirm_now, assignments, as_json,
                 **delivery):
    """Create a draft sales order (dated --today); the invoice prints a delivery address that differs
    from the customer's."""
    from core import extensions
    from core.services.orders import confirm_order, create_order, order_dict

    raw = {"customer": customer, "lines": [parse_line(t) for t in lines], "origin": origin or "cli",
           "salesperson": salesperson, "team": team, "note": note, **delivery}
    app = state.app
    with app.transaction() as session:
        created = create_order(app, session, {k: v for k, v in raw.items() if v is not None},
                               extensions=extensions.parse_assignments(app, "order", assignments, "order"))
        if confirm_now:
            confirm_order(app, session, created)
        data = order_dict(created, extensions=extensions.read(app, session, "order", [created.id]).get(created.id))
    if as_json:
        emit_json(data)
    else:
        click.echo(f"order {data['number']} ({data['state']}): {data['total']} {data['currency']} incl. VAT")


@order.command("confirm")
@click.argument("ref", shell_complete=order_ref)
@pass_state
def order_confirm(state, ref):
    """Confirm draft order REF (id or number); modules react (invoice, stock) in the same transaction."""
    from core.services.orders import confirm_order, get_order

    app = state.app
    with app.transaction() as session:
        confirmed = confirm_order(app, session, get_order(session, ref, lock=True))
        click.echo(f"order {confirmed.number} confirmed")


@order.command("deliver")
@click.argument("ref", shell_complete=order_ref)
@pass_state
def order_deliver(state, ref):
    """Mark confirmed order REF delivered; modules react (stock moves out) in the same transaction."""
    from core.services.orders import deliver_order, get_order

    app = state.app
    with app.transaction() as session:
        delivered = deliver_order(app, session, get_order(session, ref, lock=True))
        click.echo(f"order {delivered.number} delivered")


@order.command("cancel")
@click.argument("ref", shell_complete=order_ref)
@click.option("--reason", default="", help="Why it is cancelled (kept on the order).")
@pass_state
def order_cancel(state, ref, reason):
    """Cancel order REF (draft or confirmed)."""
    from core.services.orders import cancel_order, get_order

    app = state.app
    with app.transaction() as session:
        cancelled = cancel_order(app, session, get_order(session, ref, lock=True), reason)
        click.echo(f"order {cancelled.number} cancelled")


@order.command("list")
@click.option("--state", "order_state", type=click.Choice(["draft", "confirmed", "delivered", "cancelled"]), default=None,
              help="Only orders in this state.")
@click.option("--customer", default=None, help="Only this customer's orders (id or exact name).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many, newest first.")
@json_option
@pass_state
def order_list(state, order_state, customer, limit, as_json):
    """List sales orders, newest first (with the fields modules mark to be listed)."""
    from core import extensions
    from core.services.orders import list_orders, order_dict

    app = state.app
    with app.transaction() as session:
        found = list_orders(session, state=order_state, customer=customer, limit=limit)
        extra = extensions.read(app, session, "order", [o.id for o in found], only="listed")
        blank = extensions.blank(app, "order", only="listed")
        rows = [order_dict(o, lines=False, extensions=extra.get(o.id, blank)) for o in found]
    if as_json:
        emit_json(rows)
        return
    columns = extension_rows(app, "order", {}, only="listed")[1]
    for row in rows:
        row["customer"] = row["customer"]["name"]
        row.update(extension_rows(app, "order", row, only="listed")[0])
    emit_table(rows, [("number", "Number"), ("order_date", "Date"), ("customer", "Customer"),
                      ("salesperson", "Salesperson"), ("state", "State"), ("total_untaxed", "Excl. VAT"),
                      ("total", "Total"), *columns], empty="no order")


@order.command("show")
@click.argument("ref", shell_complete=order_ref)
@json_option
@pass_state
def order_show(state, ref, as_json):
    """Show order REF with its lines and VAT per rate."""
    from core import extensions
    from core.services.orders import get_order, order_dict

    app = state.app
    with app.transaction() as session:
        found = get_order(session, ref)
        data = order_dict(found, extensions=extensions.read(app, session, "order", [found.id]).get(found.id))
    if as_json:
        emit_json(data)
        return
    where = data["delivery_address"]
    delivery = ", ".join(p for p in (where["street"], " ".join(filter(None, (where["postal_code"], where["city"]))),
                                     where["country"]) if p) if where else None
    extra, columns = extension_rows(app, "order", data)
    emit_record({**data, **extra, "customer": data["customer"]["name"], "delivery_address": delivery},
                [("number", "Number"), ("state", "State"), ("customer", "Customer"), ("salesperson", "Salesperson"),
                 ("order_date", "Date"), ("confirmed_at", "Confirmed"), ("delivered_at", "Delivered"),
                 ("delivery_address", "Deliver to"), ("origin", "Origin"),
                 ("total_untaxed", "Excl. VAT"), ("total_tax", "VAT"), ("total", "Total"), *columns])
    emit_table(data["lines"], [("sequence", "#"), ("sku", "SKU"), ("description", "Description"),
                               ("quantity", "Qty"), ("unit_price", "Unit price"), ("discount", "Disc. %"),
                               ("vat_rate", "VAT %"), ("subtotal", "Subtotal")])
    emit_table(data["vat"], [("rate", "VAT %"), ("base", "Base"), ("tax", "VAT")])
