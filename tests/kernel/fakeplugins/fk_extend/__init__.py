"""Test plugin: extension fields on partner, product, order and billing's invoice (core.extensions).

A credit limit and a segment on the partner (the limit listed, refused below the confirmed orders'
total), a computed "confirmed orders' total", a warranty on the product, a project code on the
order, a cost centre on the invoice. Everything is stored in fk_extend's own tables.
"""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_extend", "version": "1.0", "depends": ["billing"], "migrations": "migrations"}


@hookimpl
def register_models():
    from fk_extend import models

    return [models]


@hookimpl
def register_fields(register):
    from fk_extend.fields import extensions

    for extension in extensions():
        register(extension)


@hookimpl
def invoice_posted(app, session, invoice):
    """The invoice's cost centre is its order's project (a module writes its own invoice fields)."""
    from core import extensions

    if invoice.order_id is None:
        return
    project = extensions.read(app, session, "order", [invoice.order_id], dump=False)[invoice.order_id]["fk_extend"]
    extensions.save(app, session, "invoice", invoice, {"fk_extend": {"cost_centre": project["project"]}})
