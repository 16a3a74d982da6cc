"""Procurement module: stock ledger, supplier prices, reorder rules and purchase orders.

Reacts to the kernel's ``order_confirmed`` hook; works with or without funnel and billing.
"""

MANIFEST = {
    "name": "procurement",
    "version": "0.1.0",
    "summary": "Stock ledger, suppliers, reorder rules and purchase orders",
    "depends": [],
    "migrations": None,
}
