"""Test plugin: order_confirmed refuses with a CrmError."""

from core.errors import StateError
from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_crmerr", "version": "1.0", "depends": [], "migrations": None}


@hookimpl
def order_confirmed(app, session, order):
    raise StateError("refused by fk_crmerr")
