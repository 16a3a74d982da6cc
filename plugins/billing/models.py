"""Billing tables: payment terms, invoices and their lines and instalments, payments, reminders.

Every table is prefixed ``billing_`` and extends the kernel only through keys to its tables
(``billing_partner_term`` holds a customer's default term, keyed by the partner). They live in
five files, gathered here (what ``register_models`` gives and most services import): the invoices
(:mod:`plugins.billing.models_invoices`, all that a list, an invoice or the aging loads), the
payments, the collections, the bank and the tax regimes.
"""

from plugins.billing import models_bank, models_tax  # noqa: F401  (their tables are billing's too)
from plugins.billing.models_collections import (CASE_EVENTS, CHANNELS, RATE_KINDS, CaseEvent, CollectionTask,
                                                Penalty, Rate, Reminder, ReminderCase, ReminderLevel, ReminderRun)
from plugins.billing.models_invoices import (HOLDS, INVOICE_KINDS, INVOICE_STATES, OPEN_INVOICE, OPEN_STATES,
                                             TERM_METHODS, Invoice, InvoiceDue, InvoiceLine, PartnerTerm,
                                             PaymentTerm, PaymentTermLine, Sequence)
from plugins.billing.models_payments import PAYMENT_METHODS, Allocation, Payment, Refund, RefundSource

__all__ = ["CASE_EVENTS", "CHANNELS", "HOLDS", "INVOICE_KINDS", "INVOICE_STATES", "OPEN_INVOICE", "OPEN_STATES",
           "PAYMENT_METHODS", "RATE_KINDS", "TERM_METHODS", "Allocation", "CaseEvent", "CollectionTask",
           "Invoice", "InvoiceDue", "InvoiceLine", "PartnerTerm", "Payment", "PaymentTerm", "PaymentTermLine",
           "Penalty", "Rate", "Refund", "RefundSource", "Reminder", "ReminderCase", "ReminderLevel",
           "ReminderRun", "Sequence"]
