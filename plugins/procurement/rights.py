"""Procurement's rights: stock, suppliers' prices, reorder rules and purchase orders."""

from __future__ import annotations

from core.security import Permission

PERMISSIONS = (
    Permission("procurement.read", "See stock, moves, reorder rules, supplier prices and purchase orders",
               roles=("sales", "sales_manager", "purchasing", "accountant"),
               commands=("stock list", "stock moves", "stock check", "reorder rule list", "supplier price list",
                         "po list", "po show", "po pdf")),
    Permission("procurement.po.confirm", "Confirm (send) or cancel a purchase order", roles=("purchasing",),
               commands=("po confirm", "po cancel")),
    Permission("procurement.po.receive", "Receive purchase orders and adjust stock", roles=("purchasing",),
               commands=("po receive", "stock adjust")),
    Permission("procurement.settings", "Change reorder rules and supplier prices", roles=("purchasing",),
               commands=("reorder rule add", "reorder rule update", "reorder rule remove", "supplier price add",
                         "supplier price remove")),
    Permission("procurement.reorder.run", "Run the reorder rules (drafts purchase orders)",
               roles=("purchasing", "system"), commands=("reorder run",)),
    Permission("procurement.bill.read", "See supplier bills, their matches and differences",
               roles=("purchasing", "accountant"), commands=("bill list", "bill show")),
    Permission("procurement.bill.record", "Record supplier bills (import e-invoices, type in paper bills)",
               roles=("purchasing", "accountant", "system"), commands=("bill import", "bill add")),
    Permission("procurement.bill.approve", "Approve a held supplier bill or dispute one",
               roles=("purchasing", "accountant"), commands=("bill approve", "bill dispute")),
    Permission("procurement.bill.pay", "Build a SEPA payment run of the approved bills due",
               roles=("accountant",), commands=("bill pay",)),
)
