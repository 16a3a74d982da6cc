"""Three-way match: each bill line against the supplier's purchase order lines and what was received.

A line matches when its product was ordered from this supplier, received and not billed yet in
at least the quantity billed, at a price no higher than ordered (plus ``[procurement]
bill_price_tolerance`` percent); a disputed bill bills nothing (its supplier sends another). The
line totals, the VAT and the bill's totals are re-computed (to ``bill_amount_tolerance`` euros).
Every difference found is one line of text. An import reads the candidate order lines once
(:func:`open_lines`) and matches its bills in order against them.
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


def tolerances(settings: dict) -> tuple[Decimal, Decimal]:
    """(price tolerance in percent, amount tolerance in euros) from ``[procurement]``."""
    return Decimal(str(settings["bill_price_tolerance"])), Decimal(str(settings["bill_amount_tolerance"]))


def open_lines(session, wanted: set[tuple[int, str]]) -> dict[tuple[int, str], list[list]]:
    """Per (supplier id, SKU) wanted, its billable order lines oldest first: ``[line id, price, received, billed]``.

    One query for a whole import: the suppliers' lines of the SKUs asked, what is billed of each
    (disputed bills left out) summed once per line.
    """
    found: dict[tuple[int, str], list[list]] = defaultdict(list)
    if not wanted:
        return found
    billed = (select(SupplierBillLine.purchase_order_line_id.label("line_id"),
                     func.sum(SupplierBillLine.quantity).label("quantity"))
              .join(SupplierBill, SupplierBill.id == SupplierBillLine.bill_id)
              .join(PurchaseOrderLine, PurchaseOrderLine.id == SupplierBillLine.purchase_order_line_id)
              .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
              .where(SupplierBill.state != "disputed",
                     PurchaseOrder.supplier_id.in_(sorted({supplier for supplier, _ in wanted})))
              .group_by(SupplierBillLine.purchase_order_line_id).subquery())
    query = (select(PurchaseOrder.supplier_id, Product.sku, PurchaseOrderLine.id, PurchaseOrderLine.unit_price,
                    PurchaseOrderLine.received_quantity, billed.c.quantity)
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
             .join(Product, Product.id == PurchaseOrderLine.product_id)
             .outerjoin(billed, billed.c.line_id == PurchaseOrderLine.id)
             .where(PurchaseOrder.supplier_id.in_(sorted({supplier for supplier, _ in wanted})),
                    PurchaseOrder.state.in_(BILLABLE_STATES), Product.sku.in_(sorted({sku for _, sku in wanted})))
             .order_by(PurchaseOrderLine.id))
    for supplier_id, sku, line_id, price, received, already in session.execute(query):
        if (supplier_id, sku) in wanted:
            found[supplier_id, sku].append([line_id, price, received, Decimal(already or 0)])
    return found


def match_bill(settings: dict, bill: dict,
               candidates: dict[tuple[int, str], list[list]]) -> tuple[list[int | None], list[str]]:
    """The purchase order line of each bill line (None: not matched) and the differences found.

    ``candidates`` come from :func:`open_lines`; what this bill bills is added to them, so the
    next bill of the same import sees it.
    """
    price_tolerance, amount_tolerance = tolerances(settings)
    matched: list[int | None] = []
    differences: list[str] = []
    for number, line in enumerate(bill["lines"], start=1):
        label = f"line {number} ({line['sku'] or line['description']})"
        quantity, price = line["quantity"], line["unit_price"]
        if abs(round_money(quantity * price) - line["subtotal"]) > amount_tolerance:
            differences.append(f"{label}: total {line['subtotal']} but {quantity} × {price} = "
                               f"{round_money(quantity * price)}")
        lines = candidates.get((bill["supplier_id"], line["sku"] or ""), [])
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
