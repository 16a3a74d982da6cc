"""Invoices typed by hand and holds; the public face of the invoice modules.

The invoice modules, each importing only those below it:

- :mod:`plugins.billing.invoice_states`: the states, transitions, the posted invoice's guard, and
  finding an invoice (``get_invoice``);
- :mod:`plugins.billing.posting`: drafts in memory, posting, numbering, the frozen texts;
- :mod:`plugins.billing.credit_notes`: credit notes and the early-payment discount's note;
- :mod:`plugins.billing.order_invoices`: the invoice of a confirmed order;
- this module: invoices typed by hand, holds; it also re-exports what callers used to
  import from here (``post_invoice``, ``credit_invoice``...).
"""

from __future__ import annotations

from core.errors import StateError, ValidationError
from core.security import require
from core.services.orders import compute_totals
from plugins.billing.credit_notes import credit_invoice, discount_bases, discount_credit_note
from plugins.billing.invoice_states import HOLDABLE, TRANSITIONS, get_invoice, label
from plugins.billing.models_invoices import FROZEN, Invoice, InvoiceLine
from plugins.billing.order_invoices import invoice_from_order, on_order_cancelled, order_invoice_id
from plugins.billing.posting import address_text, new_invoice, next_number, order_delivery, post_invoice

__all__ = ["FROZEN", "HOLDABLE", "TRANSITIONS", "address_text", "create_invoice", "credit_invoice", "discount_bases",
           "discount_credit_note", "get_invoice", "invoice_from_order", "label", "new_invoice", "next_number",
           "on_order_cancelled", "order_delivery", "order_invoice_id", "post_invoice", "set_hold"]


def create_invoice(app, session, raw: dict, *, post: bool = False) -> Invoice:
    """An invoice typed by hand (a draft unless ``post``); prices default to the list price."""
    from core.schemas import load

    require(app, session, "billing.invoice.write")
    from core.services.catalog import get_product
    from core.services.partners import get_partner
    from core.services.people import get_user
    from plugins.billing.schemas import InvoiceSchema
    from plugins.billing.services_terms import get_term

    data = load(InvoiceSchema(), raw, "invoice")
    partner = get_partner(session, data["customer"])
    if not partner.is_customer:
        raise ValidationError(f"{partner.name} is not a customer", record="invoice", field="customer")
    term = get_term(session, data["term"]) if data["term"] else None
    salesperson = get_user(session, data["salesperson"]).id if data["salesperson"] else None
    invoice = new_invoice(app, session, partner, term=term, invoice_date=data["invoice_date"],
                          salesperson_id=salesperson, note=data["note"])
    for sequence, line in enumerate(data["lines"], start=1):
        product = get_product(session, line["sku"])
        invoice.lines.append(InvoiceLine(
            sequence=sequence, product=product, description=line["description"] or product.name,
            quantity=line["quantity"], discount=line["discount"], vat_rate=product.vat_rate,
            unit_price=product.list_price if line["unit_price"] is None else line["unit_price"]))
    compute_totals(invoice)
    session.add(invoice)
    session.flush()
    if post:
        post_invoice(app, session, invoice)
    return invoice



# --- holds ----------------------------------------------------------------------------------------

def set_hold(session, invoice: Invoice, hold: str | None, reason: str | None = None) -> Invoice:
    """Mark an open invoice disputed or blocked (no reminder while held), or release it (``None``)."""
    require(session.info["app"], session, "billing.invoice.block")
    record = f"invoice {label(invoice)}"
    if hold is not None:
        if invoice.state not in HOLDABLE:
            raise StateError(f"{record} is {invoice.state}: only an open invoice can be {hold}")
        if not (reason or "").strip():
            raise ValidationError("a reason is required", record=record, field="reason")
    elif invoice.hold is None:
        raise StateError(f"{record} is neither disputed nor blocked")
    invoice.hold, invoice.hold_reason = hold, (reason or "").strip() or None
    session.flush()
    return invoice
