"""The needs reorder rules raise (the rules: :mod:`plugins.procurement.services_rules`): set-based SQL,
shared by the hooks and the daily sweep.

A rule fires when a product's forecast (on hand + incoming − reserved, where incoming is every
open purchase order line, draft or confirmed, whatever its expected date) is below its minimum.
The quantity ordered is ``maximum − forecast`` — never ``minimum − forecast``, the peers' "first
order sized by the level" bug — raised to the supplier's minimum and rounded up to the pack size.
The need joins the product's line on the supplier's open draft (one draft per supplier, created if
needed), raising its quantity and re-pricing it at the price break it reaches, else it is a new line.
Drafts wait for a person's ``crm po confirm`` unless ``[procurement] confirm_generated = true``, which
confirms (sends) them in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, bindparam, text

from core.db import utcnow
from core.security import require
from plugins.procurement.services_stock import from_units, settings

CANDIDATES = "procurement_candidate"

# --- needs --------------------------------------------------------------------------------------

# Each rule's product below its minimum, in one statement (the sweep's cost is its index lookups per
# need, so none is made twice, and the common case makes fewest):
#  c: the forecast and the supplier: the rule's; else the product's only supplier; else, among several,
#     the preferred one, else the one whose first tier (lowest minimum) is cheapest (the only supplier
#     needs no ranking, whose sort per product was the costliest step). Materialized: SQLite would
#     otherwise inline c and choose the supplier again at every mention of it;
#  e: the line the product has on the supplier's open draft already (the need joins it), and the need
#     (max − forecast) rounded up to whole packs;
#  d: the quantity added: max − forecast, raised so that the line reaches the supplier's minimum order
#     (a line that joins holds part of it already), rounded up to whole packs. When the need's packs
#     alone bring the line to a tier, that is the quantity (rounding up the raised need gives the same
#     packs) and the minimum is not looked up;
#  tier: the price break the line's whole quantity reaches (the highest at or below it, the one just
#     found in the common case): price, lead time.
_SELECT_CANDIDATES = """
WITH c AS MATERIALIZED (
  SELECT r.id AS rule_id, r.product_id, r.maximum, r.multiple, r.lead_time_days,
         s.on_hand + s.incoming - s.reserved AS forecast,
         COALESCE(r.supplier_id, (
           SELECT CASE WHEN MIN(p.supplier_id) = MAX(p.supplier_id) THEN MIN(p.supplier_id) END
           FROM procurement_supplier_price p WHERE p.product_id = r.product_id), (
           SELECT p.supplier_id FROM procurement_supplier_price p
           WHERE p.product_id = r.product_id AND NOT EXISTS (
             SELECT 1 FROM procurement_supplier_price smaller
             WHERE smaller.product_id = p.product_id AND smaller.supplier_id = p.supplier_id
               AND smaller.minimum_quantity < p.minimum_quantity)
           ORDER BY p.preferred DESC, p.price, p.id LIMIT 1)) AS supplier_id
  FROM procurement_reorder_rule r JOIN procurement_stock_level s ON s.product_id = r.product_id
  WHERE r.active AND s.on_hand + s.incoming - s.reserved < r.minimum {only}
), e AS (
  SELECT c.product_id, c.rule_id, c.supplier_id, c.forecast, c.maximum - c.forecast AS need, c.multiple,
         (c.maximum - c.forecast + c.multiple - 1) / c.multiple * c.multiple AS packs,
         c.lead_time_days AS rule_lead_time, line.id AS line_id, line.quantity AS existing
  FROM c LEFT JOIN procurement_purchase_order_line line ON line.id = (
    SELECT MIN(l.id) FROM procurement_purchase_order_line l JOIN procurement_purchase_order po ON po.id = l.order_id
    WHERE l.product_id = c.product_id AND po.supplier_id = c.supplier_id AND po.state = 'draft')
), d AS (
  SELECT e.*, reached.id AS reached_id,
         CASE WHEN reached.id IS NOT NULL THEN e.packs ELSE (
           SELECT ((CASE WHEN e.need > COALESCE(MIN(sp.minimum_quantity), 0) - COALESCE(e.existing, 0) THEN e.need
                         ELSE COALESCE(MIN(sp.minimum_quantity), 0) - COALESCE(e.existing, 0) END)
                   + e.multiple - 1) / e.multiple * e.multiple
           FROM procurement_supplier_price sp WHERE sp.product_id = e.product_id AND sp.supplier_id = e.supplier_id)
         END AS quantity
  FROM e LEFT JOIN procurement_supplier_price reached ON reached.id = (
    SELECT sp.id FROM procurement_supplier_price sp
    WHERE sp.product_id = e.product_id AND sp.supplier_id = e.supplier_id
      AND sp.minimum_quantity <= e.packs + COALESCE(e.existing, 0)
    ORDER BY sp.minimum_quantity DESC LIMIT 1)
)
INSERT INTO {table} (product_id, rule_id, supplier_id, forecast, line_id, existing, quantity, unit_price, lead_time)
SELECT d.product_id, d.rule_id, d.supplier_id, d.forecast, d.line_id, d.existing, d.quantity,
       COALESCE(tier.price, 0), COALESCE(d.rule_lead_time, tier.lead_time_days, 0)
