"""Messages to purchasing: alerts, and the one summary per reorder run of what was drafted."""

from __future__ import annotations

import hashlib

from sqlalchemy import Boolean, bindparam, text

from core.outbox import notify, resolve_recipients


def purchasing_recipients(session) -> list[str]:
    """The purchasing team's addresses; the admins when nobody has the purchasing role."""
    return resolve_recipients(session, "role:purchasing") or resolve_recipients(session, "role:admin")


def notify_purchasing(app, session, *, subject: str, dedup_key: str, text: str = "", related: str | None = None,
                      template: str | None = None, context: dict | None = None) -> bool:
    """Write a message to purchasing in the outbox (worded now from ``text``, or at delivery from
    ``template`` and ``context``); False when nobody can receive it (no purchasing or admin user
    with an address) or it was written already (same ``dedup_key``)."""
    recipients = purchasing_recipients(session)
    if not recipients:
        return False
    return notify(app, session, recipients=recipients, subject=subject, text=text, related=related,
                  dedup_key=dedup_key, template=template, context=context)


def alert_no_supplier(app, session, skus: list[str], *, trigger: str, day=None) -> int:
    """Tell purchasing, at once, that these products fell below their reorder minimum with no supplier
    to order from: one message per product per day (the dedup key), however many sales follow.
    Returns how many were written."""
    day = day or app.today
    rows = session.execute(text(
        "SELECT p.sku, s.on_hand + s.incoming - s.reserved, r.minimum FROM core_product p "
        "JOIN procurement_stock_level s ON s.product_id = p.id "
        "JOIN procurement_reorder_rule r ON r.product_id = p.id AND r.active "
        "WHERE p.sku IN :skus ORDER BY p.sku").bindparams(bindparam("skus", expanding=True)), {"skus": list(skus)})
    from plugins.procurement.services_stock import from_units

    sent = 0
    for sku, forecast, minimum in rows:
        sent += notify_purchasing(
            app, session, subject=f"No supplier for {sku}: forecast {from_units(forecast)} below its minimum",
            text=f"Product {sku} fell below its reorder minimum ({trigger}): forecast {from_units(forecast)}, "
                 f"minimum {from_units(minimum)}.\nNothing was ordered: it has no supplier. Add one "
                 f"(crm supplier price add --supplier NAME --sku {sku} --price P --preferred), "
                 f"then run crm reorder run.\n",
            dedup_key=f"procurement:no-supplier:{day.isoformat()}:{sku}")
    return sent


_UNSUMMARISED = """
SELECT pl.order_id, COUNT(*), MIN(pl.id), MAX(pl.id), SUM(pl.quantity) FROM procurement_purchase_order_line pl
WHERE {unsummarised} GROUP BY pl.order_id
"""
_ORDERS = """
SELECT po.id, po.number, po.state, partner.name,
       (SELECT COUNT(*) FROM procurement_purchase_order_line other WHERE other.order_id = po.id)
FROM procurement_purchase_order po JOIN core_partner partner ON partner.id = po.supplier_id
WHERE po.id IN :ids ORDER BY po.number
"""
#: lines listed one by one in the summary; beyond that, per order counts only
DETAILED_LINES = 100
_DETAILS = """
SELECT pl.order_id, p.sku, pl.quantity, pl.forecast_quantity, pl.trigger FROM procurement_purchase_order_line pl
JOIN core_product p ON p.id = pl.product_id WHERE ({unsummarised} OR pl.id IN :new) ORDER BY pl.id LIMIT :limit
"""


