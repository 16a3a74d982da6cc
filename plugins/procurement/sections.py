"""Procurement's part of the period report and of the plan (``crm report period``, ``crm plan``).

The report says what purchasing did in the period (orders sent and goods received, per supplier),
what is still open and what stands below its minimum today. The plan says what to buy for a
coming period: the weighted pipeline's demand (the ``expected_demand`` hook, which the funnel
answers) against each product's forecast and reorder rule, per supplier, with the last day to
order given the lead time. Figures come from SQL aggregates over the scaled integer columns
(thousandths of a unit, ten-thousandths of a currency unit), so every sum is exact; procurement
is company-wide, so a report for one team shows the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import Date, bindparam, text

from core.reports import Chart, Section
from core.types import round_money

QUANTITY = Decimal("0.001")
#: products listed one by one under "below minimum" (the count covers them all)
LISTED = 100
#: bars in the "furthest below minimum" chart
CHARTED = 10

# A line's amount excl. VAT in cents, rounded half up like ``round_money`` (quantity in 1e-3 ×
# price in 1e-4 = 1e-7 units; + 50,000 then integer division by 100,000 gives cents).
_LINE_CENTS = "((l.quantity * l.unit_price + 50000) / 100000)"
_DAYS = (bindparam("start", type_=Date()), bindparam("end", type_=Date()))

_CONFIRMED = f"""
SELECT po.supplier_id, partner.name, po.confirmed_at, COUNT(DISTINCT po.id), COALESCE(SUM({_LINE_CENTS}), 0)
FROM procurement_purchase_order po JOIN core_partner partner ON partner.id = po.supplier_id
LEFT JOIN procurement_purchase_order_line l ON l.order_id = po.id
WHERE po.confirmed_at BETWEEN :start AND :end AND po.state <> 'cancelled'
GROUP BY po.supplier_id, partner.name, po.confirmed_at
"""
_RECEIVED = """
SELECT po.supplier_id, partner.name, COUNT(*), SUM(m.quantity), SUM((m.quantity * l.unit_price + 50000) / 100000)
FROM procurement_stock_move m JOIN procurement_purchase_order_line l ON l.id = m.purchase_order_line_id
JOIN procurement_purchase_order po ON po.id = l.order_id JOIN core_partner partner ON partner.id = po.supplier_id
WHERE m.kind = 'receipt' AND m.move_date BETWEEN :start AND :end
GROUP BY po.supplier_id, partner.name ORDER BY 5 DESC, partner.name
"""
# what is still due on each open order, and the sent ones with a line past its expected date
_OPEN = """
SELECT po.state, COUNT(DISTINCT po.id),
       COALESCE(SUM(((l.quantity - l.received_quantity) * l.unit_price + 50000) / 100000), 0),
       COUNT(DISTINCT CASE WHEN po.state <> 'draft' AND l.quantity > l.received_quantity
                           AND l.expected_date < :today THEN po.id END)
FROM procurement_purchase_order po LEFT JOIN procurement_purchase_order_line l ON l.order_id = po.id
WHERE po.state IN ('draft', 'confirmed', 'partial') GROUP BY po.state
"""
_FORECAST = "(COALESCE(s.on_hand, 0) + COALESCE(s.incoming, 0) - COALESCE(s.reserved, 0))"
_BELOW = f"""
SELECT p.sku, p.name, COALESCE(s.on_hand, 0), COALESCE(s.reserved, 0), COALESCE(s.incoming, 0), {_FORECAST},
       r.minimum, r.minimum - {_FORECAST}, COUNT(*) OVER ()