FROM d LEFT JOIN procurement_supplier_price tier ON tier.id = COALESCE(d.reached_id, (
  SELECT sp.id FROM procurement_supplier_price sp
  WHERE sp.product_id = d.product_id AND sp.supplier_id = d.supplier_id
    AND sp.minimum_quantity <= d.quantity + COALESCE(d.existing, 0)
  ORDER BY sp.minimum_quantity DESC LIMIT 1))
"""
_COLUMNS = ("product_id INTEGER PRIMARY KEY, rule_id INTEGER, supplier_id INTEGER, forecast BIGINT, line_id INTEGER, "
            "existing BIGINT, quantity BIGINT, unit_price BIGINT, lead_time INTEGER")
_CREATE = {
    "sqlite": f"CREATE TEMP TABLE IF NOT EXISTS {CANDIDATES} ({_COLUMNS})",
    "postgresql": f"CREATE TEMP TABLE IF NOT EXISTS {CANDIDATES} ({_COLUMNS}) ON COMMIT DELETE ROWS",
}
_EXPECTED = {"sqlite": "date(julianday(:today) + c.lead_time)", "postgresql": "CAST(:today AS DATE) + c.lead_time"}
# the candidate's supplier's open draft (each has one once _ensure_drafts ran), probed per line written
_DRAFT = ("(SELECT po.id FROM procurement_purchase_order po "
          "WHERE po.state = 'draft' AND po.supplier_id = c.supplier_id)")
# a line that joins: its quantity grows, it is re-priced at its new tier, and it records the latest raise
_RAISE = f"""
UPDATE procurement_purchase_order_line SET
  quantity = quantity + (SELECT c.quantity FROM {CANDIDATES} c WHERE c.product_id = procurement_purchase_order_line.product_id),
  unit_price = (SELECT c.unit_price FROM {CANDIDATES} c WHERE c.product_id = procurement_purchase_order_line.product_id),
  rule_id = (SELECT c.rule_id FROM {CANDIDATES} c WHERE c.product_id = procurement_purchase_order_line.product_id),
  forecast_quantity = (SELECT c.forecast FROM {CANDIDATES} c
                       WHERE c.product_id = procurement_purchase_order_line.product_id),
  raised_on = :today, trigger = :trigger, summarised = :no
