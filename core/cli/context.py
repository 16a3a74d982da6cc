"""What every command shares: the lazily built app and the output helpers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

import click


@dataclass
class State:
    config_path: str | None = None
    today_text: str | None = None
    today_source: str = "--today"  # or "$CRM_TODAY": where today_text came from
    debug: bool = False
    asks_help: bool = False  # a command's --help is shown without loading the modules
    plugin_commands: dict | None = None
    plugin_error: BaseException | None = None
    #: subcommands the modules add to an extensible kernel group: ``{"export": {"fec": command}}``
    plugin_extensions: dict | None = None
    plugin_extension_refs: list = field(default_factory=list)  # manifest commands extending kernel groups
    as_login: str | None = None  # crm --as LOGIN
    command_args: list = field(default_factory=list)  # what follows the global options
    command_path: str | None = None  # the command that passed the door's check
    _app: object = field(default=None, repr=False)

    @property
    def app(self):
        """The app for this invocation (config read on first use; errors are the user's)."""
        if self._app is None:
            from core.app import App, parse_today
            from core.config import load_config

            self._app = App(load_config(self.config_path), today=parse_today(self.today_text))
            self._app.as_login = self.as_login
            if self.today_text:
                self._app.today_source = self.today_source
            self._app.command = " ".join(["crm", *self.command_args])
        return self._app

    def set_app(self, app) -> None:
        self._app = app

    def try_app(self):
        """The app, or None when there is no usable config (``crm --help`` in an empty folder)."""
        try:
            return self.app
        except Exception:  # the command that needs the config reports the problem itself
            return None

    def modules_app(self):
        """An app that knows the enabled modules, for listing their commands.

        The full, validated app when a command already built it; else one read cheaply from the
        ``[modules]`` table alone, so ``crm --help`` does not pay for validating the whole config.
        """
        if self._app is not None:
            return self._app
        from core.app import App
        from core.config import peek_enabled

        config = peek_enabled(self.config_path)
        # Listing commands checks nothing: the command that runs loads and checks the whole file.
        return App(config, check_settings=False) if config is not None else None

    def record_command(self) -> None:
        """Put a command that may have changed something in the trail (reads are not recorded)."""
        if self._app is None or not self.command_path:
            return
        from core.security import command_rights

        right = command_rights(self._app).get(self.command_path, "")
        if right.endswith(".read") or right in ("core.open", "core.audit"):
            return
        from core import audit

        with self._app.transaction() as session:
            audit.record(self._app, session, "command", record_type="command", label=self.command_path)

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_state = click.make_pass_decorator(State, ensure=True)


class DayType(click.ParamType):
    """A business date typed as YYYY-MM-DD, from 2000-01-01 to 2099-12-31 (a ``datetime.date``)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        import datetime as dt

        from core.validators import FIRST_DATE, LAST_DATE

        if isinstance(value, dt.date):
            return value
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date (expected YYYY-MM-DD)", param, ctx)
        if not FIRST_DATE <= day <= LAST_DATE:
            self.fail(f"{value} is out of range (dates run from {FIRST_DATE} to {LAST_DATE})", param, ctx)
        return day


#: the click type of every date option
DAY = DayType()


def parse_amount(text: str, option: str, places: int = 2):
    """An exact amount typed after ``option``, at least 0; a usage error naming the option otherwise."""
    from decimal import Decimal

    from marshmallow import ValidationError

    from core.schemas import Exact

    try:
        return Exact(places, minimum=Decimal(0)).deserialize(text)
    except ValidationError as exc:
        raise click.BadParameter(exc.messages[0], param_hint=option) from None

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output (stable keys).")


def given(values: dict) -> dict:
    """The options the user gave (those left out are None, and do not change the record)."""
    return {key: value for key, value in values.items() if value is not None}


def emit_json(data) -> None:
    """Print ``data`` as JSON (Decimals and dates as strings, exact)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def emit_table(rows: list[dict], columns: list[tuple[str, str]], *, title: str | None = None,
               empty: str = "nothing to show") -> None:
    """Print rows as a table; ``columns`` is ``[(key, header)]``."""
    if not rows:
        click.echo(empty)
        return
    import os
    import shutil

    from core.cli.table import render

    terminal = sys.stdout.isatty()
    # piped or redirected: one line per row, however wide (a folded cell breaks grep, cut and awk)
    text = render(title, [header for _, header in columns], [key in NUMERIC_KEYS for key, _ in columns],
                  [[_cell(row.get(key)) for key, _ in columns] for row in rows],
                  width=shutil.get_terminal_size().columns if terminal else sys.maxsize,
                  styled=terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb")
    if text is not None:
        click.echo(text, nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for key, header in columns:
        justify = "right" if key in NUMERIC_KEYS else "left"
        table.add_column(header, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key, _ in columns))
    Console(soft_wrap=False, width=None if terminal else 100_000).print(table)


def emit_record(data: dict, fields: list[tuple[str, str]]) -> None:
    """Print one record as ``label: value`` lines."""
    width = max(len(label) for _, label in fields)
    for key, label in fields:
        click.echo(f"{label.ljust(width)}  {_cell(data.get(key))}")


NUMERIC_KEYS = {"id", "total", "total_untaxed", "total_tax", "list_price", "quantity", "unit_price",
                "subtotal", "discount", "vat_rate", "count", "lines", "rate", "base", "tax"}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