FROM procurement_reorder_rule r JOIN core_product p ON p.id = r.product_id
LEFT JOIN procurement_stock_level s ON s.product_id = r.product_id
WHERE r.active AND {_FORECAST} < r.minimum
ORDER BY r.minimum - {_FORECAST} DESC, p.sku LIMIT {LISTED}
"""
# The plan's products: rules below their minimum now, and every product the pipeline will sell.
# The supplier is chosen as the reorder rules choose it: the rule's, else the preferred one, else
# the one whose first price break is cheapest.
_NEEDS = f"""
SELECT x.*, partner.name AS supplier_name FROM (
  SELECT p.id AS product_id, p.sku, p.name AS product_name, {_FORECAST} AS forecast,
         r.id AS rule_id, r.minimum, r.maximum, r.multiple, r.lead_time_days,
         COALESCE(r.supplier_id, (
           SELECT sp.supplier_id FROM procurement_supplier_price sp
           WHERE sp.product_id = p.id AND NOT EXISTS (
             SELECT 1 FROM procurement_supplier_price smaller
             WHERE smaller.product_id = sp.product_id AND smaller.supplier_id = sp.supplier_id
               AND smaller.minimum_quantity < sp.minimum_quantity)
           ORDER BY sp.preferred DESC, sp.price, sp.id LIMIT 1)) AS supplier_id
  FROM core_product p LEFT JOIN procurement_stock_level s ON s.product_id = p.id
  LEFT JOIN procurement_reorder_rule r ON r.product_id = p.id AND r.active
  WHERE p.stockable AND ((r.id IS NOT NULL AND {_FORECAST} < r.minimum) OR p.id IN :demanded)
) x LEFT JOIN core_partner partner ON partner.id = x.supplier_id
"""
_TIERS = """
SELECT product_id, supplier_id, minimum_quantity, price, lead_time_days FROM procurement_supplier_price
WHERE product_id IN :ids ORDER BY product_id, supplier_id, minimum_quantity
"""


def _quantity(units) -> Decimal:
    """Thousandths stored as an integer -> an exact quantity."""
    return Decimal(int(units or 0)).scaleb(-3).quantize(QUANTITY)


def _price(units) -> Decimal:
    return Decimal(int(units or 0)).scaleb(-4).quantize(Decimal("0.0001"))


def _cents(value) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2).quantize(Decimal("0.01"))


def _day(value) -> dt.date | None:
    """A date column read through ``text()`` (ISO text on SQLite)."""
    return value if value is None or isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _money_label(app, amount: Decimal) -> str:
    return f"{amount} {app.config.company.currency}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- the period report --------------------------------------------------------------------------

def report_section(app, session, period) -> Section:
    """Purchases of the period (sent, received), open orders and stock below minimum as of today."""
    dates = {"start": period.start, "end": period.end}
    suppliers: dict[int, dict] = {}
    per_day: dict[dt.date, Decimal] = defaultdict(Decimal)
    for supplier_id, name, confirmed_on, count, amount in session.execute(
            text(_CONFIRMED).bindparams(*_DAYS), dates):
        row = suppliers.setdefault(supplier_id, {"supplier_id": supplier_id, "supplier": name, "count": 0,
                                                 "untaxed": Decimal("0.00")})
        row["count"] += int(count)
        row["untaxed"] += _cents(amount)
        per_day[_day(confirmed_on)] += _cents(amount)
    confirmed = sorted(suppliers.values(), key=lambda r: (-r["untaxed"], r["supplier"]))
    received = [{"supplier_id": supplier_id, "supplier": name, "receipts": int(count), "quantity": _quantity(units),
                 "amount": _cents(amount)}
                for supplier_id, name, count, units, amount in session.execute(text(_RECEIVED).bindparams(*_DAYS),
                                                                                dates)]
    open_states = {state: {"count": 0, "remaining": Decimal("0.00"), "late": 0}
                   for state in ("draft", "confirmed", "partial")}
    for state, count, remaining, late in session.execute(text(_OPEN).bindparams(bindparam("today", type_=Date())),
                                                          {"today": period.today}):
        open_states[state] = {"count": int(count), "remaining": _cents(remaining), "late": int(late)}
    below, below_count = [], 0
    for sku, name, on_hand, reserved, incoming, forecast, minimum, shortfall, total in session.execute(text(_BELOW)):
        below_count = int(total)
        below.append({"sku": sku, "name": name, "on_hand": _quantity(on_hand), "reserved": _quantity(reserved),
                      "incoming": _quantity(incoming), "forecast": _quantity(forecast), "minimum": _quantity(minimum),
                      "shortfall": _quantity(shortfall)})
    weeks = [(f"W{monday.isocalendar()[1]:02d}",
              sum((amount for d, amount in per_day.items() if monday <= d < monday + dt.timedelta(days=7)),
                  Decimal("0.00"))) for monday in period.weeks()]

    data = {
        "as_of": period.today.isoformat(),
        "confirmed": {"count": sum(r["count"] for r in confirmed),
                      "untaxed": sum((r["untaxed"] for r in confirmed), Decimal("0.00")), "per_supplier": confirmed},
        "received": {"receipts": sum(r["receipts"] for r in received),
                     "quantity": sum((r["quantity"] for r in received), Decimal("0.000")),
                     "amount": sum((r["amount"] for r in received), Decimal("0.00")), "per_supplier": received},
        "open": {"count": sum(s["count"] for s in open_states.values()),
                 "remaining": sum((s["remaining"] for s in open_states.values()), Decimal("0.00")),
                 "late": sum(s["late"] for s in open_states.values()), "per_state": open_states},
        "below_minimum": {"count": below_count, "products": below},
    }
    charts = {
        "below_minimum": Chart("Furthest below minimum (units short)",
                               [(r["sku"], r["shortfall"]) for r in below[:CHARTED]], kind="bars"),
        "purchases_per_week": Chart("Purchase orders sent per week (excl. VAT)", weeks, unit="money"),
    }
    summary = [
        ("purchase orders sent", f"{data['confirmed']['count']}, {_money_label(app, data['confirmed']['untaxed'])}"),
        ("goods received", f"{_plural(data['received']['receipts'], 'receipt')}, "
                           f"{_money_label(app, data['received']['amount'])}"),
        ("open purchase orders", f"{data['open']['count']}, {_money_label(app, data['open']['remaining'])} due, "
                                 f"{data['open']['late']} late"),
        ("below minimum today", str(below_count)),
    ]
    return Section(key="procurement", title="Purchases and stock", template="procurement/report_section.html",
                   data=data, order=40, summary=summary, charts=charts)


# --- the plan -----------------------------------------------------------------------------------

def pipeline_demand(app, session, start: dt.date, end: dt.date) -> dict[int, list[tuple[dt.date, Decimal]]]:
    """The pipeline's weighted demand per product, dated, from every module answering the hook."""
    demand: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for answer in app.call("expected_demand", app=app, session=session, start=start, end=end):
        for item in answer or []:
            on = _day(item["expected_on"])
            if start <= on <= end and Decimal(item["quantity"]) > 0:
                demand[int(item["product_id"])].append((on, Decimal(item["quantity"])))
    return demand


