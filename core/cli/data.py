"""``crm import`` and ``crm export``: CSV in and out for every registered kind, and the modules' own exports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.cli.context import State, emit_json, json_option, pass_state


def parse_mapping(pairs) -> dict:
    """``--map FILECOLUMN=FIELD`` options as a dict."""
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r}: expected FILECOLUMN=FIELD", param_hint="--map")
        source, target = pair.split("=", 1)
        mapping[source.strip()] = target.strip()
    return mapping


@click.command("import")
@click.argument("kind")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Write the good rows; put the bad ones, with the reason, in a CSV.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the rejected rows go (default: FILE.rejected.csv).")
@click.option("--update", is_flag=True, help="Rows matching an existing record update it instead of being refused.")
@click.option("--map", "pairs", multiple=True, metavar="FILECOLUMN=FIELD", help="Rename a column of the file.")
@json_option
@pass_state
def import_(state, kind, file, skip_invalid, rejects, update, pairs, as_json):
    """Import records of KIND (partners, products, and the modules' kinds) from a CSV FILE.

    Every row is validated first; by default one bad row means nothing is written and every bad
    row is listed with its line and field.
    """
    from core.importexport import get_kind, run_import

    app = state.app
    data_kind = get_kind(app, kind)
    result = run_with_report(lambda progress: run_import(
        app, data_kind, file, skip_invalid=skip_invalid, update=update, rejects_path=rejects,
        mapping=parse_mapping(pairs), progress=progress), kind=kind, as_json=as_json)
    if as_json:
        emit_json(result.as_dict())
        return
    summary = result.as_dict()
    duplicates = f", {summary['duplicates']} duplicates flagged" if summary.get("duplicates") else ""
    click.echo(f"{kind}: {summary['created']} created, {summary['updated']} updated, {summary['skipped']} unchanged, "
               f"{summary['rejected']} rejected{duplicates}"
               + (f" (see {summary['rejects_file']})" if summary["rejects_file"] else ""))


def run_with_report(run, *, kind: str, as_json: bool):
    """Run an import ``run(progress)`` with a progress bar on a terminal; a refused file is
    reported as every bad row (one error line, then the others) and exit status 1."""
    from core.errors import ValidationError

    progress = ProgressBar(kind) if sys.stderr.isatty() and not as_json else None
    try:
        return run(progress)
    except ValidationError as exc:
        if as_json:
            emit_json({"imported": False, "errors": [{"record": r, "field": f, "message": m} for r, f, m in exc.errors]})
            raise SystemExit(1) from None
        click.echo(f"error: {exc}", err=True)
        for record, fld, message in exc.errors[1:21]:
            click.echo(f"  {record}: {fld}: {message}", err=True)
        if len(exc.errors) > 21:
            click.echo(f"  ... {len(exc.errors) - 21} more (see --skip-invalid)", err=True)
        raise SystemExit(1) from None
    finally:
        if progress:
            progress.close()


class ProgressBar:
    """A rich progress bar on a terminal; nothing when piped."""

    def __init__(self, kind: str):
        from rich.progress import Progress

        self.progress = Progress(transient=True)
        self.task = self.progress.add_task(f"importing {kind}", total=None)
        self.progress.start()

    def __call__(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)

    def close(self) -> None:
        self.progress.stop()


class ExportGroup(click.Group):
    """``crm export KIND`` writes the records of a data kind as CSV; modules add exports of their own
    (``crm export fec``) by registering a click group named ``export`` (``register_commands``)."""

    def list_commands(self, ctx):
        return ["KIND", *sorted(self._module_exports(ctx))]

    def get_command(self, ctx, name):
        found = self._module_exports(ctx).get(name)
        return found if found is not None else export_kind  # any other name is a data kind

    @staticmethod
    def _module_exports(ctx) -> dict:
        root = ctx.find_root()
        return root.command.extensions(root, "export") if hasattr(root.command, "extensions") else {}


@click.group(cls=ExportGroup, no_args_is_help=True)
def export():
    """Export data: `crm export KIND [-o FILE]` writes every record of KIND as CSV (partners, products,
    leads...: `crm import` reads the same columns); the modules add exports of their own below."""


class KindExport(click.Command):
    """The CSV export of whichever kind was typed (the door checks it as ``export KIND``)."""

    serves_any_name = True


@click.command("KIND", cls=KindExport)
@click.option("--output", "-o", type=click.Path(), default=None,
              help="Write to this file instead of standard output (a folder, or a name ending with '/': "
                   "KIND.csv in it, the folder made if missing).")
@click.pass_context
def export_kind(ctx, output):
    """Export every record of KIND (partners, products, leads...) as CSV (formula-like cells are neutralised)."""
    from core.importexport import get_kind, write_export

    kind = ctx.info_name
    app = ctx.ensure_object(State).app
    data_kind = get_kind(app, kind)
    if output is None:
        write_export(app, data_kind, sys.stdout)
        return
    from core.files import opener, output_path

    output = output_path(output, f"{kind}.csv")
    with open(output, "w", newline="", encoding="utf-8", opener=opener) as handle:
        count = write_export(app, data_kind, handle)
    click.echo(f"{count} {kind} written to {output}", err=True)
