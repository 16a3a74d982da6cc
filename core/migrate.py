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