def plan_section(app, session, period) -> Section:
    """What to buy for the period, per supplier, with the last day to order (flagged when past)."""
    demand = pipeline_demand(app, session, period.start, period.end)
    rows = session.execute(text(_NEEDS).bindparams(bindparam("demanded", expanding=True)),
                           {"demanded": sorted(demand)}).mappings().all()
    tiers: dict[tuple[int, int], list] = defaultdict(list)
    if rows:
        for product_id, supplier_id, minimum, unit_price, lead in session.execute(
                text(_TIERS).bindparams(bindparam("ids", expanding=True)), {"ids": [r["product_id"] for r in rows]}):
            tiers[(product_id, supplier_id)].append((_quantity(minimum), _price(unit_price), lead))
    per_supplier: dict[int | None, dict] = {}
    for row in rows:
        line = plan_line(row, demand.get(row["product_id"], []), tiers.get((row["product_id"], row["supplier_id"]), []),
                         period.today)
        if line is None:
            continue
        key = row["supplier_id"]
        group = per_supplier.setdefault(key, {"supplier_id": key, "supplier": row["supplier_name"], "lines": [],
                                              "amount": Decimal("0.00"), "late": 0, "order_by": None})
        group["lines"].append(line)
        group["amount"] += line["amount"]
        group["late"] += int(line["late"])
        group["order_by"] = min(filter(None, [group["order_by"], line["order_by"]]))
    for group in per_supplier.values():
        group["lines"].sort(key=lambda l: (l["order_by"], l["sku"]))
    unsourced = per_supplier.pop(None, {"lines": []})["lines"]
    suppliers = sorted(per_supplier.values(), key=lambda g: (g["order_by"], g["supplier"]))
    total = sum((g["amount"] for g in suppliers), Decimal("0.00"))
    late = sum(g["late"] for g in suppliers)
    data = {"as_of": period.today.isoformat(), "demand_products": len(demand), "suppliers": suppliers,
            "amount": total, "lines": sum(len(g["lines"]) for g in suppliers), "late": late,
            "without_supplier": unsourced}
    summary = [("to order", f"{_plural(data['lines'], 'product')} from {_plural(len(suppliers), 'supplier')}, "
                            f"{_money_label(app, total)}"),
               ("late to order", _plural(late, "product"))]
    if unsourced:
        skus = [line["sku"] for line in unsourced]
        more = f" and {len(skus) - 10} more" if len(skus) > 10 else ""
        summary.append(("without supplier", ", ".join(skus[:10]) + more))
    chart = Chart("To order per supplier (excl. VAT)", [(g["supplier"], g["amount"]) for g in suppliers],
                  unit="money", kind="bars")
    return Section(key="procurement", title="Purchases to plan", template="procurement/plan_section.html",
                   data=data, order=40, summary=summary, charts={"per_supplier": chart})


