"""Billing's web page: the overdue invoices for collections, each customer linked to their account."""

from __future__ import annotations

from core.api.http import app as crm
from core.api.http import requires, session
from core.api.pages import Pages, page, render_page

pages = Pages("billing_pages", __name__, menu=[("Overdue", "billing_pages.overdue")])


@pages.get("/overdue")
@requires("billing.read")
@page
def overdue():
    """Open invoices past their due date, oldest first (``crm invoice list --overdue``)."""
    from decimal import Decimal

    from plugins.billing.services_receivables import invoice_row, list_invoices

    today = crm().today
    invoices = list_invoices(session(), today=today, overdue=True)
    rows = [invoice_row(invoice, today) | {"partner_id": invoice.partner_id} for invoice in invoices]
    total = sum((invoice.residual for invoice in invoices), Decimal("0.00"))
    return render_page("billing/web/overdue.html", title="Overdue invoices", rows=rows, total=total)
