"""The stock ledger: moves, the maintained levels, reservations from sales orders, and the check.

Every change is a :class:`StockMove` (never an overwritten number) written together with the
matching change of :class:`StockLevel` in the same transaction; ``check_levels`` recomputes the
levels from the ledger and the orders and lists any disagreement.

Locking rule (PostgreSQL): a transaction locks the stock levels of the products it touches first,
in product id order, then purchase orders; whoever computes a forecast holds the product's lock
until it commits, so two transactions never order the same need.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import BigInteger, bindparam, column, insert, select, text

from core.errors import CrmError, ValidationError
from core.models import Product
from core.security import require
from plugins.procurement.models import StockLevel, StockMove

#: Quantities are stored in thousandths (:data:`core.types.Quantity`); raw SQL works in these units.
UNITS = 1000


class StockError(CrmError):
    """Selling or moving more than the stock holds while ``[procurement] allow_negative`` is false."""


def to_units(quantity: Decimal) -> int:
    return int(Decimal(quantity).scaleb(3))


def from_units(units) -> Decimal:
    return Decimal(int(units or 0)).scaleb(-3).quantize(Decimal("0.001"))


def settings(app) -> dict:
    """``[procurement]`` of ``crm.toml``, checked by :class:`plugins.procurement.settings.ProcurementSettings`."""
    return app.settings("procurement")


# --- levels -------------------------------------------------------------------------------------

# Returns the active rule's minimum too: the hooks learn whether to reorder without another query. The
# returned columns are named by position: SQLAlchemy then keeps the result's description between calls.
_UPDATE_LEVEL = text("UPDATE procurement_stock_level SET on_hand = on_hand + :on_hand, "
                     "reserved = reserved + :reserved, incoming = incoming + :incoming "
                     "WHERE product_id = :product_id RETURNING on_hand, reserved, incoming, "
                     "(SELECT r.minimum FROM procurement_reorder_rule r WHERE r.product_id = "
                     "procurement_stock_level.product_id AND r.active)"
                     ).columns(*(column(name, BigInteger()) for name in ("on_hand", "reserved", "incoming", "minimum")))


def ensure_levels(session, product_ids) -> None:
    """Create the (zero) level rows of these products if missing (non-stockable products get none)."""
    from core.dbutil import insert_ignore

    ids = sorted(set(product_ids))
    if not ids:
        return
    stockable = session.scalars(select(Product.id).where(Product.id.in_(ids), Product.stockable.is_(True))).all()
    insert_ignore(session, StockLevel.__table__,
                  [{"product_id": pid, "on_hand": 0, "reserved": 0, "incoming": 0} for pid in sorted(stockable)],
                  ["product_id"])


def lock_levels(session, product_ids) -> None:
    """PostgreSQL: lock these products' levels, in id order (SQLite serialises writers already)."""
    ids = sorted(set(product_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        session.execute(select(StockLevel.product_id).where(StockLevel.product_id.in_(ids))
                        .order_by(StockLevel.product_id).with_for_update())


def change_level(session, product_id: int, *, on_hand=0, reserved=0, incoming=0):
    """Add these unit deltas to a product's level; returns its new ``(on_hand, reserved, incoming,
    rule minimum or None)`` in units, or None when the product is not stockable. Takes the row's lock."""
    params = {"product_id": product_id, "on_hand": on_hand, "reserved": reserved, "incoming": incoming}
    connection = session.connection()
    row = connection.execute(_UPDATE_LEVEL, params).first()
    if row is None:
        ensure_levels(session, [product_id])
        row = connection.execute(_UPDATE_LEVEL, params).first()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]), None if row[3] is None else int(row[3]))


def write_moves(app, session, moves: list[dict], *, day: dt.date | None = None) -> None:
    """Insert ledger rows (``product_id, kind, quantity, reason`` and optional links) in one statement."""
    if moves:
        day = day or app.today
        session.execute(insert(StockMove.__table__),
                        [{"sales_order_id": None, "purchase_order_line_id": None, "move_date": day, **m}
                         for m in moves])


def _sku(session, product_id: int) -> str:
    return session.scalar(select(Product.sku).where(Product.id == product_id))


# --- sales orders ------------------------------------------------------------------------------

