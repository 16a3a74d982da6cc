"""The kernel's sales orders (create, confirm, deliver, cancel) and the period report and plan."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.api.http import Page, Record, Rows, body, each, extensions_of, payload, requires, session
from core.api.http import app as crm
from core.models import ORDER_STATES
from core.schemas import OrderSchema

orders = Blueprint("orders", __name__, url_prefix="/api/v1/orders", description="Sales orders")
reports = Blueprint("reports", __name__, url_prefix="/api/v1/reports",
                    description="The period report and the plan, one section per module")


class OrderOut(Record):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    state = fields.String(metadata={"enum": list(ORDER_STATES)})
    customer = fields.Dict(metadata={"description": "{id, name}"})
    salesperson = fields.String(allow_none=True)
    order_date = fields.String(metadata={"format": "date"})
    total_untaxed = fields.String()
    total_tax = fields.String()
    total = fields.String(metadata={"description": "incl. VAT, exact decimal"})
    currency = fields.String()
    lines = fields.List(fields.Dict())


class OrderQuery(Record):
    state = fields.String(load_default=None, validate=validate.OneOf(ORDER_STATES))
    customer = fields.String(load_default=None, metadata={"description": "customer id or exact name"})


class OrderIn(OrderSchema):
    confirm = fields.Boolean(metadata={"description": "confirm at once, in the same transaction"})
    extensions = fields.Dict(metadata={"description": "modules' fields: {module: {field: value}}"})


class OrderCancelIn(Record):
    reason = fields.String(load_default="")


def _out(order, lines: bool = True) -> dict:
    from core import extensions
    from core.services.orders import order_dict

    return order_dict(order, lines=lines, extensions=extensions.read(crm(), session(), "order", [order.id]).get(order.id))


@orders.get("/")
@orders.arguments(OrderQuery, location="query", as_kwargs=True)
@orders.response(200, OrderOut(many=True))
@orders.paginate(Page)
@requires("core.read")
def list_orders(state, customer):
    """Sales orders, newest first (``crm order list``)."""
    from core.services.orders import load_orders, order_dict, orders_query

    return Rows(orders_query(session(), state=state, customer=customer), each(lambda o: order_dict(o, lines=False)),
                load=lambda page: load_orders(session(), page))


@orders.get("/<ref>")
@orders.response(200, OrderOut)
@requires("core.read")
def show_order(ref):
    """One order by id or number, with its lines and VAT (``crm order show``)."""
    from core.services.orders import get_order

    return _out(get_order(session(), ref))


@orders.post("/")
@body(OrderIn, example={"customer": "Dupont SA", "lines": [{"sku": "WIDGET", "quantity": "3"}], "confirm": True})
@orders.response(201, OrderOut)
@requires("core.order.write")
def create_order():
    """Create a draft order dated today, and confirm it with ``"confirm": true`` (``crm order create``)."""
    from core.services.orders import confirm_order, create_order as create

    data = payload()
    values = extensions_of(data)
    confirm = data.pop("confirm", False)
    data.setdefault("origin", "api")
    created = create(crm(), session(), data, extensions=values)
    if confirm is True:
        confirm_order(crm(), session(), created)
    return _out(created)


def _move(ref, action):
    from core.services import orders as service

    order = service.get_order(session(), ref, lock=True)
    if action == "cancel":
        return _out(service.cancel_order(crm(), session(), order, str(payload(required=False).get("reason") or "")))
    return _out(getattr(service, f"{action}_order")(crm(), session(), order))


@orders.post("/<ref>/confirm")
@orders.response(200, OrderOut)
@requires("core.order.write")
def confirm(ref):
    """Confirm a draft order: modules react (invoice, stock) in the same transaction."""
    return _move(ref, "confirm")


@orders.post("/<ref>/deliver")
@orders.response(200, OrderOut)
@requires("core.order.write")
def deliver(ref):
    """Mark a confirmed order delivered (stock moves out)."""
    return _move(ref, "deliver")


@orders.post("/<ref>/cancel")
@body(OrderCancelIn)
@orders.response(200, OrderOut)
@requires("core.order.write")
def cancel(ref):
    """Cancel a draft or confirmed order, with a reason."""
    return _move(ref, "cancel")


# --- reports ----------------------------------------------------------------------------------------

class PeriodQuery(Record):
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    team = fields.String(load_default=None)


class PlanQuery(Record):
    period = fields.String(required=True, metadata={"description": "2027-Q1, 2027-H1, 2027-03 or 2027"})
    team = fields.String(load_default=None)


class ReportOut(Record):
    kind = fields.String()
    period = fields.Dict()
    sections = fields.Dict(metadata={"description": "one section per module, by its key"})


def _report(hook, start, end, team, label=""):
    from core.reports import build, make_period

    period = make_period(session(), start, end, crm().today, team=team, label=label)
    return build(crm(), hook, period, session()).as_dict()


@reports.get("/period")
@reports.arguments(PeriodQuery, location="query", as_kwargs=True)
@reports.response(200, ReportOut)
@requires("core.read")
def period_report(start, end, team):
    """The period report (``crm report period``): one section per module, within the user's records."""
    return _report("report_sections", start, end, team)


@reports.get("/plan")
@reports.arguments(PlanQuery, location="query", as_kwargs=True)
@reports.response(200, ReportOut)
@requires("core.read")
def plan(period, team):
    """What to expect in a coming period (``crm plan``)."""
    from core.reports import parse_period

    start, end = parse_period(period)
    return _report("plan_sections", start, end, team, label=period.upper())
