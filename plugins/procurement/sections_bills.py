"""Supplier bills in the period report (received, paid, held) and cash out in the plan's cash section.

Cash out (:func:`plan_cash`, added up by :mod:`core.cashplan`): the bills still to pay (approved,
held or being paid) on their due dates, and what the purchase orders will still bill — each open
line's quantity not billed yet, at its price plus the product's VAT (rounded to the cent per line
part), due the supplier's term after the day it was received (the part received and not billed)
or is expected (the rest; today when the line has no date). The supplier's term is read from its
last bill (days from its date to its due date), else ``[procurement] bill_payment_days``. Money
comes from the scaled integer columns, exact.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Date, bindparam, text

from core.cashplan import CashFlow
from core.reports import Section

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
WHERE state IN ('approved', 'held', 'paying') GROUP BY due_date
"""
#: each open line of a billable order: what is billed of it (disputed bills left out), when it was last received
_TO_BILL = """
SELECT po.supplier_id, l.quantity, l.received_quantity, COALESCE(b.billed, 0), l.unit_price, p.vat_rate,
       l.expected_date, r.received_on
FROM procurement_purchase_order_line l
JOIN procurement_purchase_order po ON po.id = l.order_id
JOIN core_product p ON p.id = l.product_id
LEFT JOIN (SELECT bl.purchase_order_line_id AS line_id, SUM(bl.quantity) AS billed
           FROM procurement_supplier_bill_line bl JOIN procurement_supplier_bill sb ON sb.id = bl.bill_id
           WHERE sb.state <> 'disputed' AND bl.purchase_order_line_id IS NOT NULL
           GROUP BY bl.purchase_order_line_id) b ON b.line_id = l.id
LEFT JOIN (SELECT purchase_order_line_id AS line_id, MAX(move_date) AS received_on FROM procurement_stock_move
           WHERE kind = 'receipt' AND purchase_order_line_id IS NOT NULL GROUP BY purchase_order_line_id) r
       ON r.line_id = l.id
WHERE po.state IN ('confirmed', 'partial', 'received') AND l.quantity > COALESCE(b.billed, 0)
"""
#: each supplier's term as its last bill shows it: days from the bill's date to its due date
_TERMS = """
SELECT b.supplier_id, b.bill_date, b.due_date FROM procurement_supplier_bill b
WHERE b.id = (SELECT MAX(b2.id) FROM procurement_supplier_bill b2 WHERE b2.supplier_id = b.supplier_id)
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


def _day(value) -> dt.date | None:
    return value if value is None or isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def plan_cash(app, session, period) -> list:
    """Cash out for the plan's cash section (:mod:`core.cashplan`): bills to pay, orders to be billed."""
    bills: dict[dt.date, Decimal] = defaultdict(Decimal)
    for due, total in session.execute(text(_TO_PAY)):
        bills[_day(due)] += _money(total)
    default_days = app.settings("procurement")["bill_payment_days"]
    terms = {supplier: (_day(due) - _day(billed)).days for supplier, billed, due in session.execute(text(_TERMS))}
    orders: dict[dt.date, Decimal] = defaultdict(Decimal)
    for supplier, quantity, received, billed, price, rate, expected, received_on in session.execute(text(_TO_BILL)):
        # scaled integers: quantities in thousandths, prices in ten-thousandths, rates in hundredths
        quantity, received, billed = (Decimal(int(v or 0)).scaleb(-3) for v in (quantity, received, billed))
        gross = Decimal(int(price)).scaleb(-4) * (1 + Decimal(int(rate)).scaleb(-4))
        term = dt.timedelta(days=terms.get(supplier, default_days))
        # what was received and not billed yet: billed after its receipt; the rest after its expected receipt
        arrived = max(received - billed, Decimal(0))
        coming = quantity - max(received, billed)
        for part, day in ((arrived, _day(received_on)), (coming, _day(expected))):
            if part > 0:
                orders[(day or period.today) + term] += (part * gross).quantize(CENTS, ROUND_HALF_UP)
    return [CashFlow(key="bills", title="supplier bills to pay", direction="out", amounts=dict(bills),
                     note="bills approved, held or being paid, at their due date"),
            CashFlow(key="orders", title="purchase orders to be billed", direction="out", amounts=dict(orders),
                     note="what the confirmed orders will still bill (with VAT), at the receipt (or the expected "
                          "receipt) plus the supplier's term (its last bill's, else [procurement] bill_payment_days)")]
