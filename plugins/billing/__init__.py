"""Billing module: payment terms, invoices, payments, the daily reminder run and aging.

Reacts to the kernel's ``order_confirmed`` hook; works with or without the funnel module. Offers
hooks of its own to other modules (``invoice_posted``, ``payment_recorded``): see ``hookspecs``.
Imports here stay cheap: models and services are imported inside the hook implementations.
"""

from core.hookspecs import hookimpl
from plugins.billing import hookspecs  # noqa: F401  (the kernel adds these specs when it loads us)

# Read by the kernel with ``ast`` (never imported to list, enable or disable the module): keep it literal.
MANIFEST = {
    "name": "billing",
    "version": "0.1.0",
    "summary": "Payment terms, invoices, payments, reminders and aging",
    "depends": [],
    "migrations": "migrations",
    "commands": {"term": "plugins.billing.cli:term", "invoice": "plugins.billing.cli:invoice",
                 "payment": "plugins.billing.cli_money:payment", "reminders": "plugins.billing.cli_money:reminders",
                 "aging": "plugins.billing.cli:aging_command", "rate": "plugins.billing.cli:rate",
                 "collections": "plugins.billing.cli_collections:collections",
                 "vat": "plugins.billing.cli_vat:vat",
                 # a group named like a kernel group adds its subcommands to it: `crm export fec`
                 "export": "plugins.billing.cli_vat:export"},
}


@hookimpl
def register_models():
    from plugins.billing import models

    return [models]


@hookimpl
def register_routes(register):
    from plugins.billing.api import invoices, payments
    from plugins.billing.pages import pages

    register(invoices)
    register(payments)
    register(pages)


@hookimpl
def register_template_dirs():
    from pathlib import Path

    return [Path(__file__).parent / "templates"]


@hookimpl
def register_jobs(register):
    from core.jobs import Job

    # latest: after an outage one run sends only the highest level now due (the others recorded as
    # skipped); replaying each missed day would send every level at once
    register(Job(name="billing.reminders", run=_run_reminders, catch_up="latest",
                 summary="send the reminder levels now due (one message per customer), catch up missed days"))


def _run_reminders(app, session, as_of):
    from plugins.billing.services_reminders import run_reminders

    return run_reminders(app, session, as_of).counts()


@hookimpl
def register_data_kinds(register):
    from plugins.billing.services_bank import payment_kind

    register(payment_kind())


@hookimpl
def install(app, session):
    from plugins.billing.services_setup import seed

    seed(app, session)


@hookimpl
def order_confirmed(app, session, order):
    """Draft (and, by default, post) the order's invoice in the confirming transaction."""
    from plugins.billing.order_invoices import order_invoice_id

    order_invoice_id(app, session, order)


@hookimpl
def order_cancelled(app, session, order, reason):
    """A draft invoice goes with its order; a posted one must be credited first."""
    from plugins.billing.order_invoices import on_order_cancelled

    on_order_cancelled(app, session, order)


@hookimpl
def register_channels(register):
    from plugins.billing.channels import letter_channel

    register(letter_channel())


@hookimpl
def register_settings(register):
    from plugins.billing.settings_schema import BillingSettings

    register("billing", BillingSettings)


@hookimpl
def register_documents(register):
    from plugins.billing.documents import document_kinds
    from plugins.billing.letters import formal_notice_kind
    from plugins.billing.services_account import statement_kind

    for kind in document_kinds() + [formal_notice_kind(), statement_kind()]:
        register(kind)


@hookimpl
def report_sections(app, session, period):
    from plugins.billing.sections import report_section

    return report_section(app, session, period)


@hookimpl
def plan_sections(app, session, period):
    from plugins.billing.sections import plan_section

    return plan_section(app, session, period)


@hookimpl
def plan_cash(app, session, period):
    """Receivables expected per customer's own payment delay, and the last statements' closing balances."""
    from plugins.billing.cash import plan_cash as billing_cash

    return billing_cash(app, session, period)


@hookimpl
def partner_account(app, session, partner):
    """Money: balance, credit, open invoices, payments, collection cases and promises, days to pay."""
    from plugins.billing.services_account import account_section

    return account_section(app, session, partner)


@hookimpl
def register_permissions(register):
    from plugins.billing.rights import PERMISSIONS

    for permission in PERMISSIONS:
        register(permission)


@hookimpl
def register_record_rules(register):
    from plugins.billing.rights import record_rules

    record_rules(register)


@hookimpl
def register_fields(register):
    """Other modules may add fields to its invoices (and credit notes) (core.extensions)."""
    from core.extensions import Extensible

    register(Extensible("invoice", "billing_invoice"))
