"""Purchase orders: draft -> confirmed (sent to the supplier) -> partial -> received, or cancelled.

Transitions are data (``TRANSITIONS``); each has one function that checks, writes and notifies.
Locks follow the stock rule: the products' levels first (id order), then the purchase order.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import NotFound, StateError, ValidationError
from core.types import round_money
from plugins.procurement.models_purchase import PurchaseOrder, PurchaseOrderLine

#: action -> (states it may start from, state it leads to; receive decides partial or received)
TRANSITIONS = {
    "confirm": (("draft",), "confirmed"),
    "receive": (("confirmed", "partial"), "received"),
    "cancel": (("draft", "confirmed", "partial"), "cancelled"),
}


def _check(order: PurchaseOrder, action: str) -> None:
    sources, _ = TRANSITIONS[action]
    if order.state not in sources:
        raise StateError(f"purchase order {order.number}: cannot {action} an order that is {order.state} "
                         f"(only from {' or '.join(sources)})")


def get_purchase_order(session, ref, *, lock: bool = False) -> PurchaseOrder:
    """A purchase order by id or number; ``lock`` locks it (PostgreSQL) and reloads it."""
    text_ref = str(ref).strip()
    query = select(PurchaseOrder).options(selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
                                          selectinload(PurchaseOrder.supplier))
    query = (query.where(PurchaseOrder.id == int(text_ref)) if text_ref.isdigit()
             else query.where(PurchaseOrder.number == text_ref.upper()))
    if lock:
        query = query.with_for_update(of=PurchaseOrder).execution_options(populate_existing=True)
    order = session.scalars(query).first()
    if order is None:
        raise NotFound(f"purchase order {text_ref}: no such purchase order (see `crm po list`)")
    return order


def _locked(session, ref) -> PurchaseOrder:
    """The order with its products' levels locked first, then itself (the locking rule)."""
    from plugins.procurement.services_stock import lock_levels

    order = get_purchase_order(session, ref)
    lock_levels(session, [line.product_id for line in order.lines])
    return get_purchase_order(session, order.id, lock=True)


def confirm_purchase_order(app, session, ref) -> PurchaseOrder:
    """Draft -> confirmed: the order is sent to the supplier through the outbox, with the document."""
    from core.security import require

    require(app, session, "procurement.po.confirm")
    from core.outbox import DocumentAttachment, notify, resolve_recipients
    from core.rendering import render

    order = get_purchase_order(session, ref, lock=True)
    _check(order, "confirm")
    record = f"purchase order {order.number}"
    if not order.lines:
        raise ValidationError("has no line to order", record=record, field="lines")
    recipients = resolve_recipients(session, f"partner:{order.supplier_id}")
    if not recipients:
        raise ValidationError(f"supplier {order.supplier.name} has no e-mail address to send the order to "
                              f"(crm partner update {order.supplier_id} --email ...)", record=record, field="supplier")
    order.state = "confirmed"
    order.confirmed_at = app.today
    session.flush()
    # The PDF is laid out when the message is delivered: only its reference is stored here.
    # The supplier reads it in their language (else the company's).
    from core.rendering import gettext
    from core.services.company import get_company, reader_locale

    locale, sender = reader_locale(app, order.supplier), get_company(session).name or ""
    _ = gettext(app, locale)
    notify(app, session, recipients=recipients,
           subject=_("Purchase order %(number)s — %(company)s") % {"number": order.number, "company": sender},
           text=render(app, "procurement/purchase_order.txt", locale=locale, order=purchase_order_dict(order)),
           attachments=[DocumentAttachment("procurement.purchase_order", str(order.id))],
           related=f"procurement_purchase_order:{order.id}", dedup_key=f"procurement:po-sent:{order.number}")
    return order


def receive_purchase_order(app, session, ref, lines: list[dict] | None = None) -> PurchaseOrder:
    """Receive goods: everything still due, or ``[{sku, quantity}]``; each receipt is a stock move.

    A product ordered on several lines is received on them oldest first; receiving more than is
    still due on the order is refused, naming the line.
    """
    from core.security import require
    from plugins.procurement.services_stock import change_level, to_units, write_moves

    require(app, session, "procurement.po.receive")
    order = _locked(session, ref)
    _check(order, "receive")
    record = f"purchase order {order.number}"
    due: dict[str, list[PurchaseOrderLine]] = defaultdict(list)
    for line in order.lines:
        if line.remaining > 0:
            due[line.product.sku].append(line)
    wanted: dict[str, Decimal] = defaultdict(Decimal)
    if lines is None:
        for sku, open_lines in due.items():
            wanted[sku] = sum((line.remaining for line in open_lines), Decimal(0))
    else:
        skus = {line.product.sku for line in order.lines}
        for item in lines:
            if item["sku"] not in skus:
                raise ValidationError(f"{item['sku']} is not on this order", record=record, field=f"line {item['sku']}")
            wanted[item["sku"]] += item["quantity"]
    moves = []
    for sku, quantity in wanted.items():
        left = sum((line.remaining for line in due[sku]), Decimal(0))
        if quantity > left:
            raise ValidationError(f"{quantity} received but only {left} still due", record=record, field=f"line {sku}")
        for line in due[sku]:
            take = min(quantity, line.remaining)
            if take <= 0:
                continue
            quantity -= take
            line.received_quantity += take
            change_level(session, line.product_id, on_hand=to_units(take), incoming=-to_units(take))
            moves.append({"product_id": line.product_id, "kind": "receipt", "quantity": take,
                          "reason": f"purchase order {order.number} received", "purchase_order_line_id": line.id})
    if not moves:
        raise ValidationError("nothing to receive", record=record, field="lines")
    session.flush()
    write_moves(app, session, moves)
    if all(line.remaining == 0 for line in order.lines):
        order.state = "received"
        order.received_at = app.today
    else:
        order.state = "partial"
    session.flush()
    return order


