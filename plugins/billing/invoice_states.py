"""The invoice's states and the guard that keeps a posted invoice as it was posted.

State machine (data, one function per transition):

    draft --post--> posted --(payments, credit notes)--> partially_paid --> paid | credited

A posted invoice is immutable: its lines, amounts, parties and dates can no longer change (a
mapper guard refuses the write, whatever code tries it; it lives with the tables in
:mod:`plugins.billing.models_invoices`, so whatever maps an invoice has it); it is never deleted,
only cancelled in whole or in part by a credit note. Every other invoice module builds on this one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import NotFound, StateError
from plugins.billing.models_invoices import OPEN_STATES, Invoice, label

TRANSITIONS = {"post": (("draft",), "posted")}
HOLDABLE = OPEN_STATES


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
