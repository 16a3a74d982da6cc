"""Admin commands: init, modules, hooks, migrate."""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.company import company_options, company_values
from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state

BUILT_IN = ("funnel", "billing", "procurement")


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@company_options
@click.option("--locale", type=click.Choice(["fr_FR", "en_GB", "en_US"]), default="fr_FR", show_default=True,
              help="The company's language: what staff read, and customers unless theirs is set.")
@click.option("--modules", "modules_text", default=",".join(BUILT_IN), show_default=True,
              help="Modules to enable, comma-separated ('' for none).")
@click.option("--database-url", default=None, help="Database URL instead of the SQLite file crm.db.")
@pass_state
def init(state, folder, modules_text, database_url, locale, **identity):
    """Create crm.toml and the database in FOLDER (default: here) and enable modules.

    The company options are those of `crm company set` (the identity printed on invoices); what is
    not given now can be set later, and posting an invoice says what is still missing.
    """
    from core.app import parse_today
    from core.lifecycle import init_workspace

    modules = [m.strip() for m in modules_text.split(",") if m.strip()]
    app = init_workspace(folder, company=company_values(identity), database_url=database_url,
                         modules=modules, today=parse_today(state.today_text), locale=locale)
    state.set_app(app)
    click.echo(f"created {app.config.path} (database: {_safe_url(app.config.database_url)}); "
               f"enabled: {', '.join(app.config.enabled) or 'none'}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def modules():
    """List, enable and disable modules."""


@modules.command("list")
@json_option
@pass_state
def modules_list(state, as_json):
    """Every installed module: version, state, dependencies (no module is imported)."""
    from core.lifecycle import module_states

    rows = module_states(state.app)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["depends"] = ", ".join(row["depends"])
        row["problem"] = row["problem"] or ""
    emit_table(rows, [("name", "Module"), ("version", "Version"), ("state", "State"), ("depends", "Depends"),
                      ("summary", "Summary"), ("problem", "Problem")], empty="no module is installed")


@modules.command("enable")
@click.argument("name")
@pass_state
def modules_enable(state, name):
    """Enable NAME (and what it depends on): migrate its tables in and seed its data."""
    from core.lifecycle import enable_module

    app = enable_module(state.app, name)
    new = getattr(app, "enabled_now", [])
    if not new:
        click.echo(f"module '{name}' is already enabled")
    else:
        click.echo(f"enabled: {', '.join(new)}")


@modules.command("disable")
@click.argument("name")
@pass_state
def modules_disable(state, name):
    """Disable NAME; its tables and data are kept for when it is enabled again."""
    from core.lifecycle import disable_module

    disable_module(state.app, name)
    click.echo(f"disabled: {name} (its data is kept)")


@modules.command("info")
@click.argument("name")
@json_option
@pass_state
def modules_info(state, name, as_json):
    """A module's manifest, state, dependants, and the hooks it implements (when enabled)."""
    from core.errors import ModuleError
    from core.lifecycle import module_states
    from core.modules import dependents

    app = state.app
    rows = {row["name"]: row for row in module_states(app)}
    if name not in rows:
        raise ModuleError(f"no module named '{name}' is installed (installed: {', '.join(sorted(rows))})")
    info = dict(rows[name])
    info["needed_by"] = dependents(app.entries, app.config.enabled, name)
    info["hooks"] = []
    if info["state"] == "enabled":
        plugin = app.pm.get_plugin(name)
        info["hooks"] = sorted(impl.name for impl in app.pm.get_hookcallers(plugin) or [])
    if as_json:
        emit_json(info)
        return
    info["depends"] = ", ".join(info["depends"]) or "-"
    info["needed_by"] = ", ".join(info["needed_by"]) or "-"
    info["hooks"] = ", ".join(info["hooks"]) or "-"
    emit_record(info, [("name", "Module"), ("version", "Version"), ("state", "State"), ("summary", "Summary"),
                       ("depends", "Depends on"), ("needed_by", "Needed by"), ("hooks", "Hooks"),
                       ("distribution", "Distribution"), ("entry_point", "Entry point"), ("problem", "Problem")])


@click.command()
@json_option
@click.option("--markdown", "as_markdown", is_flag=True,
              help="Print the hook reference (docs/hooks.md) with the built-in modules' implementations.")
@pass_state
def hooks(state, as_json, as_markdown):
    """Every hook (the kernel's, and those enabled modules offer each other) and the enabled modules
    that implement it."""
    from core.hookref import hook_table, markdown

    if as_markdown:
        click.echo(markdown(), nl=False)
        return

    rows = hook_table(state.try_app())
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["implemented_by"] = ", ".join(row["implemented_by"]) or "-"
    emit_table(rows, [("name", "Hook"), ("arguments", "Arguments"), ("offered_by", "Offered by"),
                      ("implemented_by", "Implemented by"), ("summary", "When")])


@click.command()
@click.option("--check", is_flag=True,
              help="Only list the migrations not yet applied and the models that differ from the database "
                   "(a model changed without its migration); exit 1 if any.")
@json_option
@pass_state
def migrate(state, check, as_json):
    """Upgrade the database schema of the kernel and every enabled module."""
    from core import migrate as migrations
    from core.lifecycle import migrate as run

    app = state.app
    if check:
        with app.engine.connect() as connection:
            waiting = migrations.pending(app, connection, app.modules)
            drift = [] if waiting else migrations.model_drift(app, connection)
        if as_json:
            emit_json({"pending": waiting, "drift": drift})
        elif waiting:
            click.echo("pending: " + ", ".join(waiting))
        elif drift:
            click.echo("models and database differ (a migration is missing):")
            for line in drift:
                click.echo(f"  {line}")
        else:
            click.echo("the database is up to date")
        if waiting or drift:
            raise SystemExit(1)
        return
    applied = run(app)
    if as_json:
        emit_json({"applied": applied})
    else:
        click.echo("applied: " + ", ".join(applied) if applied else "the database is up to date")
