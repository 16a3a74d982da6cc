"""``crm shell``: the same commands without the ``crm`` prefix, in one warm process.

Each line is run exactly as ``crm LINE`` would run it (core.cli.main.run): its own transaction, its
own rights check at the door and audit record; only what costs time and changes nothing is kept
between lines — the imported code, the checked config, the plugin manager and the database
connections — and dropped when crm.toml changes. ``--today`` given when the shell starts, or set
with ``today DATE``, holds for every line after it; typed on a line, it holds for that line only.
"""

from __future__ import annotations

import os
import shlex
import sys

import click

from core.cli.context import DAY, State, pass_state

HISTORY_NAME = ".crm_history"
HISTORY_LENGTH = 5000
BUILTINS = {"exit": "leave the shell (or Ctrl-D)", "quit": "leave the shell",
            "today": "today [YYYY-MM-DD|default]: show or set the business day of the next commands",
            "help": "help [COMMAND...]: the commands, or a command's help"}


class ShellState(State):
    """The state of one line: the shell's warm app stays open after the command."""

    def close(self) -> None:
        pass  # deliberately: the warm app outlives each line; the shell closes it on exit


class Shell:
    """Reads lines, runs each as a ``crm`` command, keeps the app warm between them."""

    def __init__(self, state: State):
        self.config_path = state.config_path
        self.today_text = state.today_text
        self.today_source = state.today_source
        self.as_login = state.as_login
        self.debug = state.debug
        self.app = state.try_app()
        self.app_key = self._key() if self.app is not None else None

    # --- running one line ------------------------------------------------------------------
    def _key(self, today_text=None, as_login=None, config_path=None) -> tuple:
        """What the warm app depends on: the config file as it is now, the business day, the actor."""
        from core.config import find_config_path

        path = find_config_path(config_path or self.config_path)
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        return str(path), stamp, today_text or self.today_text, as_login or self.as_login

    def run_line(self, line: str) -> int:
        """Run one line; the exit status a ``crm`` with the same arguments would have had."""
        from core.cli.main import _prescan, run

        try:
            words = shlex.split(line)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            return 2
        if words and words[0] == "crm":
            words = words[1:]
        if not words:
            return 0
        if words[0] in BUILTINS:
            return self.builtin(words[0], words[1:])
        if words[0] == "shell":
            click.echo("error: already in the shell", err=True)
            return 2
        front = [*(("--config", self.config_path) if self.config_path else ()),
                 *(("--today", self.today_text) if self.today_text else ()),
                 *(("--as", self.as_login) if self.as_login else ()), *(("--debug",) if self.debug else ())]
        try:
            state, argv = _prescan([*front, *words])
        except click.UsageError as exc:
            exc.show()
            return exc.exit_code
        shell_state = ShellState(**{name: getattr(state, name) for name in
                                    ("config_path", "today_text", "debug", "asks_help", "as_login", "command_args")})
        if self.today_text and state.today_text == self.today_text:
            shell_state.today_source = self.today_source
        key = self._key(state.today_text, state.as_login, state.config_path)
        if self.app is not None and key == self.app_key:
            self.app.actor = None  # each command is identified and checked anew, as from the prompt
            self.app.command = " ".join(["crm", *state.command_args])
            shell_state.set_app(self.app)
        try:
            code = run(shell_state, argv)
        except Exception:  # --debug: the traceback, and the shell goes on
            import traceback

            traceback.print_exc()
            code = 1
        except SystemExit as exc:  # a command that exits by itself does not end the shell
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        built = shell_state._app
        if built is not None and built is not self.app:
            if key == self._key():  # built for the shell's own day, actor and config: kept warm
                if self.app is not None:
                    self.app.close()
                self.app, self.app_key = built, key
            else:  # a line with its own --today or --as, or one that changed crm.toml
                built.close()
        return code

    def builtin(self, name: str, args: list[str]) -> int:
        if name in ("exit", "quit"):
            raise EOFError
        if name == "help":
            return self.run_line(shlex.join([*args, "--help"]))
        if args:
            if args[0] == "default":  # back to $CRM_TODAY, the workspace's own day or the calendar
                self.today_text, self.today_source = None, "--today"
            else:
                try:
                    day = DAY.convert(args[0], None, None)
                except click.BadParameter as exc:
                    click.echo(f"error: today: {exc.message}", err=True)
                    return 2
                self.today_text, self.today_source = day.isoformat(), "--today"
        app = self.app
        if app is None or self._key() != self.app_key:
            from core.app import parse_today

            shown = parse_today(self.today_text)
            click.echo(f"business day {shown.isoformat() if shown else 'from the workspace or the calendar'}")
            return 0
        click.echo(f"business day {app.today.isoformat()} ({app.today_source})")
        return 0

    # --- the prompt ------------------------------------------------------------------------
    def loop(self, interactive: bool) -> None:
        """Read and run lines until ``exit`` or end of input; Ctrl-C drops the line being typed."""
        history = self._readline(interactive)
        while True:
            try:
                line = input("crm> " if interactive else "")
            except EOFError:
                if interactive:
                    click.echo()
                break
            except KeyboardInterrupt:
                click.echo()
                continue
            try:
                self.run_line(line)
            except EOFError:
                break
            except KeyboardInterrupt:
                click.echo("Interrupted.", err=True)
            sys.stdout.flush()
        if history:
            history()
        if self.app is not None:
            self.app.close()

    def _readline(self, interactive: bool):
        """History in the workspace (private) and tab completion; what saves the history at the end."""
        if not interactive:
            return None
        try:
            import readline
        except ImportError:  # a Python without readline: no history nor completion, the shell still works
            return None
        from core.config import find_config_path

        path = find_config_path(self.config_path).parent / HISTORY_NAME
        try:
            readline.read_history_file(path)
        except OSError:  # no history yet (first shell in this workspace)
            pass
        readline.set_history_length(HISTORY_LENGTH)
        readline.set_completer_delims(" \t\n")
        readline.set_completer(self.completer)
        readline.parse_and_bind("tab: complete")

        def save():
            try:
                readline.write_history_file(path)
                os.chmod(path, 0o600)
            except OSError:  # a read-only workspace: the shell works without saving its history
                pass
        return save

    def completer(self, text: str, index: int):
        """readline's completer: commands, options and record references (click's completion)."""
        if index == 0:
            import readline

            # Python's readline appends nothing after a completed word: the space is ours
            self._matches = [f"{match} " for match in
                             self.complete(readline.get_line_buffer()[:readline.get_begidx()], text)]
        return self._matches[index] if index < len(self._matches) else None

    def complete(self, before: str, incomplete: str) -> list[str]:
        """The completions of ``incomplete`` after the words ``before`` (quoted when they need it)."""
        from click.shell_completion import ShellComplete

        from core.cli.main import cli

        try:
            words = shlex.split(before)
        except ValueError:
            return []
        if words and words[0] == "crm":
            words = words[1:]
        if not words and not incomplete.startswith("-"):
            extra = [name for name in BUILTINS if name.startswith(incomplete)]
        else:
            extra = []
        state = ShellState(config_path=self.config_path, today_text=self.today_text, as_login=self.as_login)
        if self.app is not None and self._key() == self.app_key:
            state.set_app(self.app)
        try:
            items = ShellComplete(cli, {"obj": state}, "crm", "_CRM_COMPLETE").get_completions(words, incomplete)
        except Exception:  # completion never breaks the prompt
            items = []
        values = [item.value for item in items if item.type == "plain"]
        return sorted({*extra, *(shlex.quote(value) if value != shlex.quote(value) else value for value in values)})


@click.command()
@pass_state
def shell(state):
    """An interactive prompt: type commands without `crm` (`invoice list`, `today 2026-11-29`, `exit`).

    One warm process runs them, each in its own transaction with its own rights check and audit
    record, so they answer at once. Tab completes commands, options and records (invoice numbers,
    partner names...); history is kept in the workspace's .crm_history. `--today` given when the
    shell starts, or `today DATE`, holds for the following commands; typed on a line, for that line.
    """
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("crm shell: commands without `crm`; `help`, `today [DATE]`, `exit` or Ctrl-D to leave.")
    Shell(state).loop(interactive)
