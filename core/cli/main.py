"""The root ``crm`` command: global options, plugin command groups, error handling.

Imports stay cheap here: models, SQLAlchemy and rich are imported inside the commands that use
them, so ``crm --help`` answers fast.
"""

from __future__ import annotations

import os
import sys

import click

from core import __version__
from core.cli.context import State

KERNEL_COMMANDS = {
    "init": "core.cli.admin:init",
    "modules": "core.cli.admin:modules",
    "hooks": "core.cli.admin:hooks",
    "migrate": "core.cli.admin:migrate",
    "company": "core.cli.company:company",
    "partner": "core.cli.partners:partner",
    "product": "core.cli.records:product",
    "user": "core.cli.records:user",
    "team": "core.cli.records:team",
    "order": "core.cli.orders:order",
    "import": "core.cli.data:import_",
    "export": "core.cli.data:export",
    "jobs": "core.cli.jobs:jobs",
    "notifications": "core.cli.notifications:notifications",
    "plugin": "core.cli.plugin:plugin",
    "report": "core.cli.reports:report",
    "documents": "core.cli.documents:documents",
    "plan": "core.cli.reports:plan",
    "demo": "core.cli.demo:demo",
    "config": "core.cli.config:config",
    "whoami": "core.cli.rights:whoami",
    "role": "core.cli.rights:role",
    "audit": "core.cli.rights:audit",
    "serve": "core.cli.api:serve",
    "token": "core.cli.api:token",
    "shell": "core.cli.shell:shell",
}
HELP_OPTIONS = {"-h", "--help"}
#: Commands that must work even when a module is broken, so an admin can recover.
RECOVERY_COMMANDS = {"init", "modules", "migrate", "hooks", "plugin", "demo", "config"}
#: Commands that run before anyone can be identified (no workspace yet, or its schema to upgrade):
#: the files' and the database's own permissions guard them (docs/permissions.md).
UNCHECKED_COMMANDS = {"init", "migrate", "hooks", "plugin", "demo", "whoami", "shell"}
#: Kernel groups the modules extend: a module's ``register_commands`` adds a click group of the same
#: name, and its subcommands join the kernel's (``crm export fec`` beside ``crm export KIND``).
EXTENSIBLE_GROUPS = {"export"}


class PluginCommands(click.Group):
    """What ``register_commands`` fills: the modules' own commands, and their subcommands of the
    extensible kernel groups (a subcommand name taken twice is an error naming both)."""

    def __init__(self):
        super().__init__()
        self.extensions: dict[str, dict[str, click.Command]] = {name: {} for name in EXTENSIBLE_GROUPS}

    def add_command(self, cmd, name=None):
        name = name or cmd.name
        if name not in EXTENSIBLE_GROUPS:
            super().add_command(cmd, name)
            return
        from core.errors import CrmError

        if not isinstance(cmd, click.Group):
            raise CrmError(f"a module registers a command 'crm {name}', which is the kernel's: register a click "
                           f"group named {name!r} instead, whose subcommands join `crm {name}`")
        for sub_name, sub in cmd.commands.items():
            taken = self.extensions[name].get(sub_name)
            if taken is not None:
                raise CrmError(f"two modules register 'crm {name} {sub_name}' ({_origin(taken)} and {_origin(sub)})")
            self.extensions[name][sub_name] = sub


def _origin(command) -> str:
    """The Python module a command comes from (who registered it)."""
    return getattr(command.callback, "__module__", None) or "?"


def kernel_listing(name: str) -> click.Command:
    """Kernel command ``name`` as ``crm --help`` lists it: its name and help read from the source,
    as the modules' commands are (:mod:`core.cli.lazy`), without importing it."""
    from pathlib import Path

    import core
    from core.cli.lazy import CommandRef

    return CommandRef(name, "kernel", KERNEL_COMMANDS[name], "core", Path(core.__file__).parent).placeholder()


