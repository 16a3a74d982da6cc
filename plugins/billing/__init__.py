"""Billing module: payment terms, invoices, payments, the daily reminder run and aging.

Reacts to the kernel's ``order_confirmed`` hook; works with or without the funnel module.
"""

MANIFEST = {
    "name": "billing",
    "version": "0.1.0",
    "summary": "Payment terms, invoices, payments, reminders and aging",
    "depends": [],
    "migrations": None,
}
