"""The kernel's models and its migrations describe the same schema, on SQLite and PostgreSQL.

A model changed without a migration (a new column, an index, a type) makes these tests fail.
"""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from alembic.script import ScriptDirectory

from core import builtin
from core.db import Base
from core.migrate import alembic_config, tables_of

# The kernel declares its model modules through its own ``register_models`` hook: importing them
# puts every kernel table on the shared metadata, the way ``crm migrate --check`` sees them.
builtin.register_models()
KERNEL_TABLES = {name for name in Base.metadata.tables if name.startswith("core_")}
ENTITY_TABLES = {"core_partner", "core_contact", "core_user", "core_team", "core_team_member", "core_product",
                 "core_sales_order", "core_sales_order_line"}


def _table_of(diff) -> str | None:
    """The table a diff entry of ``compare_metadata`` is about."""
    if isinstance(diff, list):  # modify_* entries come grouped per column
        diff = diff[0]
    kind, *rest = diff
    if kind.startswith("modify_"):
        return rest[1]  # (kind, schema, table, column, ...)
    subject = rest[0]
    if kind in ("add_table", "remove_table"):
        return subject.name
    if kind in ("add_column", "remove_column"):
        return rest[1]
    table = getattr(subject, "table", None)
    return getattr(table, "name", None)


def kernel_differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    # Plugins' tables may be on the shared metadata when a plugin was imported by another test;
    # only the kernel's tables are migrated in a workspace without modules.
    diffs = compare_metadata(context, tables_of(("core_",)))
    return [d for d in diffs if (_table_of(d) or "").startswith("core_") or _table_of(d) is None]


def test_kernel_tables_match_models(app):
    with app.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert KERNEL_TABLES <= tables
        assert kernel_differences(connection) == []


def test_kernel_metadata_holds_the_entities_and_nothing_unprefixed():
    assert ENTITY_TABLES <= KERNEL_TABLES
    assert all("_" in name for name in Base.metadata.tables)


def test_a_model_change_without_migration_is_detected(app):
    """The check above is not vacuous: a column added to the metadata only is reported."""
    from sqlalchemy import Column, MetaData, String

    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        if table.name in KERNEL_TABLES:
            table.to_metadata(metadata)
    metadata.tables["core_partner"].append_column(Column("nickname", String(50)))
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    assert [(d[0], d[2], d[3].name) for d in diffs if not isinstance(d, list) and d[0] == "add_column"] == [
        ("add_column", "core_partner", "nickname")]


def test_kernel_branch_downgrades_to_base_and_upgrades_again(app):
    with app.engine.begin() as connection:
        cfg = alembic_config(app, connection)
        command.downgrade(cfg, "core@base")
    with app.engine.connect() as connection:
        assert not KERNEL_TABLES & set(inspect(connection).get_table_names())
        assert MigrationContext.configure(connection).get_current_heads() == ()
    with app.engine.begin() as connection:
        command.upgrade(alembic_config(app, connection), "core@head")
    with app.engine.connect() as connection:
        assert KERNEL_TABLES <= set(inspect(connection).get_table_names())
        head = ScriptDirectory.from_config(alembic_config(app, connection)).get_revision("core@head").revision
        assert MigrationContext.configure(connection).get_current_heads() == (head,)
        assert kernel_differences(connection) == []


@pytest.mark.modules("billing")
def test_migrate_check_catches_a_model_changed_without_its_migration(workspace, app, crm):
    assert crm("migrate", "--check", "--json").json == {"pending": [], "drift": []}
    with app.engine.begin() as connection:  # as if the model had gained a column no migration adds
        connection.exec_driver_sql("ALTER TABLE billing_payment_term DROP COLUMN discount_days")
    result = crm("migrate", "--check", expect=1)
    assert result.stdout.splitlines() == ["models and database differ (a migration is missing):",
                                          "  add_column billing_payment_term discount_days"]


@pytest.mark.modules("billing")
def test_migrate_check_ignores_a_disabled_module_s_tables_loaded_in_part(crm):
    """A process that read a list of a module's records loaded only that list's tables, whose keys
    may name tables it never loaded: the check compares the enabled modules' tables only."""
    from sqlalchemy import Column, ForeignKey, Integer, Table

    partial = Table("zz_elsewhere_line", Base.metadata, Column("id", Integer, primary_key=True),
                    Column("order_id", ForeignKey("zz_elsewhere_order.id")))  # a table never loaded
    try:
        assert crm("migrate", "--check", "--json").json == {"pending": [], "drift": []}
    finally:
        Base.metadata.remove(partial)



@pytest.mark.parametrize("module", sorted(
    ".".join(path.relative_to(path.parents[2] if path.parent.name != "core" else path.parents[1])
             .with_suffix("").parts)
    for root in [__import__("pathlib").Path(__file__).resolve().parents[2]]
    for path in [*root.glob("core/models*.py"), *root.glob("plugins/*/models*.py")]))
def test_each_table_file_loads_the_tables_its_keys_name(module):
    """A list loads only the table files it needs: each must bring the tables its foreign keys name,
    or a flush (which orders tables by their keys) fails in a process that loaded it alone."""
    import subprocess
    import sys

    probe = (f"import {module}\nfrom sqlalchemy.orm import configure_mappers\nfrom core.db import Base\n"
             "configure_mappers()\nprint(len(Base.metadata.sorted_tables))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