class CrmGroup(click.Group):
    """Kernel commands load on demand; enabled modules add theirs by their manifest (core.cli.lazy),
    imported only when they run, or through the ``register_commands`` hook."""

    def _plugin_commands(self, ctx) -> dict:
        state = ctx.ensure_object(State)
        if state.plugin_commands is None:
            state.plugin_commands = {}
            app = state.modules_app()
            if app is not None:
                from core.cli.lazy import module_commands

                holder = PluginCommands()
                try:
                    commands, extending, by_hook = module_commands(app.entries, app.config.enabled,
                                                                   EXTENSIBLE_GROUPS)
                    for module in by_hook:
                        app.call_one(module, "register_commands", cli=holder)
                    state.plugin_commands = {**commands, **holder.commands}
                    state.plugin_extension_refs = extending  # loaded when their kernel group runs
                except Exception as exc:  # reported when a plugin command is asked for
                    state.plugin_error = exc
                state.plugin_extensions = holder.extensions
        return state.plugin_commands

    def extensions(self, ctx, group: str) -> dict:
        """The subcommands the enabled modules add to the kernel group ``group`` (a module's failure to
        register them is raised: it would otherwise read as an unknown subcommand)."""
        self._plugin_commands(ctx)
        state = ctx.ensure_object(State)
        if state.plugin_error is not None and not ctx.resilient_parsing:
            raise state.plugin_error
        refs = [ref for ref in state.plugin_extension_refs if ref.name == group]
        if refs:
            holder = PluginCommands()
            holder.extensions = state.plugin_extensions
            for ref in refs:
                holder.add_command(ref.load(), group)
            state.plugin_extension_refs = [ref for ref in state.plugin_extension_refs if ref.name != group]
        return (state.plugin_extensions or {}).get(group, {})

    def list_commands(self, ctx):
        names = set(KERNEL_COMMANDS) | set(self.commands) | set(self._plugin_commands(ctx))
        return sorted(names)

    def format_commands(self, ctx, formatter):
        ctx.meta["crm.listing"] = True  # the commands are listed without being imported
        try:
            super().format_commands(ctx, formatter)
        finally:
            del ctx.meta["crm.listing"]

    def get_command(self, ctx, name):
        from core.cli.lazy import CommandRef

        if name in self.commands:
            return self.commands[name]
        if name in KERNEL_COMMANDS:
            import importlib

            if ctx.meta.get("crm.listing"):
                return kernel_listing(name)
            module, attr = KERNEL_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attr)
        commands = self._plugin_commands(ctx)
        if name not in commands and ctx.obj and ctx.obj.plugin_error is not None:
            raise ctx.obj.plugin_error
        if name not in commands and ctx.obj and not ctx.resilient_parsing:
            # The modules' commands were listed from a quick read of [modules]; if that found no
            # usable config, the command may be a module's that the broken file hides: the
            # config's own error is the real cause, not "No such command".
            ctx.obj.app.pm
        command = commands.get(name)
        if isinstance(command, CommandRef):
            if ctx.meta.get("crm.listing"):
                return command.placeholder()
            command = commands[name] = command.load()
        return command


@click.group(cls=CrmGroup, context_settings={"help_option_names": sorted(HELP_OPTIONS), "max_content_width": 100})
@click.option("--config", "config_path", metavar="PATH", envvar="CRM_CONFIG",
              help="Config file (default: $CRM_CONFIG, else ./crm.toml).")
@click.option("--today", metavar="YYYY-MM-DD", envvar="CRM_TODAY",
              help="Business date for every time-based decision (default: $CRM_TODAY, else the calendar date).")
