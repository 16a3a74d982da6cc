"""Billing's rights: invoices, credit notes, payments, refunds, write-offs, reminders and settings."""

from __future__ import annotations

from core.security import Permission

MONEY = ("collections", "accountant")

PERMISSIONS = (
    Permission("billing.read", "See invoices, payments, terms, rates, reminders, cases and the aging",
               roles=("sales", "sales_manager", "collections", "accountant"),
               commands=("invoice list", "invoice show", "invoice pdf", "invoice facturx", "aging", "payment list",
                         "payment unmatched", "payment write-offs", "term list", "term due", "rate list",
                         "reminders list", "reminders level list", "reminders tasks", "collections list",
                         "collections show")),
    Permission("billing.invoice.write", "Create draft invoices", roles=("accountant",), commands=("invoice create",)),
    Permission("billing.invoice.post", "Post an invoice (numbered, final)", roles=("accountant",),
               commands=("invoice post",)),
    Permission("billing.invoice.credit", "Credit a posted invoice (a credit note)", roles=("accountant",),
               commands=("invoice credit",)),
    Permission("billing.invoice.block", "Block, release or dispute an invoice's reminders", roles=MONEY,
               commands=("invoice block", "invoice release", "invoice dispute")),
    Permission("billing.payment.record", "Record, import and allocate payments and customer credit", roles=MONEY,
               commands=("payment add", "payment allocate", "payment import", "payment credit")),
    Permission("billing.payment.refund", "Refund a customer", roles=("accountant",), commands=("payment refund",)),
    Permission("billing.payment.write_off", "Write off what a customer owes", roles=("accountant",),
               commands=("payment write-off",)),
    Permission("billing.settings", "Change payment terms, interest rates, reminder levels and tax regimes",
               roles=("accountant",),
               commands=("term create", "term assign", "rate add", "reminders level set", "reminders level remove",
                         "vat regime", "vat rates")),
    Permission("billing.accounting", "Export the FEC and read the month's VAT summary", roles=("accountant",),
               commands=("export fec", "vat summary")),
    Permission("billing.reminders.run", "Run the reminders and print reminder letters",
               roles=("collections", "accountant", "system"), commands=("reminders run", "reminders letter")),
    Permission("billing.collections", "Work collection cases: assign, note, promise, dispute, close; penalties",
               roles=MONEY,
               commands=("collections assign", "collections close", "collections dispute", "collections note",
                         "collections promise", "collections reopen", "collections resume", "invoice penalties")),
)


def record_rules(register) -> None:
    """An invoice is its salesperson's (Odoo's ``invoice_user_id``); payments, refunds, write-offs,
    reminders and collection cases follow their customer (the kernel's ``core.partner`` rule)."""
    from core.models import Partner
    from core.security import RecordRule
    from plugins.billing.models import CollectionTask, Invoice, Payment, Refund, Reminder, ReminderCase
    from plugins.billing.models_bank import WriteOff

    register(RecordRule("billing.invoice", Invoice, owner="salesperson_id"))
    for name, model in (("payment", Payment), ("refund", Refund), ("write_off", WriteOff), ("reminder", Reminder),
                        ("case", ReminderCase), ("task", CollectionTask)):
        register(RecordRule(f"billing.{name}", model, owner="partner_id", follows=Partner))