def plan_line(row, demand: list[tuple[dt.date, Decimal]], tiers: list, today: dt.date) -> dict | None:
    """One product's need for the period, or None when its forecast covers the demand.

    forecast = on hand + incoming − reserved (today); projected = forecast − the period's demand.
    With a rule the need appears below its minimum and orders up to its maximum; without one, below
    zero and orders what is missing. Quantity: at least the supplier's minimum, rounded up to the
    pack size (1 without a rule). Needed on: today if the forecast is short already, else the day
    the demand takes it below the threshold; order by = needed on − lead time.
    """
    forecast = _quantity(row["forecast"])
    has_rule = row["rule_id"] is not None
    threshold = _quantity(row["minimum"]) if has_rule else Decimal(0)
    wanted = sum((q for _, q in demand), Decimal(0))
    projected = forecast - wanted
    if projected >= threshold:
        return None
    needed_on = today
    if forecast >= threshold:
        running = forecast
        for on, amount in sorted(demand):
            running -= amount
            if running < threshold:
                needed_on = on
                break
    need = (_quantity(row["maximum"]) if has_rule else Decimal(0)) - projected
    supplier_minimum = tiers[0][0] if tiers else Decimal(0)
    multiple = _quantity(row["multiple"]) if has_rule else Decimal(1)
    ordered = (max(need, supplier_minimum) / multiple).to_integral_value(ROUND_CEILING) * multiple
    reached = [tier for tier in tiers if tier[0] <= ordered]
    unit_price, tier_lead = (reached[-1][1], reached[-1][2]) if reached else (Decimal("0.0000"), None)
    lead = row["lead_time_days"] if row["lead_time_days"] is not None else (tier_lead or 0)
    order_by = needed_on - dt.timedelta(days=lead)
    return {"sku": row["sku"], "name": row["product_name"],
            "forecast": forecast, "demand": _exact(wanted), "projected": _exact(projected),
            "minimum": _quantity(row["minimum"]) if has_rule else None,
            "maximum": _quantity(row["maximum"]) if has_rule else None,
            "quantity": ordered.quantize(QUANTITY), "unit_price": unit_price,
            "amount": round_money(ordered * unit_price), "lead_time_days": lead, "needed_on": needed_on,
            "order_by": order_by, "late": order_by < today}


def _exact(value: Decimal) -> Decimal:
    """A weighted quantity with thousandths when that is exact, else all its decimals."""
    return value.quantize(QUANTITY) if value == value.quantize(QUANTITY) else value
