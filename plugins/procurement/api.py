"""Procurement's endpoints: stock levels and purchase orders (list, show, confirm, receive, cancel)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.api.http import Page, Record, Rows, body, each, payload, requires, session
from core.api.http import app as crm
from plugins.procurement.schemas import ReceiptLineSchema

stock = Blueprint("stock", __name__, url_prefix="/api/v1/stock", description="Stock levels")
purchase_orders = Blueprint("purchase_orders", __name__, url_prefix="/api/v1/purchase-orders",
                            description="Purchase orders to suppliers")
PO_STATES = ("draft", "confirmed", "partial", "received", "cancelled")


class StockOut(Record):
    sku = fields.String(required=True)
    name = fields.String()
    on_hand = fields.String()
    reserved = fields.String()
    incoming = fields.String()
    forecast = fields.String()
    minimum = fields.String(allow_none=True)
    maximum = fields.String(allow_none=True)
    below_minimum = fields.Boolean()


class StockQuery(Record):
    below_min = fields.Boolean(load_default=False, metadata={"description": "only forecasts below the minimum"})


@stock.get("/")
@stock.arguments(StockQuery, location="query", as_kwargs=True)
@stock.response(200, StockOut(many=True))
@stock.paginate(Page)
@requires("procurement.read")
def stock_levels(below_min):
    """On hand, reserved, incoming and forecast per product (``crm stock list``)."""
    from plugins.procurement.services_stock import stock_rows

    return stock_rows(session(), below_min=below_min)


class PurchaseOrderOut(Record):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    state = fields.String(metadata={"enum": list(PO_STATES)})
    supplier = fields.Dict(metadata={"description": "{id, name}"})
    order_date = fields.String(metadata={"format": "date"})
    total_untaxed = fields.String()
    lines = fields.List(fields.Dict())


class PurchaseOrderQuery(Record):
    state = fields.String(load_default=None, validate=validate.OneOf(PO_STATES))
    supplier = fields.String(load_default=None)


class ReceiveIn(Record):
    lines = fields.List(fields.Nested(ReceiptLineSchema), metadata={"description": "default: everything still due"})


class PurchaseCancelIn(Record):
    reason = fields.String(load_default="")


def _out(order) -> dict:
    from core.extensions import attach
    from plugins.procurement.services_purchase import purchase_order_dict

    return attach(crm(), session(), "purchase_order", order.id, purchase_order_dict(order))


@purchase_orders.get("/")
@purchase_orders.arguments(PurchaseOrderQuery, location="query", as_kwargs=True)
@purchase_orders.response(200, PurchaseOrderOut(many=True))
@purchase_orders.paginate(Page)
@requires("procurement.read")
def list_purchase_orders(state, supplier):
    """Purchase orders, newest first (``crm po list``)."""
    from plugins.procurement.services_purchase import (
        load_purchase_orders,
        purchase_order_dict,
        purchase_orders_query,
    )

    return Rows(purchase_orders_query(session(), state=state, supplier=supplier),
                each(lambda o: purchase_order_dict(o, lines=False)), load=lambda page: load_purchase_orders(session(), page))


@purchase_orders.get("/<ref>")
@purchase_orders.response(200, PurchaseOrderOut)
@requires("procurement.read")
def show_purchase_order(ref):
    """One purchase order with its lines and why each was raised (``crm po show``)."""
    from plugins.procurement.services_purchase import get_purchase_order

    return _out(get_purchase_order(session(), ref))


@purchase_orders.post("/<ref>/confirm")
@purchase_orders.response(200, PurchaseOrderOut)
@requires("procurement.po.confirm")
def confirm_purchase_order(ref):
    """Confirm a draft: it is sent to the supplier (outbox) with the document."""
    from plugins.procurement.services_purchase import confirm_purchase_order as confirm

    return _out(confirm(crm(), session(), ref))


@purchase_orders.post("/<ref>/receive")
@body(ReceiveIn, example={"lines": [{"sku": "WIDGET", "quantity": "10"}]})
@purchase_orders.response(200, PurchaseOrderOut)
@requires("procurement.po.receive")
def receive_purchase_order(ref):
    """Receive goods: stock moves in, the order becomes partial or received."""
    from core.errors import ValidationError
    from core.schemas import load
    from plugins.procurement.services_purchase import receive_purchase_order as receive

    lines = payload(required=False).get("lines")
    if lines is not None and not isinstance(lines, list):
        raise ValidationError("must be a list of {sku, quantity}", field="lines")
    parsed = [load(ReceiptLineSchema(), line if isinstance(line, dict) else {}, f"lines.{n}")
              for n, line in enumerate(lines or [])]
    return _out(receive(crm(), session(), ref, parsed or None))


@purchase_orders.post("/<ref>/cancel")
@body(PurchaseCancelIn)
@purchase_orders.response(200, PurchaseOrderOut)
@requires("procurement.po.confirm")
def cancel_purchase_order(ref):
    """Cancel a purchase order (what is still due stops counting as incoming)."""
    from plugins.procurement.services_purchase import cancel_purchase_order as cancel

    return _out(cancel(crm(), session(), ref, str(payload(required=False).get("reason") or "")))
