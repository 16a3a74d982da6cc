"""Test plugin: writes a partner inside order_confirmed (must be rolled back with the command)."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_writer", "version": "1.0", "depends": [], "migrations": None}

WRITTEN_NAME = "Written by fk_writer"


@hookimpl
def order_confirmed(app, session, order):
    from core.models import Partner

    session.add(Partner(name=WRITTEN_NAME, email="writer@example.com"))
    session.flush()
