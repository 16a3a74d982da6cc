"""Test plugin implementing a hook that does not exist (a typo)."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_misspelt", "version": "1.0", "depends": [], "migrations": None}


@hookimpl
def order_confirmd(app, session, order):
    pass