def _order_quantities(order) -> dict[int, Decimal]:
    """Quantity per product of an order, products in id order (the locking order)."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in order.lines:
        totals[line.product_id] += line.quantity
    return dict(sorted(totals.items()))


def _shipped(session, order) -> bool:
    return session.execute(text("SELECT 1 FROM procurement_stock_move WHERE sales_order_id = :o "
                                "AND kind = 'delivery' LIMIT 1"), {"o": order.id}).first() is not None


def _short(app, session, order, product_id: int, level, units: int, *, what: str) -> None:
    """Refuse (or, when allowed, report to purchasing) a sale that takes the available stock below zero."""
    on_hand, reserved = level[0], level[1]
    available = on_hand - reserved
    if available >= 0:
        return
    sku = _sku(session, product_id)
    detail = f"{from_units(units)} {what}, {from_units(available + units)} available"
    if not settings(app)["allow_negative"]:
        raise StockError(f"order {order.number}: product {sku}: {detail} "
                         f"(set [procurement] allow_negative = true to sell short)")
    from plugins.procurement.services_alerts import notify_purchasing

    notify_purchasing(app, session, subject=f"Oversold: {sku} ({from_units(available)} available)",
                      text=f"Order {order.number}: product {sku}: {detail}.\nThe stock is now "
                           f"{from_units(available)} available: receive or adjust it.\n",
                      dedup_key=f"procurement:oversold:{order.number}:{sku}", related=f"core_sales_order:{order.id}")


def on_order_confirmed(app, session, order) -> None:
    """Reserve each stockable product of the order, or move it out at once with ``ship_on_confirm``;
    then evaluate the reorder rules of the products whose forecast fell below their minimum."""
    ship = settings(app)["ship_on_confirm"]
    levels = {}
    moves = []
    for product_id, quantity in _order_quantities(order).items():
        units = to_units(quantity)
        if ship:
            level = change_level(session, product_id, on_hand=-units)
        else:
            level = change_level(session, product_id, reserved=units)
        if level is None:
            continue
        levels[product_id] = level
        _short(app, session, order, product_id, level, units, what="shipped" if ship else "ordered")
        if ship:
            moves.append({"product_id": product_id, "kind": "delivery", "quantity": -quantity,
                          "reason": f"order {order.number} shipped on confirmation", "sales_order_id": order.id})
    write_moves(app, session, moves)
    _evaluate(app, session, levels, trigger=f"order {order.number} confirmed")


def on_order_delivered(app, session, order) -> None:
    """Move the order's goods out: on hand and reserved both go down (forecast unchanged)."""
    if _shipped(session, order):  # shipped on confirmation already
        return
    levels = {}
    moves = []
    for product_id, quantity in _order_quantities(order).items():
        units = to_units(quantity)
        level = change_level(session, product_id, on_hand=-units, reserved=-units)
        if level is None:
            continue
        levels[product_id] = level
        if level[0] < 0 and not settings(app)["allow_negative"]:
            raise StockError(f"order {order.number}: product {_sku(session, product_id)}: {quantity} to deliver "
                             f"but only {from_units(level[0] + units)} on hand; receive or adjust the stock first")
        moves.append({"product_id": product_id, "kind": "delivery", "quantity": -quantity,
                      "reason": f"order {order.number} delivered", "sales_order_id": order.id})
    write_moves(app, session, moves)
    _evaluate(app, session, levels, trigger=f"order {order.number} delivered")


def on_order_cancelled(app, session, order) -> None:
    """A confirmed order cancelled: release its reservation, or take back goods already shipped."""
    if order.confirmed_at is None:
        return
    shipped = _shipped(session, order)
    moves = []
    for product_id, quantity in _order_quantities(order).items():
        units = to_units(quantity)
        if shipped:
            if change_level(session, product_id, on_hand=units) is not None:
                moves.append({"product_id": product_id, "kind": "receipt", "quantity": quantity,
                              "reason": f"order {order.number} cancelled: goods returned", "sales_order_id": order.id})
        else:
            change_level(session, product_id, reserved=-units)
    write_moves(app, session, moves)


def _evaluate(app, session, levels: dict, *, trigger: str) -> None:
    """Run the reorder rules of the products (already locked) whose forecast is below their minimum."""
    below = [pid for pid, (on_hand, reserved, incoming, minimum) in levels.items()
             if minimum is not None and on_hand + incoming - reserved < minimum]
    if below:
        from plugins.procurement.services_alerts import alert_no_supplier
        from plugins.procurement.services_reorder import raise_needs

        result = raise_needs(app, session, product_ids=below, trigger=trigger, locked=True)
        if result["no_supplier"]:  # told now, not only in the next run's summary
            alert_no_supplier(app, session, result["no_supplier"], trigger=trigger)


# --- adjustments and views ---------------------------------------------------------------------

def adjust_stock(app, session, raw: dict):
    """Correct a product's stock by a signed quantity, with a reason (an inventory count, breakage...)."""
    require(app, session, "procurement.po.receive")
    from core.schemas import load
    from core.services.catalog import get_product
    from plugins.procurement.schemas import AdjustmentSchema

    data = load(AdjustmentSchema(), raw, f"product {str(raw.get('sku', '')).strip()!r}")
    product = get_product(session, data["sku"])
    record = f"product {product.sku}"
    if not product.stockable:
        raise ValidationError("is not stockable: it has no stock to adjust", record=record, field="sku")
    level = change_level(session, product.id, on_hand=to_units(data["quantity"]))
    if level[0] < 0 and not settings(app)["allow_negative"]:
        raise StockError(f"{record}: quantity: the adjustment would leave {from_units(level[0])} on hand "
                         f"([procurement] allow_negative is false)")
    write_moves(app, session, [{"product_id": product.id, "kind": "adjustment", "quantity": data["quantity"],
                                "reason": data["reason"]}])
    _evaluate(app, session, {product.id: level}, trigger=f"stock of {product.sku} adjusted")
    return level_dict(session, product.id)


def level_dict(session, product_id: int) -> dict:
    return stock_rows(session, product_ids=[product_id])[0]


