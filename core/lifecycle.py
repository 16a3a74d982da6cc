"""Creating a workspace, enabling and disabling modules, migrating.

Enabling is one transaction on the database (the module's migrations and its ``install`` seed
data); the config file is rewritten only after it commits, so a failure leaves the module
disabled and its tables absent. Enabling again after a crash between the two is harmless:
the migrations are already applied and ``install`` does not duplicate its data.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core.app import App
from core.config import CONFIG_NAME, default_config_text, load_config, write_enabled
from core.errors import ConfigError, ModuleError
from core.files import private_folder, write_private
from core.modules import closure, dependents, resolve_order


def init_workspace(folder: Path, *, company: dict | None = None, database_url: str | None = None,
                   modules: list[str] = (), today=None, locale: str = "fr_FR", **identity) -> App:
    """Write ``crm.toml`` in ``folder``, create the database with the ``company``'s identity
    (fields of ``crm company set``; ``identity`` keywords such as ``name=`` add to it), enable ``modules``."""
    from core.schemas import CompanySchema, load

    path = folder / CONFIG_NAME
    if path.exists():
        raise ConfigError(f"{path} already exists: this folder is already a workspace")
    if database_url:
        from core.config import check_database_url

        try:
            check_database_url(database_url)
        except ConfigError as exc:
            raise ConfigError(f"--database-url: {exc}") from None
    text = default_config_text(database_url=database_url or "sqlite:///crm.db", locale=locale)
    from core.config import parse_config

    parse_config(text, path)
    company = {key: value for key, value in {**(company or {}), **identity}.items() if value not in (None, "")}
    load(CompanySchema(), company, "company")  # refuse a bad SIREN or IBAN before writing anything (folder included)
    private_folder(folder)
    write_private(path, text.encode("utf-8"))  # 0600: the file names the database
    app = App(load_config(path), today=today)
    migrate(app)
    if company:
        from core.services.company import set_company

        with app.transaction() as session:
            set_company(app, session, company)
    for module in modules:
        app = enable_module(app, module)
    return app


def migrate(app: App) -> list[str]:
    """Upgrade the kernel and every enabled module to their latest schema, in one transaction."""
    from core import migrate as migrations

    from core.security import adopt_operator

    modules = app.modules
    with app.engine.begin() as connection:
        applied = migrations.upgrade(app, connection, modules)
        adopt_operator(connection)  # whoever creates or migrates the workspace is never locked out
        if applied:
            from core.pgroles import grant_everyone

            grant_everyone(app, connection)  # the operators' roles reach the new tables (PostgreSQL)
        return applied


def enable_module(app: App, name: str) -> App:
    """Enable ``name`` and whatever it depends on, migrating and seeding each; returns the new app.

    :raises ModuleError: unknown module, missing dependency, cycle, or a module that fails to load.
    """
    from sqlalchemy.orm import Session

    from core import migrate as migrations

    needed = closure(app.entries, name)
    new = [module for module in needed if module not in app.config.enabled]
    if not new:
        return app
    _require_modules_right(app)
    enabled = list(app.config.enabled) + new
    resolve_order(app.entries, enabled)
    candidate = App(replace(app.config, enabled=enabled), today=app._today, entries=app.entries)
    candidate.__dict__["engine"] = app.engine
    candidate.pm  # import and register now: a module that fails to load is refused here
    with app.engine.begin() as connection:
        migrations.upgrade(candidate, connection, candidate.modules)
        session = Session(bind=connection, expire_on_commit=False, info={"app": candidate})
        for module in new:
            candidate.call_one(module, "install", app=candidate, session=session)
        session.flush()
        from core import audit

        candidate.actor = app.actor
        for module in new:
            audit.record(candidate, session, "module", record_type="module", label=module,
                         changes={"enabled": [False, True]})
        session.close()
        from core.pgroles import grant_everyone

        grant_everyone(candidate, connection)  # the operators' roles reach the module's tables (PostgreSQL)
    if app.config.path is not None:
        write_enabled(app.config.path, enabled)
    candidate.enabled_now = new
    return candidate


def disable_module(app: App, name: str) -> App:
    """Disable ``name``; its tables and data stay. Refused while an enabled module needs it."""
    if name not in app.config.enabled:
        if name not in app.entries:
            raise ModuleError(f"no module named '{name}' is installed")
        raise ModuleError(f"module '{name}' is not enabled")
    needing = dependents(app.entries, app.config.enabled, name)
    if needing:
        raise ModuleError(f"cannot disable '{name}': {', '.join(needing)} depend"
                          f"{'s' if len(needing) == 1 else ''} on it (disable "
                          f"{'it' if len(needing) == 1 else 'them'} first)")
    enabled = [module for module in app.config.enabled if module != name]
    _require_modules_right(app, disabled=name)
    if app.config.path is not None:
        write_enabled(app.config.path, enabled)
    return App(replace(app.config, enabled=enabled), today=app._today, entries=app.entries)


def _require_modules_right(app: App, *, disabled: str | None = None) -> None:
    """Only holders of ``core.modules`` enable or disable a module; a disabling goes into the trail."""
    from core.security import require

    with app.transaction() as session:
        require(app, session, "core.modules")
        if disabled:
            from core import audit

            audit.record(app, session, "module", record_type="module", label=disabled, changes={"enabled": [True, False]})


def module_states(app: App) -> list[dict]:
    """Every installed module with its version, state, dependencies and problems."""
    rows = []
    for name, entry in sorted(app.entries.items()):
        rows.append({
            "name": name,
            "version": entry.version,
            "state": "enabled" if name in app.config.enabled else "disabled",
            "summary": entry.manifest.summary if entry.manifest else "",
            "depends": list(entry.depends),
            "distribution": entry.distribution,
            "entry_point": entry.target,
            "problem": entry.problem,
        })
    for name in app.config.enabled:
        if name not in app.entries:
            rows.append({"name": name, "version": None, "state": "missing", "summary": "",
                         "depends": [], "distribution": None, "entry_point": None,
                         "problem": "enabled in the config but not installed"})
    return rows
