"""Three-way match: each bill line against the supplier's purchase order lines and what was received.

A line matches when its product was ordered from this supplier, received and not billed yet in
at least the quantity billed, at a price no higher than ordered (plus ``[procurement]
bill_price_tolerance`` percent); a disputed bill bills nothing (its supplier sends another). The line totals, the VAT and the bill's totals are re-computed
(to ``bill_amount_tolerance`` euros). Every difference found is one line of text.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select

from core.models import Product
from core.types import round_money
from plugins.procurement.models import PurchaseOrder, PurchaseOrderLine
from plugins.procurement.models_bills import SupplierBill, SupplierBillLine

#: purchase orders whose lines can be billed
BILLABLE_STATES = ("confirmed", "partial", "received")


def tolerances(app) -> tuple[Decimal, Decimal]:
    """(price tolerance in percent, amount tolerance in euros) from ``[procurement]``."""
    conf = app.settings("procurement")
    return Decimal(str(conf["bill_price_tolerance"])), Decimal(str(conf["bill_amount_tolerance"]))


def open_lines(session, supplier_id: int, skus: set[str]) -> dict[str, list[list]]:
    """Per SKU, the supplier's billable order lines oldest first: ``[line id, price, received, billed]``."""
    # billed so far, per candidate line (a correlated sum over the bill lines' index, disputed ones left out)
    billed = (select(func.sum(SupplierBillLine.quantity))
              .join(SupplierBill, SupplierBill.id == SupplierBillLine.bill_id)
              .where(SupplierBillLine.purchase_order_line_id == PurchaseOrderLine.id, SupplierBill.state != "disputed")
              .correlate(PurchaseOrderLine).scalar_subquery())
    query = (select(Product.sku, PurchaseOrderLine.id, PurchaseOrderLine.unit_price,
                    PurchaseOrderLine.received_quantity, billed)
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
             .join(Product, Product.id == PurchaseOrderLine.product_id)
             .where(PurchaseOrder.supplier_id == supplier_id, PurchaseOrder.state.in_(BILLABLE_STATES),
                    Product.sku.in_(sorted(skus)))
             .order_by(PurchaseOrderLine.id))
    found: dict[str, list[list]] = defaultdict(list)
    for sku, line_id, price, received, already in session.execute(query):
        found[sku].append([line_id, price, received, Decimal(already or 0)])
    return found


def match_bill(app, session, bill: dict) -> tuple[list[int | None], list[str]]:
    """The purchase order line of each bill line (None: not matched) and the differences found."""
    price_tolerance, amount_tolerance = tolerances(app)
    candidates = open_lines(session, bill["supplier_id"], {line["sku"] for line in bill["lines"] if line["sku"]})
    matched: list[int | None] = []
    differences: list[str] = []
    for number, line in enumerate(bill["lines"], start=1):
        label = f"line {number} ({line['sku'] or line['description']})"
        quantity, price = line["quantity"], line["unit_price"]
        if abs(round_money(quantity * price) - line["subtotal"]) > amount_tolerance:
            differences.append(f"{label}: total {line['subtotal']} but {quantity} × {price} = "
                               f"{round_money(quantity * price)}")
        lines = candidates.get(line["sku"] or "", [])
        if not lines:
            matched.append(None)
            differences.append(f"{label}: not on any purchase order of this supplier")
            continue
        choice = next((c for c in lines if c[2] - c[3] >= quantity), None)
        if choice is None:
            choice = lines[0]
            unbilled = sum((c[2] - c[3] for c in lines), Decimal(0))
            differences.append(f"{label}: {quantity} billed but {max(unbilled, Decimal(0))} received and not billed yet")
        choice[3] += quantity
        matched.append(choice[0])
        ceiling = choice[1] * (1 + price_tolerance / 100)
        if price > ceiling:
            differences.append(f"{label}: price {price} billed but {_price(choice[1])} ordered")
    differences += total_differences(bill, amount_tolerance)
    return matched, differences


def total_differences(bill: dict, tolerance: Decimal) -> list[str]:
    """The bill's totals against the sum of its lines and the VAT re-computed per rate."""
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in bill["lines"]:
        bases[line["vat_rate"]] += line["subtotal"]
    untaxed = sum(bases.values(), Decimal("0.00"))
    tax = sum((round_money(base * rate / 100) for rate, base in bases.items()), Decimal("0.00"))
    found = []
    for field, expected in (("total without VAT", untaxed), ("VAT", tax), ("total", untaxed + tax)):
        given = bill[{"total without VAT": "total_untaxed", "VAT": "total_tax", "total": "total"}[field]]
        if abs(given - expected) > tolerance:
            found.append(f"{field}: {given} on the bill but {expected} re-computed")
    return found


def _price(value: Decimal) -> str:
    """A unit price as people write it: at least two decimals, no trailing zeros beyond."""
    text = f"{value.normalize():f}"
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"