WHERE id IN (SELECT line_id FROM {CANDIDATES} WHERE line_id IS NOT NULL)
"""


def _only(dialect: str, product_ids) -> tuple[str, dict, list]:
    if product_ids is None:
        return "", {}, []
    if product_ids is _SWEPT:
        return f"AND r.product_id IN (SELECT product_id FROM {LOCKED})", {}, []
    if dialect == "postgresql":
        return "AND r.product_id = ANY(:only)", {"only": list(product_ids)}, []
    return "AND r.product_id IN :only", {"only": list(product_ids)}, [bindparam("only", expanding=True)]


#: PostgreSQL sweep: the products it locked stay in the database (a temporary table), so that a million
#: ids never come to Python; ``_SWEPT`` stands for them where a list of ids would go
LOCKED = "procurement_locked"
_SWEPT = object()


def _lock_candidates(session) -> bool:
    """PostgreSQL sweep: lock the levels of every product below its minimum, in id order; any?"""
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {LOCKED} (product_id INTEGER PRIMARY KEY) "
                         "ON COMMIT DELETE ROWS"))
    session.execute(text(f"DELETE FROM {LOCKED}"))
    return session.execute(text(
        f"INSERT INTO {LOCKED} (product_id) SELECT s.product_id FROM procurement_stock_level s "
        "JOIN procurement_reorder_rule r ON r.product_id = s.product_id "
        "WHERE r.active AND s.on_hand + s.incoming - s.reserved < r.minimum "
        "ORDER BY s.product_id FOR UPDATE OF s")).rowcount > 0


def raise_needs(app, session, *, product_ids=None, trigger: str, today: dt.date | None = None,
                locked: bool = False, dry_run: bool = False, summarised: bool = False) -> dict:
    """Order what the rules of ``product_ids`` (default: every rule) need, in a few statements.

    A need joins the line its product has on the supplier's draft already (the quantity grows and the
    line is re-priced at the price break it now reaches), else becomes a new line of that draft. With
    ``[procurement] confirm_generated`` the orders written are confirmed (sent) at once.

    ``locked`` says the caller holds these products' locks already (the order hooks). Returns the
    counts (``lines`` written, of which ``lines_raised`` joined an existing line), the plan
    (``dry_run``: what would be ordered, nothing written) and the SKUs whose rule found no supplier.

    ``summarised``: the caller reports the new lines itself, in this transaction (the sweep's summary):
    they are written summarised already, and ``new_lines`` describes them (per order: how many, the
    first and last id, the quantity) with ``new_line_ids`` the first ``DETAILED_LINES`` of their ids. A
    line that joins is left to the summary's own search (it may have been raised unsummarised before).
    """
    today = today or app.today
    dialect = app.dialect
    if dialect == "postgresql" and not locked:
        if product_ids is None:
            product_ids = _SWEPT if _lock_candidates(session) else []
        else:
            product_ids = _lock_some(session, product_ids)
        if not product_ids:
            return _empty()
    elif product_ids is not None and not product_ids:
        return _empty()
    session.execute(text(_CREATE[dialect]))
    session.execute(text(f"DELETE FROM {CANDIDATES}"))
    _collect(session, dialect, product_ids)
    no_supplier = list(session.scalars(text(
        f"SELECT sku FROM core_product WHERE id IN (SELECT product_id FROM {CANDIDATES} WHERE supplier_id IS NULL) "
        "ORDER BY sku")))
    if dry_run:
        return {**_empty(), "no_supplier": no_supplier, "planned": _planned(session)}
    created = _ensure_drafts(app, session, today)
    stale = list(session.scalars(text(
        f"SELECT c.product_id FROM {CANDIDATES} c JOIN procurement_purchase_order_line l ON l.id = c.line_id "
        f"WHERE l.order_id <> {_DRAFT} ORDER BY c.product_id")))
    if stale:  # that draft was confirmed before we locked it: join (or start) the new draft instead
        session.execute(text(f"DELETE FROM {CANDIDATES} WHERE product_id IN :stale")
                        .bindparams(bindparam("stale", expanding=True)), {"stale": stale})
        _collect(session, dialect, stale)
    values = {"today": today, "trigger": trigger[:100], "no": False, "born": summarised}
    day, no, born = (bindparam("today", type_=Date()), bindparam("no", type_=Boolean()),
                     bindparam("born", type_=Boolean()))
    added, new_lines, new_line_ids = _add_lines(session, dialect, (day, born), values)
    raised = session.execute(text(_RAISE).bindparams(day, no), values).rowcount
    # Each need's level (it exists: the candidates come from the levels) gets its quantity as incoming: an
    # upsert for its plan, the candidates driving in key order, one probe per need (an UPDATE correlated to
    # them looked each up twice; UPDATE ... FROM made SQLite scan every level).
    session.execute(text(
        "INSERT INTO procurement_stock_level (product_id, on_hand, reserved, incoming) "
        f"SELECT c.product_id, 0, 0, c.quantity FROM {CANDIDATES} c WHERE c.supplier_id IS NOT NULL "
        "ORDER BY c.product_id ON CONFLICT (product_id) DO UPDATE "
        "SET incoming = procurement_stock_level.incoming + excluded.incoming"))
    # the drafts written, listed only when they are to be sent at once (else they wait for a person)
    order_ids = list(session.scalars(text(
        "SELECT id FROM procurement_purchase_order WHERE state = 'draft' AND supplier_id IN "
        f"(SELECT supplier_id FROM {CANDIDATES}) ORDER BY id"))) if settings(app)["confirm_generated"] else []
    session.execute(text(f"DELETE FROM {CANDIDATES}"))
    confirmed = _confirm_generated(app, session, order_ids, today) if order_ids else 0
    return {"lines": added + raised, "lines_raised": raised, "drafts_created": created, "orders_confirmed": confirmed,
            "no_supplier": no_supplier, "planned": [], "new_lines": new_lines, "new_line_ids": new_line_ids}


# The candidates without a line on their supplier's draft: each a new line of that draft, in product order.
_ADD = ("INSERT INTO procurement_purchase_order_line (order_id, product_id, quantity, received_quantity, unit_price, "
        "expected_date, rule_id, forecast_quantity, raised_on, trigger, summarised) "
        f"SELECT {_DRAFT}, c.product_id, c.quantity, 0, c.unit_price, {{expected}}, c.rule_id, c.forecast, "
        f":today, :trigger, :born FROM {CANDIDATES} c WHERE c.supplier_id IS NOT NULL AND c.line_id IS NULL "
        "ORDER BY c.product_id")


def _add_lines(session, dialect: str, dates, values: dict) -> tuple[int, dict, list[int]]:
    """Write the new lines: how many, and when they are born summarised (``values["born"]``) per order
    ``(count, first id, last id, quantity)`` and their first ids. PostgreSQL sums them up as it writes
    them (a row per order comes back); on SQLite, whose RETURNING cannot feed a query, they are the lines
    past the last id before (this transaction holds the database's only write lock)."""
    from plugins.procurement.services_alerts import DETAILED_LINES

    insert = _ADD.format(expected=_EXPECTED[dialect])
    if not values["born"]:
        return session.execute(text(insert).bindparams(*dates), values).rowcount, {}, []
    limit = {"detailed": DETAILED_LINES}
    if dialect == "postgresql":
        rows = session.execute(text(
            f"WITH added AS ({insert} RETURNING id, order_id, quantity) "
            "SELECT order_id, COUNT(*), MIN(id), MAX(id), SUM(quantity), "
            "(SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM added ORDER BY id LIMIT :detailed) earliest) "
            "FROM added GROUP BY order_id").bindparams(*dates), {**values, **limit}).all()
        groups, first_ids = {row[0]: tuple(row[1:5]) for row in rows}, (rows[0][5] if rows else [])
    else:
        before = {"before": session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM procurement_purchase_order_line"))}
        session.execute(text(insert).bindparams(*dates), values)
        groups = {row[0]: tuple(row[1:]) for row in session.execute(text(
            "SELECT order_id, COUNT(*), MIN(id), MAX(id), SUM(quantity) FROM procurement_purchase_order_line "
            "WHERE id > :before GROUP BY order_id"), before)}
        first_ids = list(session.scalars(text(
            "SELECT id FROM procurement_purchase_order_line WHERE id > :before ORDER BY id LIMIT :detailed"),
            {**before, **limit})) if groups else []
    return sum(count for count, *_ in groups.values()), groups, first_ids


def _collect(session, dialect: str, product_ids) -> None:
    """Write the needs of ``product_ids`` (None: every rule) into the candidates table."""
    only, params, binds = _only(dialect, product_ids)
    session.execute(text(_SELECT_CANDIDATES.format(only=only, table=CANDIDATES)).bindparams(*binds), params)


def _empty() -> dict:
    return {"lines": 0, "lines_raised": 0, "drafts_created": 0, "orders_confirmed": 0, "no_supplier": [],
            "planned": [], "new_lines": {}, "new_line_ids": []}


def _confirm_generated(app, session, order_ids: list[int], today: dt.date) -> int:
    """``[procurement] confirm_generated = true``: confirm (send) the orders just written, in this
    transaction. A supplier without an address keeps its draft, and purchasing is told."""
    from core.outbox import resolve_recipients
    from plugins.procurement.services_alerts import notify_purchasing
    from plugins.procurement.services_purchase import confirm_purchase_order, get_purchase_order

    confirmed = 0
    for order_id in order_ids:  # supplier order = id order of the drafts, the order they were locked in
        order = get_purchase_order(session, order_id, lock=True)
        if resolve_recipients(session, f"partner:{order.supplier_id}"):
            confirm_purchase_order(app, session, order_id)
            confirmed += 1
            continue
        notify_purchasing(app, session, subject=f"Not sent: purchase order {order.number} ({order.supplier.name})",
                          text=f"Purchase order {order.number} was generated and should have been confirmed "
                               f"([procurement] confirm_generated = true), but supplier {order.supplier.name} has no "
                               f"e-mail address. It waits as a draft: add the address "
                               f"(crm partner update {order.supplier_id} --email ...), then crm po confirm "
                               f"{order.number}.\n",
                          dedup_key=f"procurement:po-unsent:{order.number}:{today.isoformat()}",
                          related=f"procurement_purchase_order:{order.id}")
    return confirmed


def _lock_some(session, product_ids) -> list[int]:
    return list(session.scalars(text("SELECT product_id FROM procurement_stock_level WHERE product_id = ANY(:ids) "
                                     "ORDER BY product_id FOR UPDATE"), {"ids": sorted(set(product_ids))}))


def _ensure_drafts(app, session, today: dt.date) -> int:
    """Make sure each supplier of the candidates has an open draft (created in supplier order) and,
    on PostgreSQL, hold its lock so nobody confirms it under our feet. Returns how many were created."""
    created = 0
    for _attempt in range(5):
        inserted = session.execute(text(
            "INSERT INTO procurement_purchase_order (supplier_id, state, order_date, created_at) "
            f"SELECT DISTINCT supplier_id, 'draft', :today, :now FROM {CANDIDATES} WHERE supplier_id IS NOT NULL "
            "ORDER BY supplier_id ON CONFLICT (supplier_id) WHERE state = 'draft' DO NOTHING")
            .bindparams(bindparam("today", type_=Date()), bindparam("now", type_=DateTime())),
            {"today": today, "now": utcnow()}).rowcount
        created += max(inserted or 0, 0)
        session.execute(text(f"UPDATE procurement_purchase_order SET number = {_NUMBER[app.dialect]} "
                             "WHERE number IS NULL"))
        if app.dialect != "postgresql":
            return created
        wanted = session.scalar(text(f"SELECT COUNT(DISTINCT supplier_id) FROM {CANDIDATES} "
                                     "WHERE supplier_id IS NOT NULL"))
        held = session.execute(text(
            "SELECT id FROM procurement_purchase_order WHERE state = 'draft' AND supplier_id IN "
            f"(SELECT supplier_id FROM {CANDIDATES}) ORDER BY supplier_id FOR UPDATE")).all()
        if len(held) == wanted:
            return created
        # a draft was confirmed or cancelled while we waited for its lock: make a new one
    raise RuntimeError("could not hold a draft purchase order for every supplier (too much contention)")


def purchase_number(po_id: int, day: dt.date) -> str:
    """A purchase order's number: PO, its year, its id on at least six digits (``_NUMBER`` in SQL)."""
    return f"PO{day.year}-{po_id:06d}"


# purchase_number() for the drafts just made, in one statement (row by row from Python cost more than
# the drafts' insert)
_NUMBER = {
    "sqlite": "'PO' || strftime('%Y', order_date) || '-' || printf('%06d', id)",
    "postgresql": "'PO' || to_char(order_date, 'YYYY') || '-' "
                  "|| lpad(CAST(id AS TEXT), GREATEST(6, length(CAST(id AS TEXT))), '0')",
}


def _planned(session) -> list[dict]:
    """The dry run's plan: per product, the quantity that would be added and the price it would get."""
    rows = session.execute(text(
        f"SELECT p.sku, partner.name, c.forecast, c.quantity, c.unit_price, po.number, c.line_id FROM {CANDIDATES} c "
        "JOIN core_product p ON p.id = c.product_id LEFT JOIN core_partner partner ON partner.id = c.supplier_id "
        "LEFT JOIN procurement_purchase_order po ON po.supplier_id = c.supplier_id AND po.state = 'draft' "
        "ORDER BY p.sku")).all()
    session.execute(text(f"DELETE FROM {CANDIDATES}"))
    return [{"sku": sku, "supplier": supplier, "forecast": str(from_units(forecast)),
             "quantity": str(from_units(quantity)) if supplier else None,
             "unit_price": str(Decimal(int(price or 0)).scaleb(-4).quantize(Decimal("0.0001"))),
             "purchase_order": number or ("new draft" if supplier else None),
             "joins_line": line_id is not None}
            for sku, supplier, forecast, quantity, price, number, line_id in rows]


# --- the sweep ----------------------------------------------------------------------------------

def run_reorder(app, session, *, today: dt.date | None = None, dry_run: bool = False) -> dict:
    """Evaluate every rule at once; one summary to purchasing. A failure of the set-based pass (a bad
    rule) falls back to one savepoint per rule, so the bad rule fails alone and is named."""
    require(app, session, "procurement.reorder.run")
    from core.scheduler import isolate
    from plugins.procurement.services_alerts import send_summary

    today = today or app.today
    if app.dialect == "postgresql":
        # the temporary tables' unknown sizes push the estimates past ``jit_above_cost``: PostgreSQL would
        # compile index probes it runs once (a fifth of the sweep's time on 100,000 rules)
        session.execute(text("SET LOCAL jit = off"))
    savepoint = session.begin_nested()
    try:
        # its new lines are the summary's below: written summarised, not marked so after (a second write of
        # each line, whose foreign keys PostgreSQL checks again in the transaction that inserted it)
        result = raise_needs(app, session, trigger="reorder run", today=today, dry_run=dry_run, summarised=True)
        savepoint.commit()
    except Exception:  # one bad rule must not stop the others: redo rule by rule
        savepoint.rollback()
        if dry_run:
            raise
        result = _empty()
        for product_id, sku in _rules_below_minimum(session):
            with isolate(session, f"reorder rule {sku}"):
                one = raise_needs(app, session, product_ids=[product_id], trigger="reorder run", today=today)
                for key in ("lines", "lines_raised", "drafts_created", "orders_confirmed", "no_supplier"):
                    result[key] += one[key]
    if dry_run:
        return result
    counts = {key: result[key] for key in ("lines", "lines_raised", "drafts_created", "orders_confirmed")}
    counts["no_supplier"] = len(result["no_supplier"])
    counts.update(send_summary(app, session, day=today, no_supplier=result["no_supplier"],
                               new_lines=result["new_lines"], new_line_ids=result["new_line_ids"]))
    return {**counts, "products_without_supplier": result["no_supplier"]}


def _rules_below_minimum(session) -> list[tuple[int, str]]:
    return [tuple(r) for r in session.execute(text(
        "SELECT r.product_id, p.sku FROM procurement_reorder_rule r JOIN core_product p ON p.id = r.product_id "
        "JOIN procurement_stock_level s ON s.product_id = r.product_id "
        "WHERE r.active AND s.on_hand + s.incoming - s.reserved < r.minimum ORDER BY r.product_id"))]


def reorder_job(app, session, as_of: dt.date) -> dict:
    """The daily ``procurement.reorder`` job (one transaction, run by ``crm jobs run``)."""
    result = run_reorder(app, session, today=as_of)
    result.pop("products_without_supplier", None)
    return result
