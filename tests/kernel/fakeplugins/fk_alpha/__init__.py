"""Test plugin: implements order_confirmed and records the call."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_alpha", "version": "1.0", "summary": "alpha", "depends": [], "migrations": None}

CALLS = []


@hookimpl
def order_confirmed(app, session, order):
    CALLS.append(order)