def cancel_purchase_order(app, session, ref, reason: str = "") -> PurchaseOrder:
    """Cancel an order (or what is still due on a partly received one): its lines stop counting as
    incoming, so the next evaluation orders the need again. A supplier who had the order is told."""
    from core.security import require
    from plugins.procurement.services_stock import change_level, to_units

    require(app, session, "procurement.po.confirm")
    from core.outbox import notify, resolve_recipients

    order = _locked(session, ref)
    _check(order, "cancel")
    for line in order.lines:
        if line.remaining > 0:
            change_level(session, line.product_id, incoming=-to_units(line.remaining))
    sent = order.state in ("confirmed", "partial")
    order.state = "cancelled"
    order.cancelled_at = app.today
    order.cancel_reason = reason or None
    session.flush()
    recipients = resolve_recipients(session, f"partner:{order.supplier_id}") if sent else []
    if recipients:
        from core.rendering import gettext
        from core.services.company import get_company, reader_locale

        _ = gettext(app, reader_locale(app, order.supplier))
        partly = any(line.received_quantity for line in order.lines)
        notify(app, session, recipients=recipients,
               subject=_("Cancelled: purchase order %(number)s") % {"number": order.number},
               text=(_("Please cancel our purchase order %(number)s (what has not been delivered yet).") if partly
                     else _("Please cancel our purchase order %(number)s.")) % {"number": order.number}
                    + (" " + _("Reason: %(reason)s") % {"reason": reason} if reason else "")
                    + f"\n\n{get_company(session).name or ''}\n",
               related=f"procurement_purchase_order:{order.id}", dedup_key=f"procurement:po-cancelled:{order.number}")
    return order


def list_purchase_orders(session, *, state: str | None = None, supplier=None) -> list[PurchaseOrder]:
    return load_purchase_orders(session, purchase_orders_query(session, state=state, supplier=supplier))


def purchase_orders_query(session, *, state: str | None = None, supplier=None):
    """Purchase orders newest first, as a ``Select`` (the API reads it a page at a time)."""
    from core.services.partners import get_partner

    query = select(PurchaseOrder).order_by(PurchaseOrder.id.desc())
    if state:
        query = query.where(PurchaseOrder.state == state)
    if supplier:
        query = query.where(PurchaseOrder.supplier_id == get_partner(session, supplier).id)
    return query


def load_purchase_orders(session, query) -> list[PurchaseOrder]:
    """The orders of ``query`` with their lines and supplier (one query each)."""
    return list(session.scalars(query.options(selectinload(PurchaseOrder.lines), selectinload(PurchaseOrder.supplier))))


def purchase_order_dict(order: PurchaseOrder, *, lines: bool = True) -> dict:
    """Stable JSON shape (quantities and amounts as exact strings)."""
    subtotals = [round_money(line.quantity * line.unit_price) for line in order.lines]
    data = {
        "id": order.id, "number": order.number, "state": order.state,
        "supplier": {"id": order.supplier.id, "name": order.supplier.name, "email": order.supplier.email},
        "order_date": order.order_date.isoformat(),
        "confirmed_at": order.confirmed_at.isoformat() if order.confirmed_at else None,
        "received_at": order.received_at.isoformat() if order.received_at else None,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "cancel_reason": order.cancel_reason,
        "line_count": len(order.lines),
        "total_untaxed": str(sum(subtotals, Decimal("0.00"))),
    }
    if lines:
        data["lines"] = [{
            "id": line.id, "sku": line.product.sku, "description": line.product.name,
            "quantity": str(line.quantity), "received_quantity": str(line.received_quantity),
            "remaining": str(line.remaining), "unit_price": str(line.unit_price), "subtotal": str(subtotal),
            "expected_date": line.expected_date.isoformat() if line.expected_date else None,
            "why": {"rule_id": line.rule_id, "trigger": line.trigger, "raised_on": line.raised_on.isoformat(),
                    "forecast": None if line.forecast_quantity is None else str(line.forecast_quantity)},
        } for line, subtotal in zip(order.lines, subtotals)]
    return data
