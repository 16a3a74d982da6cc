"""Credit hold ("blocage client"): collections stops new business with a customer until it pays.

A customer on hold can still get quotes (draft orders), but no order of theirs can be confirmed:
the ``order_confirmed`` hook refuses, which rolls the confirmation back and leaves the order a
draft. Holds are kept as history (who placed and released them, when, and why). The partner
gains extension fields (``register_fields``): a credit limit, which an order confirmation may not
exceed, and the hold's state, shown wherever the partner is (``crm partner show|list``, JSON, CSV).

This package is a third-party Entonnoir module: it imports only the kernel (``core``), never a
built-in plugin, and the kernel finds it through its ``entonnoir.plugins`` entry point.
"""

from core.hookspecs import hookimpl

# Read by the kernel with ``ast`` (never imported to list, enable or disable the module): keep it literal.
MANIFEST = {
    "name": "credit_hold",
    "version": "0.1.0",
    "summary": "Credit holds: no order confirmed for a customer on hold",
    "depends": [],
    "migrations": "migrations",
}


@hookimpl
def register_models():
    from entonnoir_credit_hold import models

    return [models]


@hookimpl
def register_commands(cli):
    from entonnoir_credit_hold.cli import hold

    cli.add_command(hold)


@hookimpl
def register_fields(register):
    from entonnoir_credit_hold.fields import partner_extension

    register(partner_extension())


@hookimpl
def order_confirmed(app, session, order):
    """Refuse to confirm an order of a customer on credit hold or over their credit limit (the
    confirmation rolls back)."""
    from entonnoir_credit_hold.services import check_order

    check_order(session, order)


@hookimpl
def register_permissions(register):
    """Who may place and release holds (checked in the services too), and who sees them."""
    from core.security import Permission

    register(Permission("credit_hold.read", "See the credit holds",
                        roles=("sales", "sales_manager", "collections", "accountant"), commands=("hold list",)))
    register(Permission("credit_hold.manage", "Place and release a customer's credit hold",
                        roles=("collections", "accountant"), commands=("hold add", "hold remove")))