def send_summary(app, session, *, day, no_supplier: list[str], new_lines: dict | None = None,
                 new_line_ids: list[int] = ()) -> dict:
    """One message to purchasing: the purchase order lines raised since the last summary, grouped by
    order, and the products whose rule has no supplier. Marks those lines summarised.

    ``new_lines`` are lines the caller wrote summarised already, in this transaction, to be told here too:
    per order ``(count, first id, last id, quantity)``, and ``new_line_ids`` the first ``DETAILED_LINES``
    of their ids (``raise_needs(..., summarised=True)`` gives both)."""
    from plugins.procurement.services_stock import from_units

    unsummarised = "NOT pl.summarised" if app.dialect == "postgresql" else "pl.summarised = 0"
    found = {row[0]: tuple(row[1:]) for row in session.execute(text(_UNSUMMARISED.format(unsummarised=unsummarised)))}
    groups = dict(found)
    for po_id, (count, first, last, quantity) in (new_lines or {}).items():
        before = groups.get(po_id, (0, first, last, 0))
        groups[po_id] = (before[0] + count, min(before[1], first), max(before[2], last), before[3] + quantity)
    orders: dict = {}
    if groups:
        for po_id, number, state, supplier, count in session.execute(
                text(_ORDERS).bindparams(bindparam("ids", expanding=True)), {"ids": list(groups)}):
            orders[po_id] = {"number": number, "state": state, "supplier": supplier, "line_count": int(count),
                             "new_lines": int(groups[po_id][0]), "lines": []}
        for po_id, sku, quantity, forecast, trigger in session.execute(
                text(_DETAILS.format(unsummarised=unsummarised)).bindparams(bindparam("new", expanding=True)),
                {"limit": DETAILED_LINES, "new": list(new_line_ids)}):
            orders[po_id]["lines"].append({"sku": sku, "quantity": from_units(quantity), "trigger": trigger,
                                           "forecast": None if forecast is None else from_units(forecast)})
    if not orders and not no_supplier:
        return {"summary_sent": 0}
    total = sum(order["new_lines"] for order in orders.values())
    drafts = all(order["state"] == "draft" for order in orders.values())
    subject = (f"Reorder {day.isoformat()}: {total} line{'s' if total != 1 else ''} "
               f"on {len(orders)} {'draft ' if drafts else ''}purchase order{'s' if len(orders) != 1 else ''}")
    if no_supplier:
        subject += f", {len(no_supplier)} product{'s' if len(no_supplier) != 1 else ''} without supplier"
    last = max((int(row[2]) for row in groups.values()), default=0)
    # A rerun that raised nothing new sends nothing; the same alert twice in a day is sent once. A line
    # raised again (a need joined it) is summarised again: its quantity is part of the key.
    lines = f"{last}.{sum(int(row[0]) for row in groups.values())}.{sum(int(row[3]) for row in groups.values())}"
    digest = hashlib.sha1("\n".join(no_supplier).encode()).hexdigest()[:12]
    if not groups and _alerted(session, day, digest):
        return {"summary_sent": 0}
    # Worded when delivered (the job only stores the figures): a run drafting 500 orders stays fast.
    sent = notify_purchasing(app, session, subject=subject, template="procurement/reorder_summary",
                             context={"day": day.isoformat(), "orders": list(orders.values()),
                                      "no_supplier": no_supplier},
                             dedup_key=f"procurement:reorder-summary:{day.isoformat()}:{lines}:{digest}")
    if found:  # the lines told that were not summarised yet (up to the last one seen: none told unseen)
        session.execute(text("UPDATE procurement_purchase_order_line SET summarised = :yes "
                             f"WHERE {unsummarised.replace('pl.', '')} AND id <= :last")
                        .bindparams(bindparam("yes", type_=Boolean())),
                        {"last": max(int(row[2]) for row in found.values()), "yes": True})
    return {"summary_sent": int(sent)}


def _alerted(session, day, digest: str) -> bool:
    """Purchasing heard about these products without supplier today already."""
    from sqlalchemy import select

    from core.outbox import Notification

    pattern = f"procurement:reorder-summary:{day.isoformat()}:%:{digest}"
    return session.execute(select(Notification.id).where(Notification.dedup_key.like(pattern)).limit(1)).first() \
        is not None
