"""Sales orders: the kernel's state machine shared by the funnel, billing and procurement."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from core.errors import NotFound, StateError
from core.models import SalesOrder, SalesOrderLine
from core.services.catalog import get_product
from core.services.partners import get_partner
from core.services.people import get_team, get_user
from core.types import round_money

#: The order's state machine: action -> (states it may start from, state it leads to).
TRANSITIONS = {
    "confirm": (("draft",), "confirmed"),
    "deliver": (("confirmed",), "delivered"),
    "cancel": (("draft", "confirmed"), "cancelled"),
}


def _move(order: SalesOrder, action: str) -> None:
    sources, target = TRANSITIONS[action]
    if order.state not in sources:
        raise StateError(f"order {order.number}: cannot {action} an order that is {order.state} "
                         f"(only from {' or '.join(sources)})")
    order.state = target


def compute_totals(order: SalesOrder) -> None:
    """Line subtotals, VAT per rate on the sum of each rate's subtotals, and the order's totals.

    VAT is computed per rate on the summed subtotals (as printed on a French invoice), not per
    line, so the VAT shown per rate is exactly what the totals add up to.
    """
    per_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    untaxed = Decimal("0")
    for line in order.lines:
        gross = line.quantity * line.unit_price * (Decimal(100) - line.discount) / Decimal(100)
        line.subtotal = round_money(gross)
        per_rate[line.vat_rate] += line.subtotal
        untaxed += line.subtotal
    tax = sum((round_money(base * rate / Decimal(100)) for rate, base in per_rate.items()), Decimal("0"))
    order.total_untaxed = untaxed
    order.total_tax = tax
    order.total = untaxed + tax


def vat_breakdown(order: SalesOrder) -> list[dict]:
    """``[{rate, base, tax}]`` per VAT rate, highest rate first."""
    per_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in order.lines:
        per_rate[line.vat_rate] += line.subtotal
    return [{"rate": _fixed(rate, 2), "base": _fixed(base, 2), "tax": str(round_money(base * rate / Decimal(100)))}
            for rate, base in sorted(per_rate.items(), reverse=True)]


def create_order(app, session, raw: dict, *, record: str | None = None, extensions: dict | None = None) -> SalesOrder:
    """Validate and create a draft order; prices default to the product's list price.

    ``extensions`` holds the fields modules add to orders (``{"module": {"field": "text"}}``).
    """
    from core.schemas import OrderSchema, load
    from core.security import require

    require(app, session, "core.order.write")
    from core import extensions as ext

    data = load(OrderSchema(), raw, record)
    values = ext.load(app, "order", extensions, record or "order", creating=True)
    customer = get_partner(session, data["customer"])
    if not customer.is_customer:
        from core.errors import ValidationError

        raise ValidationError(f"{customer.name} is not a customer", record=record, field="customer")
    order = SalesOrder(customer=customer, order_date=data["order_date"] or app.today,
                       origin=data["origin"], note=data["note"], currency=app.config.company.currency)
    if data["delivery_street"]:
        order.delivery_street, order.delivery_postal_code = data["delivery_street"], data["delivery_postal_code"]
        order.delivery_city = data["delivery_city"]
        order.delivery_country = data["delivery_country"] or customer.country
    if data["salesperson"]:
        order.salesperson = get_user(session, data["salesperson"])
    elif customer.salesperson is not None:
        order.salesperson = customer.salesperson
    else:
        from core.security import default_owner

        order.salesperson = default_owner(app, session)
    if data["team"]:
        order.team = get_team(session, data["team"])
    for sequence, line in enumerate(data["lines"], start=1):
        product = get_product(session, line["sku"])
        order.lines.append(SalesOrderLine(
            sequence=sequence, product=product, description=line["description"] or product.name,
            quantity=line["quantity"],
            unit_price=product.list_price if line["unit_price"] is None else line["unit_price"],
            discount=line["discount"], vat_rate=product.vat_rate))
    compute_totals(order)
    session.add(order)
    session.flush()
    order.number = f"SO{order.order_date.year}-{order.id:06d}"
    session.flush()
    ext.save(app, session, "order", order, values, changes={"state": (None, order.state)})
    return order


def get_order(session, ref, *, lock: bool = False) -> SalesOrder:
    """An order by id or number, its lines with it (one statement); ``lock`` takes the order's row
    lock (``FOR UPDATE OF`` the order: its lines are the outer join's nullable side) on PostgreSQL."""
    text = str(ref).strip()
    by_id = text.isdigit()
    order = session.scalars(_order_statement(by_id, lock), {"ref": int(text) if by_id else text}).unique().first()
    if order is None:
        raise NotFound(f"order {text}: no such order")
    return order


_STATEMENTS: dict = {}


def _order_statement(by_id: bool, lock: bool):
    """The statement of :func:`get_order`, built once per kind (building it and its cache key costs more
    than running it)."""
    statement = _STATEMENTS.get((by_id, lock))
    if statement is None:
        statement = select(SalesOrder).options(joinedload(SalesOrder.lines)).where(
            (SalesOrder.id if by_id else SalesOrder.number) == bindparam("ref"))
        if lock:
            statement = statement.with_for_update(of=SalesOrder)
        statement = _STATEMENTS[(by_id, lock)] = statement
    return statement


def confirm_order(app, session, order: SalesOrder) -> SalesOrder:
    """Draft -> confirmed, then ``order_confirmed`` (invoice, stock...) in the same transaction."""
    return _transition(app, session, order, "confirm", "order_confirmed", confirmed_at=app.today)


def deliver_order(app, session, order: SalesOrder) -> SalesOrder:
    """Confirmed -> delivered (the goods left), then ``order_delivered`` (stock moves out)."""
    return _transition(app, session, order, "deliver", "order_delivered", delivered_at=app.today)


def cancel_order(app, session, order: SalesOrder, reason: str = "") -> SalesOrder:
    """Draft or confirmed -> cancelled, then ``order_cancelled`` in the same transaction."""
    return _transition(app, session, order, "cancel", "order_cancelled", {"reason": reason or ""},
                       cancelled_at=app.today, cancel_reason=reason or None)


def _transition(app, session, order: SalesOrder, action: str, hook: str, arguments: dict | None = None,
                **values) -> SalesOrder:
    """Check the right and the state, write ``values``, then call ``hook``: the audit trail's rows of the
    whole transition (the order's and those of what the modules write) go in with one INSERT."""
    from core.audit import batched
    from core.security import require

    require(app, session, "core.order.write")
    _move(order, action)
    for key, value in values.items():
        setattr(order, key, value)
    with batched(session):
        session.flush()
        app.call(hook, app=app, session=session, order=order, **(arguments or {}))
    return order


def list_orders(session, *, state: str | None = None, customer=None, limit: int | None = None):
    """Sales orders newest first, each with its customer, salesperson and team (read in the same statement)."""
    query = orders_query(session, state=state, customer=customer)
    return load_orders(session, query.limit(limit) if limit else query)


def load_orders(session, query) -> list[SalesOrder]:
    """The orders of ``query`` with the customer, salesperson and team a listing shows, in one statement
    (the API reads a page of :func:`orders_query` with it)."""
    from sqlalchemy.orm import joinedload

    return session.scalars(query.options(joinedload(SalesOrder.customer, innerjoin=True),
                                         joinedload(SalesOrder.salesperson), joinedload(SalesOrder.team))).all()


def orders_query(session, *, state: str | None = None, customer=None):
    """Sales orders newest first, as a ``Select`` (the API reads it a page at a time)."""
    query = select(SalesOrder).order_by(SalesOrder.id.desc())
    if state:
        query = query.where(SalesOrder.state == state)
    if customer is not None:
        query = query.where(SalesOrder.customer_id == get_partner(session, customer).id)
    return query


def _fixed(value, places: int) -> str:
    """``value`` as text at its column's scale: a schema default (``Decimal("0")``) prints as it reads back."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


def order_dict(order: SalesOrder, *, lines: bool = True, extensions: dict | None = None) -> dict:
    """Stable JSON shape of an order (amounts as strings, exact); ``extensions`` nested by module."""
    result = {
        "id": order.id, "number": order.number, "state": order.state,
        "customer": {"id": order.customer.id, "name": order.customer.name},
        "salesperson": order.salesperson.login if order.salesperson else None,
        "team": order.team.name if order.team else None,
        "order_date": order.order_date.isoformat(),
        "confirmed_at": order.confirmed_at.isoformat() if order.confirmed_at else None,
        "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "cancel_reason": order.cancel_reason, "origin": order.origin, "currency": order.currency,
        "delivery_address": {"street": order.delivery_street, "postal_code": order.delivery_postal_code,
                             "city": order.delivery_city, "country": order.delivery_country}
        if order.delivery_street else None,
        "total_untaxed": _fixed(order.total_untaxed, 2), "total_tax": _fixed(order.total_tax, 2),
        "total": _fixed(order.total, 2),
    }
    if lines:
        result["lines"] = [{
            "sequence": line.sequence, "sku": line.product.sku, "description": line.description,
            "quantity": _fixed(line.quantity, 3), "unit_price": _fixed(line.unit_price, 4),
            "discount": _fixed(line.discount, 2), "vat_rate": _fixed(line.vat_rate, 2),
            "subtotal": _fixed(line.subtotal, 2)} for line in order.lines]
        result["vat"] = vat_breakdown(order)
    result.update({module: values for module, values in (extensions or {}).items() if module not in result})
    return result