def stock_rows(session, *, below_min: bool = False, product_ids=None, sku: str | None = None) -> list[dict]:
    """Each stockable product with a level or a rule: on hand, reserved, incoming, forecast, rule."""
    sql = ("SELECT p.id, p.sku, p.name, COALESCE(s.on_hand, 0), COALESCE(s.reserved, 0), COALESCE(s.incoming, 0), "
           "r.minimum, r.maximum FROM core_product p "
           "LEFT JOIN procurement_stock_level s ON s.product_id = p.id "
           "LEFT JOIN procurement_reorder_rule r ON r.product_id = p.id AND r.active "
           "WHERE p.stockable AND (s.product_id IS NOT NULL OR r.id IS NOT NULL)")
    params = {}
    if below_min:
        sql += (" AND r.id IS NOT NULL AND COALESCE(s.on_hand, 0) + COALESCE(s.incoming, 0) "
                "- COALESCE(s.reserved, 0) < r.minimum")
    if product_ids is not None:
        sql += " AND p.id IN :ids"
        params["ids"] = list(product_ids)
    statement = text(sql + " ORDER BY p.sku")
    if product_ids is not None:
        statement = statement.bindparams(bindparam("ids", expanding=True))
    rows = []
    for pid, sku_, name, on_hand, reserved, incoming, minimum, maximum in session.execute(statement, params):
        forecast = int(on_hand) + int(incoming) - int(reserved)
        rows.append({"sku": sku_, "name": name, "on_hand": str(from_units(on_hand)),
                     "reserved": str(from_units(reserved)), "available": str(from_units(int(on_hand) - int(reserved))),
                     "incoming": str(from_units(incoming)), "forecast": str(from_units(forecast)),
                     "minimum": None if minimum is None else str(from_units(minimum)),
                     "maximum": None if maximum is None else str(from_units(maximum)),
                     "below_minimum": minimum is not None and forecast < int(minimum)})
    return rows


def product_moves(session, sku: str) -> list[dict]:
    """The ledger of one product, oldest first, with the running balance."""
    from core.services.catalog import get_product

    product = get_product(session, sku)
    balance = Decimal("0.000")
    rows = []
    for move in session.scalars(select(StockMove).where(StockMove.product_id == product.id).order_by(StockMove.id)):
        balance += move.quantity
        rows.append({"id": move.id, "date": move.move_date.isoformat(), "kind": move.kind,
                     "quantity": str(move.quantity), "balance": str(balance), "reason": move.reason,
                     "sales_order_id": move.sales_order_id, "purchase_order_line_id": move.purchase_order_line_id})
    return rows


# --- the check ----------------------------------------------------------------------------------

#: The levels as the ledger and the orders say they are (units), per product.
LEDGER_SQL = """
SELECT p.id,
  (SELECT COALESCE(SUM(m.quantity), 0) FROM procurement_stock_move m WHERE m.product_id = p.id),
  (SELECT COALESCE(SUM(l.quantity), 0) FROM core_sales_order_line l JOIN core_sales_order o ON o.id = l.order_id
     WHERE l.product_id = p.id AND o.state = 'confirmed' AND NOT EXISTS (
       SELECT 1 FROM procurement_stock_move d WHERE d.sales_order_id = o.id AND d.kind = 'delivery')),
  (SELECT COALESCE(SUM(pl.quantity - pl.received_quantity), 0) FROM procurement_purchase_order_line pl
     JOIN procurement_purchase_order po ON po.id = pl.order_id
     WHERE pl.product_id = p.id AND po.state IN ('draft', 'confirmed', 'partial'))
FROM core_product p WHERE p.stockable
"""


def check_levels(session) -> list[dict]:
    """Every product whose maintained level differs from what the ledger and the orders say."""
    truth = {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in session.execute(text(LEDGER_SQL))}
    kept = {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in session.execute(
        text("SELECT product_id, on_hand, reserved, incoming FROM procurement_stock_level"))}
    problems = []
    for pid in sorted(set(truth) | set(kept)):
        expected = truth.get(pid, (0, 0, 0))
        found = kept.get(pid, (0, 0, 0))
        if expected != found:
            problems.append({"sku": _sku(session, pid), **{
                f"{name}_{side}": str(from_units(values[i]))
                for i, name in enumerate(("on_hand", "reserved", "incoming"))
                for side, values in (("ledger", expected), ("summary", found))}})
    return problems


def rebuild_levels(session) -> int:
    """Set every level to what the ledger and the orders say (the module's install); returns rows fixed."""
    truth = [(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in session.execute(text(LEDGER_SQL))]
    ensure_levels(session, [pid for pid, *values in truth if any(values)])
    fixed = 0
    for pid, on_hand, reserved, incoming in truth:
        result = session.execute(text(
            "UPDATE procurement_stock_level SET on_hand = :h, reserved = :r, incoming = :i WHERE product_id = :p "
            "AND (on_hand <> :h OR reserved <> :r OR incoming <> :i)"), {"p": pid, "h": on_hand, "r": reserved,
                                                                        "i": incoming})
        fixed += result.rowcount or 0
    return fixed


