"""The invoice's states and the guard that keeps a posted invoice as it was posted.

State machine (data, one function per transition):

    draft --post--> posted --(payments, credit notes)--> partially_paid --> paid | credited

A posted invoice is immutable: its lines, amounts, parties and dates can no longer change (a
mapper guard refuses the write, whatever code tries it); it is never deleted, only cancelled in
whole or in part by a credit note. Every other invoice module builds on this one; finding an
invoice (:func:`get_invoice`) is here too, so whatever reads one to change it has the guard.
"""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import selectinload

from core.errors import NotFound, StateError
from plugins.billing.models_invoices import OPEN_STATES, Invoice, InvoiceLine

TRANSITIONS = {"post": (("draft",), "posted")}
HOLDABLE = OPEN_STATES
#: what posting freezes
FROZEN = ("number", "kind", "partner_id", "invoice_date", "total_untaxed", "total_tax", "total", "term_id",
          "currency", "seller_name", "seller_siren", "seller_vat_number", "seller_identity", "buyer_name", "buyer_siren",
          "buyer_vat_number", "buyer_address", "delivery_address", "delivery_country", "penalty_rate", "recovery_indemnity", "final_due_date",
          "discount_percent", "discount_until", "tax_regime", "vat_mention")


def get_invoice(session, ref, *, lock: bool = False) -> Invoice:
    """An invoice or credit note by number (or id)."""
    text = str(ref).strip()
    query = select(Invoice).options(selectinload(Invoice.lines), selectinload(Invoice.dues))
    query = query.where(Invoice.id == int(text)) if text.isdigit() else query.where(Invoice.number == text.upper())
    if lock:
        query = query.with_for_update()
    invoice = session.scalars(query).first()
    if invoice is None:
        raise NotFound(f"invoice {text}: no such invoice (see `crm invoice list`)")
    return invoice


def move(invoice: Invoice, action: str) -> None:
    """Apply the transition ``action`` to ``invoice``, or raise naming its state and the allowed ones."""
    sources, target = TRANSITIONS[action]
    if invoice.state not in sources:
        raise StateError(f"invoice {label(invoice)}: cannot {action} an invoice that is {invoice.state} "
                         f"(only from {' or '.join(sources)})")
    invoice.state = target


def label(invoice: Invoice) -> str:
    """How messages name an invoice: its number, or ``draft #id``."""
    return invoice.number or f"draft #{invoice.id}"


# --- the immutability guard -------------------------------------------------------------------

def _was_posted(invoice: Invoice) -> bool:
    """Whether the invoice was already posted when this transaction last wrote it."""
    history = inspect(invoice).attrs.state.history
    was = history.deleted[0] if history.deleted else invoice.state
    return was not in (None, "draft")


@event.listens_for(Invoice, "before_update")
def _frozen_invoice(mapper, connection, target):
    if not _was_posted(target):
        return
    for name in FROZEN:
        if inspect(target).attrs[name].history.has_changes():
            raise StateError(f"invoice {label(target)}: {name} cannot change, the invoice is posted "
                             f"(issue a credit note)")


@event.listens_for(Invoice, "before_delete")
def _kept_invoice(mapper, connection, target):
    if _was_posted(target):
        raise StateError(f"invoice {label(target)} is posted: it is never deleted (issue a credit note)")


@event.listens_for(InvoiceLine, "before_update")
def _frozen_line(mapper, connection, target):
    changed = any(attr.history.has_changes() for attr in inspect(target).attrs)
    if changed and target.invoice is not None and _was_posted(target.invoice):
        raise StateError(f"invoice {label(target.invoice)}: line {target.sequence} cannot change, the invoice is "
                         f"posted (issue a credit note)")


@event.listens_for(InvoiceLine, "before_delete")
def _kept_line(mapper, connection, target):
    if target.invoice is not None and _was_posted(target.invoice):
        raise StateError(f"invoice {label(target.invoice)}: line {target.sequence} cannot be deleted, the invoice "
                         f"is posted (issue a credit note)")