@click.option("--as", "as_login", metavar="LOGIN",
              help="Act as this user (needs the right core.impersonate; the audit trail says who really acted).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="crm")
@click.pass_context
def cli(ctx, config_path, today, as_login, debug):
    """Entonnoir: leads to deals, invoices to cash, sales to purchase orders.

    Run `crm init` in an empty folder to start; `crm modules list` shows the modules.
    """
    state = ctx.ensure_object(State)
    state.config_path = config_path
    state.today_text = today
    state.debug = debug
    ctx.call_on_close(state.close)
    if ctx.invoked_subcommand not in RECOVERY_COMMANDS and not ctx.resilient_parsing and not state.asks_help:
        # Load the enabled modules before any other command, so a broken one is reported at
        # once (naming it) rather than by whichever command first calls a hook. A kernel
        # command's --help needs no workspace.
        state.app.pm
    if ctx.invoked_subcommand not in UNCHECKED_COMMANDS and not ctx.resilient_parsing and not state.asks_help:
        _check_door(ctx, state)


def _check_door(ctx, state) -> None:
    """Every command asks the right it declares before it runs (the services check theirs again)."""
    from core.security import require_command

    path, leaf = command_path(ctx, state.command_args)
    if not leaf:
        return  # a group without its subcommand only shows its help
    state.command_path = path
    if ctx.invoked_subcommand == "config" and state.try_app() is None:
        return  # a config that does not load names no database to ask: editing the file is its boundary
    app = state.app
    if ctx.invoked_subcommand in RECOVERY_COMMANDS and "_permissions" not in app.__dict__:
        # an admin repairs a broken config or module with these: the rights are read without
        # checking every section first (the command itself reports the problems)
        from core.app import App
        from core.security import permissions

        light = App(app.config, check_settings=False, entries=app.entries)
        try:
            app.__dict__["_permissions"] = permissions(light)
        except Exception:  # a module that does not even load: the kernel's rights only
            app.__dict__["_permissions"] = _kernel_permissions()
    with app.transaction() as session:
        require_command(app, session, path)


def _kernel_permissions() -> dict:
    from core.rights import KERNEL_PERMISSIONS

    return {permission.name: permission for permission in KERNEL_PERMISSIONS}


def command_path(ctx, args: list[str]) -> tuple[str, bool]:
    """The command ``args`` name (``"invoice credit"``) and whether it is a command rather than a group."""
    command, path = ctx.command, []
    for arg in args:
        if not isinstance(command, click.Group) or arg.startswith("-"):
            break
        sub = command.get_command(ctx, arg)
        if sub is None:
            break
        # a command that serves many typed names (`crm export partners`) is checked under its own (`export KIND`)
        path.append(sub.name if getattr(sub, "serves_any_name", False) else arg)
        command = sub
    return " ".join(path), not isinstance(command, click.Group)


GLOBAL_VALUE_OPTIONS = {"--config": "config_path", "--today": "today_text", "--as": "as_login"}


def _prescan(argv: list[str]) -> tuple[State, list[str]]:
    """Take the global options wherever they are typed and put them first.

    ``crm jobs run --today 2026-12-01`` reads as naturally as ``crm --today 2026-12-01 jobs run``;
    knowing --config early also lets ``crm --help`` list the enabled modules' commands.
    """
    state = State()
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS:
            if "=" in arg:
                value = arg.split("=", 1)[1]
            elif index + 1 < len(argv):
                value = argv[index + 1]
                index += 1
            else:
                raise click.UsageError(f"Option '{name}' requires an argument.")
            setattr(state, GLOBAL_VALUE_OPTIONS[name], value)
            front += [name, value]
        elif arg == "--debug":
            state.debug = True
            front.append(arg)
        else:
            state.asks_help = state.asks_help or arg in HELP_OPTIONS
            rest.append(arg)
        index += 1
    state.command_args = rest
    state.config_path = state.config_path or os.environ.get("CRM_CONFIG")
    if not state.today_text and os.environ.get("CRM_TODAY"):
        state.today_text, state.today_source = os.environ["CRM_TODAY"], "$CRM_TODAY"
    return state, front + rest


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line on stderr for errors, exit 1 (2 for usage errors)."""
    if argv is None:  # the process is this one command (not a test or the demo calling it in a loop)
        _collect_later()
    try:
        state, argv = _prescan(list(sys.argv[1:] if argv is None else argv))
    except click.UsageError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    code = run(state, argv)
    if code:
        sys.exit(code)


def _collect_later(seconds: float = 1.0) -> None:
    """Start without the cyclic garbage collector, and bring it back after ``seconds``.

    An everyday command spends a sixth of its time letting the collector walk the objects its
    imports create (classes, tables, mappers: none of them garbage); it finishes before any cycle
    it makes could matter. A long command (an import, a job run, the demo) gets the collector back
    after a second, with the start-up objects frozen out of its way.
    """
    import gc
    import threading

    def collect_again():
        gc.freeze()
        gc.enable()

    gc.disable()
    timer = threading.Timer(seconds, collect_again)
    timer.daemon = True
    timer.start()


def run(state: State, argv: list[str]) -> int:
    """Run one command line (as :func:`_prescan` put it) for ``state``; errors are printed as one line.

    :returns: the exit status. ``crm`` exits with it; ``crm shell`` shows the next prompt.
    """
    try:
        cli.main(args=argv, prog_name="crm", obj=state, standalone_mode=False)
        state.record_command()
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the last line of defence turns errors into one line
        if state.debug:
            raise
        click.echo(f"error: {describe(exc)}", err=True)
        return getattr(exc, "exit_code", 1) if isinstance(getattr(exc, "exit_code", 1), int) else 1
    finally:
        # the command is recorded after click closed its context: release what that reopened
        state.close()


def describe(exc: BaseException) -> str:
    """One line for a person: our own errors as they are, database and OS errors summarised."""
    from core.errors import CrmError

    if isinstance(exc, CrmError):
        return str(exc)
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("sqlalchemy"):
        orig = getattr(exc, "orig", None)
        detail = str(orig or exc).strip().splitlines()[0]
        return f"database: {detail} (run with --debug for details)"
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
    return f"unexpected {name}: {str(exc).splitlines()[0] if str(exc) else ''} (run with --debug for details)"


if __name__ == "__main__":
    main()
