"""``crm stock|supplier|reorder``: thin commands over the services, one transaction each.

``crm po`` is in :mod:`plugins.procurement.cli_po`, ``crm bill`` in :mod:`plugins.procurement.cli_bills`.
"""

from __future__ import annotations

import click

from core.cli.complete import references
from core.cli.context import emit_json, emit_table, json_option, pass_state


def _product_sku():
    from core.models import Product

    return Product.sku


#: ``shell_complete`` of the arguments naming a product (its SKU)
sku_ref = references(_product_sku)


# --- stock --------------------------------------------------------------------------------------


@click.group()
def stock():
    """Stock: levels, the ledger of moves, adjustments, and the ledger check."""


@stock.command("list")
@click.option("--below-min", is_flag=True, help="Only products whose forecast is below their rule's minimum.")
@json_option
@pass_state
def stock_list(state, below_min, as_json):
    """On hand, reserved, incoming and forecast per product."""
    from plugins.procurement.services_stock import stock_rows

    with state.app.transaction() as session:
        rows = stock_rows(session, below_min=below_min)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["flag"] = "below min" if row["below_minimum"] else ""
    emit_table(rows, [("sku", "SKU"), ("name", "Name"), ("on_hand", "On hand"), ("reserved", "Reserved"),
                      ("incoming", "Incoming"), ("forecast", "Forecast"), ("minimum", "Min"), ("maximum", "Max"),
                      ("flag", "")], empty="no product below its minimum" if below_min else "no stock")


@stock.command("moves")
@click.argument("sku", shell_complete=sku_ref)
@json_option
@pass_state
def stock_moves(state, sku, as_json):
    """The ledger of product SKU, oldest first, with the running balance."""
    from plugins.procurement.services_stock import product_moves

    with state.app.transaction() as session:
        rows = product_moves(session, sku)
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("id", "#"), ("date", "Date"), ("kind", "Kind"), ("quantity", "Quantity"),
                      ("balance", "Balance"), ("reason", "Reason")], empty=f"no move for {sku}")


@stock.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("sku", shell_complete=sku_ref)
@click.argument("quantity")
@click.option("--reason", required=True, help="Why (inventory count, breakage...): kept in the ledger.")
@json_option
@pass_state
def stock_adjust(state, sku, quantity, reason, as_json):
    """Add (or with a negative QUANTITY such as -3, remove) stock of SKU, with a reason."""
    from plugins.procurement.services_stock import adjust_stock

    app = state.app
    with app.transaction() as session:
        row = adjust_stock(app, session, {"sku": sku, "quantity": quantity, "reason": reason})
    if as_json:
        emit_json(row)
    else:
        click.echo(f"{row['sku']}: on hand {row['on_hand']}, forecast {row['forecast']}")


@stock.command("check")
@json_option
@pass_state
def stock_check(state, as_json):
    """Prove the maintained levels agree with the ledger and the orders (exit 1 if not)."""
    from plugins.procurement.services_stock import check_levels

    with state.app.transaction() as session:
        problems = check_levels(session)
    if as_json:
        emit_json({"ok": not problems, "differences": problems})
    elif problems:
        emit_table(problems, [(key, key) for key in problems[0]])
    else:
        click.echo("stock levels agree with the ledger")
    if problems:
        raise SystemExit(1)


# --- suppliers ----------------------------------------------------------------------------------


@click.group()
def supplier():
    """Suppliers: their prices, minimum quantities and lead times."""


@supplier.group("price")
def supplier_price():
    """Supplier prices per product."""


@supplier_price.command("add")
@click.option("--supplier", "supplier_ref", required=True, help="Supplier id or exact name.")
@click.option("--sku", required=True, help="The product.")
@click.option("--price", required=True, help="Unit price excl. VAT (e.g. 12.50).")
@click.option("--minimum", "minimum_quantity", default=None,
              help="The price applies from this quantity on (default 0); several per supplier are price breaks, "
                   "the lowest is the minimum order quantity.")
@click.option("--lead-time", "lead_time_days", default=None, help="Lead time in days.")
@click.option("--preferred", is_flag=True, help="The supplier reorder rules use for this product by default.")
@click.option("--update", "update_existing", is_flag=True,
              help="Replace this supplier's existing price from the same --minimum.")
@json_option
@pass_state
def supplier_price_add(state, supplier_ref, sku, price, minimum_quantity, lead_time_days, preferred,
                       update_existing, as_json):
    """Record what a supplier charges for a product (from a minimum quantity on: a price break)."""
    from plugins.procurement.services_suppliers import price_dict, set_price

    raw = {"supplier": supplier_ref, "sku": sku, "price": price, "minimum_quantity": minimum_quantity,
           "lead_time_days": lead_time_days, "preferred": preferred}
    app = state.app
    with app.transaction() as session:
        row, outcome = set_price(app, session, {k: v for k, v in raw.items() if v is not None},
                                 update_existing=update_existing)
        data = price_dict(row)
    if as_json:
        emit_json(data)
    else:
        click.echo(f"price of {data['sku']} at {data['supplier']} from {data['minimum_quantity']} {outcome}: "
                   f"{data['price']}{' (preferred)' if data['preferred'] else ''}")


@supplier_price.command("list")
@click.option("--sku", default=None, help="Only this product.")
@click.option("--supplier", "supplier_ref", default=None, help="Only this supplier (id or exact name).")
@json_option
@pass_state
def supplier_price_list(state, sku, supplier_ref, as_json):
    """Supplier prices by product and supplier, one row per price break (from its minimum quantity)."""
    from plugins.procurement.services_suppliers import list_prices, price_dict

    with state.app.transaction() as session:
        rows = [price_dict(p) for p in list_prices(session, sku=sku, supplier=supplier_ref)]
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("sku", "SKU"), ("supplier", "Supplier"), ("minimum_quantity", "From qty"), ("price", "Price"),
                      ("lead_time_days", "Lead days"), ("preferred", "Preferred")], empty="no supplier price")


