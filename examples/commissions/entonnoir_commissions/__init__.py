"""Sales commissions ("commissions sur encaissements"): salespeople earn a share of what is collected.

A plan (a salesperson's own, else their team's) gives a rate on the untaxed share of each payment,
with optional marginal tiers over the month's or quarter's collections. Billing tells us when
money comes in (its ``payment_recorded`` hook) and when a credit note gives some back
(``invoice_posted``); each becomes immutable rows of the commission ledger, which the statement
(``crm commissions statement``) and the period report's section read.

This package is a third-party Entonnoir module: it imports only the kernel (``core``), never a
built-in plugin. It names ``billing`` in ``depends`` because it implements billing's hooks, and it
reads what those hooks hand it (the payment, the invoices, the credit note) as plain objects.
"""

from core.hookspecs import hookimpl

# Read by the kernel with ``ast`` (never imported to list, enable or disable the module): keep it literal.
MANIFEST = {
    "name": "commissions",
    "version": "0.1.0",
    "summary": "Sales commissions on collected payments, with tiers, statements and a report section",
    "depends": ["billing"],
    "migrations": "migrations",
}


@hookimpl
def register_models():
    from entonnoir_commissions import models

    return [models]


@hookimpl
def register_commands(cli):
    from entonnoir_commissions.cli import commissions

    cli.add_command(commissions)


@hookimpl
def register_routes(register):
    from entonnoir_commissions.api import blp

    register(blp)


@hookimpl
def register_template_dirs():
    from pathlib import Path

    return [Path(__file__).parent / "templates"]


@hookimpl
def register_documents(register):
    from entonnoir_commissions.documents import document_kinds

    for kind in document_kinds():
        register(kind)


# --- billing's hooks (plugins/billing/hookspecs.py): the module's only way in -------------------

@hookimpl
def payment_recorded(app, session, payment, allocations, cleared):
    """Accrue the commission on each invoice this payment settled (one ledger row per tier band)."""
    from entonnoir_commissions.ledger import accrue_payment

    accrue_payment(app, session, payment, allocations)


@hookimpl
def invoice_posted(app, session, invoice):
    """A credit note that gives back collected money takes back its share of the commission."""
    if invoice.kind != "credit_note":
        return
    from entonnoir_commissions.ledger import reverse_credit_note

    reverse_credit_note(app, session, invoice)


# --- the kernel's report frame ---------------------------------------------------------------

@hookimpl
def report_sections(app, session, period):
    from entonnoir_commissions.statement import report_section

    return report_section(app, session, period)


@hookimpl
def register_permissions(register):
    """Commission plans are the sales managers'; statements are read by sales and accounting."""
    from core.security import Permission

    register(Permission("commissions.plan", "Add commission plans", roles=("sales_manager", "accountant"),
                        commands=("commissions plan add",)))
    register(Permission("commissions.read", "See commission plans and statements",
                        roles=("sales", "sales_manager", "accountant"),
                        commands=("commissions plan list", "commissions statement")))
