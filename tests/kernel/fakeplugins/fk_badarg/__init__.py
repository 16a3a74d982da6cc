"""Test plugin implementing a real hook with an argument the spec does not have."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_badarg", "version": "1.0", "depends": [], "migrations": None}


@hookimpl
def order_confirmed(app, session, order, invoice):
    pass
