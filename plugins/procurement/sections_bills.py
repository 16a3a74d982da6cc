"""Supplier bills in the period report (received, paid, held) and cash out in the plan.

Cash out per week of the plan: the bills still to pay by their due date (those overdue count in
the first week), and what the purchase orders will still bill — each line's ordered quantity not
billed yet at its price plus VAT, due ``[procurement] bill_payment_days`` after its expected date
(today when it has none). Money sums come from SQL over the scaled integer columns (exact).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Date, bindparam, text

from core.reports import Chart, Section

CENTS = Decimal("0.01")
_RECEIVED = """
SELECT COUNT(*), COALESCE(SUM(total), 0) FROM procurement_supplier_bill WHERE received_on BETWEEN :start AND :end
"""
_PAID = """
SELECT COUNT(*), COALESCE(SUM(total), 0) FROM procurement_supplier_bill
WHERE state = 'paid' AND paid_on BETWEEN :start AND :end
"""
_HELD = "SELECT COUNT(*), COALESCE(SUM(total), 0) FROM procurement_supplier_bill WHERE state = 'held'"
_TO_PAY = """
SELECT due_date, SUM(total) FROM procurement_supplier_bill
WHERE state IN ('approved', 'held', 'paying') AND due_date <= :end GROUP BY due_date
"""
# the ordered quantity still to bill (thousandths) × price (ten-thousandths) × (1 + VAT): in 1e-7 units
_TO_BILL = """
SELECT l.expected_date, SUM((l.quantity - COALESCE(b.billed, 0)) * l.unit_price * (10000 + p.vat_rate))
FROM procurement_purchase_order_line l
JOIN procurement_purchase_order po ON po.id = l.order_id
JOIN core_product p ON p.id = l.product_id
LEFT JOIN (SELECT bl.purchase_order_line_id AS line_id, SUM(bl.quantity) AS billed
           FROM procurement_supplier_bill_line bl JOIN procurement_supplier_bill sb ON sb.id = bl.bill_id
           WHERE sb.state <> 'disputed' AND bl.purchase_order_line_id IS NOT NULL
           GROUP BY bl.purchase_order_line_id) b ON b.line_id = l.id
WHERE po.state IN ('confirmed', 'partial', 'received') AND l.quantity > COALESCE(b.billed, 0)
GROUP BY l.expected_date
"""


def _money(value) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2).quantize(CENTS)


def report_bills_section(app, session, period) -> Section:
    """Bills received and paid in the period, and held today."""
    days = {"start": period.start, "end": period.end}
    typed = (bindparam("start", type_=Date()), bindparam("end", type_=Date()))
    received = session.execute(text(_RECEIVED).bindparams(*typed), days).one()
    paid = session.execute(text(_PAID).bindparams(*typed), days).one()
    held = session.execute(text(_HELD)).one()
    data = {"received": {"count": received[0], "total": _money(received[1])},
            "paid": {"count": paid[0], "total": _money(paid[1])},
            "held": {"count": held[0], "total": _money(held[1])}}
    currency = app.config.company.currency
    summary = [(label, f"{data[key]['count']}, {data[key]['total']} {currency}")
               for key, label in (("received", "bills received"), ("paid", "bills paid"), ("held", "bills held"))]
    return Section(key="supplier_bills", title="Supplier bills", template="procurement/bills_report_section.html",
                   data=data, order=41, summary=summary)


def plan_cash_section(app, session, period) -> Section:
    """Cash out per week: bills to pay and purchase orders still to be billed."""
    days = app.settings("procurement")["bill_payment_days"]
    weeks = period.weeks()
    first = weeks[0]
    out = {monday: {"week": monday, "bills": Decimal("0.00"), "orders": Decimal("0.00")} for monday in weeks}

    def bucket(day: dt.date) -> dt.date | None:
        if day < first:
            return first
        monday = day - dt.timedelta(days=day.weekday())
        return monday if monday in out else None

    for due, total in session.execute(text(_TO_PAY).bindparams(bindparam("end", type_=Date())), {"end": period.end}):
        week = bucket(due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due)))
        if week is not None:
            out[week]["bills"] += _money(total)
    for expected, amount in session.execute(text(_TO_BILL)):
        if expected is not None and not isinstance(expected, dt.date):
            expected = dt.date.fromisoformat(str(expected))
        week = bucket((expected or period.today) + dt.timedelta(days=days))
        if week is not None:
            # 1e-7 × (1 + rate) in 1e-4: 1e-11 of a unit; rounded half up to the cent per expected day
            out[week]["orders"] += (Decimal(int(amount or 0)).scaleb(-11)).quantize(CENTS, ROUND_HALF_UP)
    rows = [{**row, "week": row["week"].isoformat(), "total": row["bills"] + row["orders"]} for row in out.values()]
    data = {"weeks": rows, "bills": sum((r["bills"] for r in rows), Decimal("0.00")),
            "orders": sum((r["orders"] for r in rows), Decimal("0.00"))}
    currency = app.config.company.currency
    summary = [("bills to pay", f"{data['bills']} {currency}"), ("orders to be billed", f"{data['orders']} {currency}")]
    chart = Chart("Cash out per week", [(r["week"], r["total"]) for r in rows], unit="money", kind="bars")
    return Section(key="cash_out", title="Cash out", template="procurement/cash_plan_section.html", data=data,
                   order=41, summary=summary, charts={"per_week": chart})
