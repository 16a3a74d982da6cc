"""Test plugin depending on fk_alpha."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_dep", "version": "1.0", "depends": ["fk_alpha"], "migrations": None}


@hookimpl
def order_cancelled(order, reason):
    return None
