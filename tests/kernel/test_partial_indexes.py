"""Partial indexes: the models' ``WHERE`` is the one the migrations created, on both databases, and a
command on SQLite never loads PostgreSQL's dialect for them (``core.db.partial_index``).

Alembic's comparison (``crm migrate --check``, test_migrations.py) does not look at an index's
``WHERE``: this test does.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.schema import CreateIndex

from core.db import Base

pytestmark = pytest.mark.modules("billing", "procurement")


def _partial_indexes():
    return [index for table in Base.metadata.tables.values() for index in table.indexes
            if "postgresql_where" in index.info]


def _created(connection, name: str) -> str | None:
    """The WHERE of index ``name`` as the database keeps it (PostgreSQL rewrites it: casts, brackets)."""
    if connection.dialect.name == "postgresql":
        return connection.scalar(text("SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i JOIN pg_class c "
                                      "ON c.oid = i.indexrelid WHERE c.relname = :n AND c.relnamespace = "
                                      "current_schema()::regnamespace"), {"n": name})
    sql = connection.scalar(text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"), {"n": name})
    return sql.split(" WHERE ", 1)[1] if sql and " WHERE " in sql else None


def test_each_partial_index_has_the_where_its_migration_created(app):
    import core.scheduler  # noqa: F401  (the job runs' index)

    indexes = _partial_indexes()
    assert {"uq_billing_invoice_order", "ix_billing_invoice_open_due", "uq_core_job_run_completed",
            "uq_procurement_purchase_order_draft_supplier",
            "ix_procurement_purchase_order_line_unsummarised"} <= {index.name for index in indexes}
    # each model's index made again under another name, read back the way the database keeps it, undone
    with app.engine.connect() as connection, connection.begin() as transaction:
        for number, index in enumerate(indexes):
            model = str(CreateIndex(index).compile(dialect=connection.dialect))
            assert " WHERE " in model, (index.name, model)
            connection.exec_driver_sql(model.replace(index.name, f"probe_{number}", 1))
            expected = _created(connection, f"probe_{number}")
            assert expected is not None and _created(connection, index.name) == expected, (index.name, model)
        transaction.rollback()


def test_models_on_sqlite_never_load_postgresql_dialect_and_get_its_where_with_an_engine_on_it():
    code = ("import sys, core.scheduler, plugins.billing.models, plugins.procurement.models\n"
            "from core.db import Base, make_engine\n"
            "index = Base.metadata.tables['billing_invoice'].indexes\n"
            "index = next(i for i in index if i.name == 'ix_billing_invoice_open_due')\n"
            "print('sqlalchemy.dialects.postgresql' in sys.modules)\n"
            "make_engine('postgresql://nobody@127.0.0.1:1/none')  # no connection is made\n"
            "print(index.dialect_options['postgresql']['where'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["False", "state IN ('posted', 'partially_paid')"]
