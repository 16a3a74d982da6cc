"""Procurement module: stock ledger, supplier prices, reorder rules and purchase orders.

Reacts to the kernel's ``order_confirmed``, ``order_delivered`` and ``order_cancelled`` hooks
(reserve, move stock out, release, and evaluate the reorder rules of the products concerned);
works with or without the funnel and billing modules. Imports here stay cheap: models, services
and click commands are imported inside the hooks.
"""

from core.hookspecs import hookimpl

# Read by the kernel with ``ast`` (never imported to list, enable or disable the module): keep it literal.
MANIFEST = {
    "name": "procurement",
    "version": "0.1.0",
    "summary": "Stock ledger, suppliers, reorder rules and purchase orders",
    "depends": [],
    "migrations": "migrations",
    "commands": {"stock": "plugins.procurement.cli:stock", "supplier": "plugins.procurement.cli:supplier",
                 "reorder": "plugins.procurement.cli:reorder", "po": "plugins.procurement.cli_po:po",
                 "bill": "plugins.procurement.cli_bills:bill"},
}


@hookimpl
def register_models():
    from plugins.procurement import models

    return [models]


@hookimpl
def register_routes(register):
    from plugins.procurement.api import purchase_orders, stock

    register(stock)
    register(purchase_orders)


@hookimpl
def register_settings(register):
    from plugins.procurement.settings import ProcurementSettings

    register("procurement", ProcurementSettings)


@hookimpl
def register_template_dirs():
    from pathlib import Path

    return [Path(__file__).parent / "templates"]


@hookimpl
def register_jobs(register):
    from core.jobs import Job
    from plugins.procurement.services_reorder import reorder_job

    # latest: today's forecast already counts everything missed; one run orders what it needs
    register(Job(name="procurement.reorder", run=reorder_job, catch_up="latest",
                 summary="order what the reorder rules need (one summary to purchasing)"))
    from plugins.procurement.inbox import bills_inbox_job

    # latest: the inbox holds whatever was missed; one run imports it all
    register(Job(name="procurement.bills_inbox", run=bills_inbox_job, every_minutes=15, own_transactions=True,
                 catch_up="latest", summary="import the supplier bills dropped in bills/inbox/"))


@hookimpl
def register_data_kinds(register):
    from plugins.procurement.importer import KINDS

    for kind in KINDS:
        register(kind)


@hookimpl
def install(app, session):
    """Rebuild the stock summaries from the ledger and the orders (orders confirmed while disabled count)."""
    from plugins.procurement.services_stock import rebuild_levels

    rebuild_levels(session)


@hookimpl
def order_confirmed(app, session, order):
    """Reserve the order's stock (or ship it at once) and evaluate the products' reorder rules."""
    from plugins.procurement.services_stock import on_order_confirmed

    on_order_confirmed(app, session, order)


@hookimpl
def order_delivered(app, session, order):
    """Move the order's goods out of stock (unless shipped on confirmation already)."""
    from plugins.procurement.services_stock import on_order_delivered

    on_order_delivered(app, session, order)


@hookimpl
def order_cancelled(app, session, order):
    """Release the reservation of a confirmed order (goods already shipped come back)."""
    from plugins.procurement.services_stock import on_order_cancelled

    on_order_cancelled(app, session, order)


@hookimpl
def register_documents(register):
    from plugins.procurement.documents import document_kinds

    for kind in document_kinds():
        register(kind)


@hookimpl
def report_sections(app, session, period):
    from plugins.procurement.sections import report_section
    from plugins.procurement.sections_bills import report_bills_section

    return [report_section(app, session, period), report_bills_section(app, session, period)]


@hookimpl(optionalhook=True)
def bank_debits_imported(app, session, lines):
    """Billing's bank import found debits: the bills being paid they pay are cleared.

    Optional: procurement works without billing (no bank import, no call); with billing enabled it
    listens to this hook rather than importing billing or reading its tables.
    """
    from plugins.procurement.clearing import clear_bills

    clear_bills(app, session, lines)


@hookimpl
def plan_sections(app, session, period):
    from plugins.procurement.sections import plan_section

    return plan_section(app, session, period)


@hookimpl
def plan_cash(app, session, period):
    """Cash out: supplier bills to pay and what the purchase orders will still bill."""
    from plugins.procurement.sections_bills import plan_cash as procurement_cash

    return procurement_cash(app, session, period)


@hookimpl
def register_permissions(register):
    from plugins.procurement.rights import PERMISSIONS

    for permission in PERMISSIONS:
        register(permission)


@hookimpl
def register_fields(register):
    """Other modules may add fields to its purchase orders (core.extensions)."""
    from core.extensions import Extensible

    register(Extensible("purchase_order", "procurement_purchase_order"))
