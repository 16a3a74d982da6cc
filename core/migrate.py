"""Schema migrations: Alembic with one version branch per module.

The kernel's branch is labelled ``core``; each module's first revision carries
``branch_labels = ("<module>",)`` and ``depends_on = "core"`` (plus the branches of the modules
it depends on). Every installed module's folder is known to Alembic, enabled or not, so the
revisions of a disabled module (whose tables are kept) still resolve.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import CrmError

KERNEL_VERSIONS = Path(__file__).parent / "migrations" / "versions"


def alembic_config(app, connection=None):
    """An Alembic :class:`~alembic.config.Config` for this app's installed modules."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    locations = [str(KERNEL_VERSIONS)]
    for entry in app.entries.values():
        if entry.migrations_dir is not None:
            locations.append(str(entry.migrations_dir))
    cfg.set_main_option("path_separator", "os")
    import os

    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["connection"] = connection
    # what crm.toml [company] said before the identity moved to the database (core_0007 seeds it)
    cfg.attributes["company_seed"] = dict(getattr(app.config.company, "legacy", None) or {})
    return cfg


def branch_targets(app, modules) -> list[str]:
    """The ``branch@head`` targets for the kernel and ``modules`` that have migrations."""
    targets = ["core@head"]
    for name in modules:
        if app.entries[name].migrations_dir is not None:
            targets.append(f"{name}@head")
    return targets


def upgrade(app, connection, modules) -> list[str]:
    """Upgrade the kernel and ``modules`` to their heads on ``connection`` (inside its transaction).

    :returns: the revisions applied, oldest first.
    """
    from alembic import command

    cfg = alembic_config(app, connection)
    # Every revision about to run, not the difference of heads: two revisions applied on one
    # branch move its head once, and the operator must see both.
    waiting = pending(app, connection, modules)
    try:
        for target in branch_targets(app, modules):
            command.upgrade(cfg, target)
    except CrmError:
        raise
    except Exception as exc:
        raise CrmError(f"migration failed: {type(exc).__name__}: {exc}") from exc
    return waiting


def pending(app, connection, modules) -> list[str]:
    """Revisions of the kernel and ``modules`` not yet applied to the database."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(app, connection))
    applied = set()
    for head in MigrationContext.configure(connection).get_current_heads():
        applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    wanted = []
    for target in branch_targets(app, modules):
        # oldest first within each branch, the kernel's branch before the modules' (the order they run in)
        for rev in reversed(list(script.iterate_revisions(target, "base"))):
            if rev.revision not in applied and rev.revision not in wanted:
                wanted.append(rev.revision)
    return wanted


def model_drift(app, connection) -> list[str]:
    """Differences between the enabled modules' models and the database, one line each.

    A module that changes a model and forgets the migration is caught here (``crm migrate
    --check``), before its users meet a missing column. The models come from each module's
    ``register_models``; only the tables of the kernel and the enabled modules are compared
    (a disabled module keeps its tables, and may have been imported by someone else).
    """
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    app.call("register_models")  # importing them puts their tables on the shared metadata
    prefixes = tuple(f"{name}_" for name in ["core", *app.modules])
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    lines = []
    for diff in compare_metadata(context, tables_of(prefixes)):
        line = _describe(diff)
        if line is not None and line[1].startswith(prefixes):
            lines.append(" ".join(line))
    return lines


def tables_of(prefixes: tuple[str, ...]):
    """A metadata holding a copy of each table of the shared one whose name starts with one of
    ``prefixes``: what a comparison looks at. The shared metadata may also hold some tables of a
    module that is not enabled (another workspace of the process read a list of its records, which
    loads only the tables that list needs): their keys may name tables that were never loaded."""
    from sqlalchemy import MetaData

    from core.db import Base

    compared = MetaData(naming_convention=Base.metadata.naming_convention)
    for name, table in Base.metadata.tables.items():
        if name.startswith(prefixes):
            table.to_metadata(compared)
    return compared


def _describe(diff) -> tuple[str, str, str] | None:
    """(what, table, detail) of one ``compare_metadata`` entry."""
    if isinstance(diff, list):  # modifications of one column come grouped
        diff = diff[0]
    kind, *rest = diff
    if kind.startswith("modify_"):
        return kind, rest[1], rest[2]
    subject = rest[0]
    if kind in ("add_table", "remove_table"):
        return kind, subject.name, ""
    if kind in ("add_column", "remove_column"):
        return kind, rest[1], rest[2].name
    table = getattr(getattr(subject, "table", None), "name", None)
    return (kind, table, getattr(subject, "name", "") or "") if table else None
