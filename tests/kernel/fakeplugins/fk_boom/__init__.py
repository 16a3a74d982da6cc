"""Test plugin: order_confirmed raises, from a helper a few frames down."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_boom", "version": "1.0", "depends": [], "migrations": None}


def _deep(order):
    raise RuntimeError(f"boom on {order!r}")


@hookimpl
def order_confirmed(app, session, order):
    _deep("the order")