@supplier_price.command("remove")
@click.option("--supplier", "supplier_ref", required=True, help="Supplier id or exact name.")
@click.option("--sku", required=True)
@click.option("--minimum", "minimum_quantity", default=None, help="Only the price break from this quantity.")
@pass_state
def supplier_price_remove(state, supplier_ref, sku, minimum_quantity):
    """Forget a supplier's prices for a product (or one price break of them)."""
    from core.schemas import load
    from plugins.procurement.schemas import SupplierPriceSchema
    from plugins.procurement.services_suppliers import remove_price

    minimum = None
    if minimum_quantity is not None:
        minimum = load(SupplierPriceSchema(only=("minimum_quantity",)), {"minimum_quantity": minimum_quantity},
                       f"supplier price {sku!r}")["minimum_quantity"]
    with state.app.transaction() as session:
        count = remove_price(session, sku, supplier_ref, minimum)
    click.echo(f"{count} price{'s' if count != 1 else ''} of {sku} removed")


# --- reorder ------------------------------------------------------------------------------------


@click.group()
def reorder():
    """Reorder rules and the reorder run."""


@reorder.group("rule")
def reorder_rule():
    """Reorder rules: minimum, maximum, pack size, supplier, lead time per product."""


def _rule_options(function):
    for option in reversed([
        click.argument("sku"),
        click.option("--min", "minimum", required=True, help="Order when the forecast falls below this."),
        click.option("--max", "maximum", required=True, help="Order up to this forecast."),
        click.option("--multiple", default=None, help="Pack size: order whole multiples of it (default 1)."),
        click.option("--supplier", "supplier_ref", default=None,
                     help="Supplier (default: the product's preferred one, else its cheapest)."),
        click.option("--lead-time", "lead_time_days", default=None, help="Lead time in days (default: the supplier's)."),
        json_option, pass_state,
    ]):
        function = option(function)
    return function


def _save_rule(state, sku, minimum, maximum, multiple, supplier_ref, lead_time_days, as_json, *, update):
    from plugins.procurement.services_rules import rule_dict, set_rule

    raw = {"sku": sku, "minimum": minimum, "maximum": maximum, "multiple": multiple, "supplier": supplier_ref,
           "lead_time_days": lead_time_days}
    app = state.app
    with app.transaction() as session:
        rule, outcome = set_rule(app, session, {k: v for k, v in raw.items() if v is not None}, update=update)
        data = rule_dict(rule)
    if as_json:
        emit_json(data)
    else:
        click.echo(f"reorder rule of {data['sku']} {outcome}: min {data['minimum']}, max {data['maximum']}, "
                   f"multiple {data['multiple']}")


@reorder_rule.command("add")
@_rule_options
def reorder_rule_add(state, sku, minimum, maximum, multiple, supplier_ref, lead_time_days, as_json):
    """Add the reorder rule of product SKU."""
    _save_rule(state, sku, minimum, maximum, multiple, supplier_ref, lead_time_days, as_json, update=False)


@reorder_rule.command("update")
@_rule_options
def reorder_rule_update(state, sku, minimum, maximum, multiple, supplier_ref, lead_time_days, as_json):
    """Replace the reorder rule of product SKU."""
    _save_rule(state, sku, minimum, maximum, multiple, supplier_ref, lead_time_days, as_json, update=True)


@reorder_rule.command("list")
@json_option
@pass_state
def reorder_rule_list(state, as_json):
    """Active reorder rules, by SKU."""
    from plugins.procurement.services_rules import list_rules, rule_dict

    with state.app.transaction() as session:
        rows = [rule_dict(r) for r in list_rules(session)]
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("sku", "SKU"), ("minimum", "Min"), ("maximum", "Max"), ("multiple", "Multiple"),
                      ("supplier", "Supplier"), ("lead_time_days", "Lead days")], empty="no reorder rule")


@reorder_rule.command("remove")
@click.argument("sku", shell_complete=sku_ref)
@pass_state
def reorder_rule_remove(state, sku):
    """Stop reordering product SKU (the rule is kept for the lines it raised)."""
    from plugins.procurement.services_rules import remove_rule

    with state.app.transaction() as session:
        remove_rule(session, sku)
    click.echo(f"reorder rule of {sku} removed")


@reorder.command("run")
@click.option("--dry-run", is_flag=True, help="Show what would be ordered; write nothing.")
@json_option
@pass_state
def reorder_run(state, dry_run, as_json):
    """Evaluate every rule now (the daily job does the same): lines join each supplier's draft."""
    from plugins.procurement.services_reorder import run_reorder

    app = state.app
    session = app.session()
    try:
        with session.begin():
            result = run_reorder(app, session, dry_run=dry_run)
            if dry_run:
                session.rollback()
    finally:
        session.close()
    if as_json:
        emit_json(result)
        return
    if dry_run:
        emit_table(result["planned"], [("sku", "SKU"), ("supplier", "Supplier"), ("forecast", "Forecast"),
                                       ("quantity", "To order"), ("purchase_order", "Into")],
                   empty="nothing to order")
        return
    click.echo(f"{result['lines']} line(s) ordered ({result['lines_raised']} joining a line already on a draft), "
               f"{result['drafts_created']} new draft(s), {result['orders_confirmed']} order(s) confirmed"
               + (f"; no supplier for {', '.join(result['products_without_supplier'])}"
                  if result["products_without_supplier"] else ""))
