"""Billing's models and its migration describe the same tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import Base

pytestmark = pytest.mark.modules("billing")


def test_billing_tables_match_models(app):
    app.call("register_models")
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "billing_" in repr(d)]
    assert diffs == []
    tables = {t for t in Base.metadata.tables if t.startswith("billing_")}
    assert "billing_partner_term" in tables and "billing_invoice" in tables


def test_hooks_offered_by_billing_are_registered(app):
    names = {name for name in dir(app.pm.hook) if not name.startswith("_")}
    assert {"invoice_posted", "payment_recorded"} <= names
