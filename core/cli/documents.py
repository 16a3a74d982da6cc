"""``crm documents``: the printable documents the enabled modules offer, and printing many at once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state


@click.group()
def documents():
    """Printable documents (invoices, purchase orders, letters...) of the enabled modules."""


@documents.command("list")
@json_option
@pass_state
def documents_list(state, as_json):
    """The document kinds the enabled modules can print."""
    from core.documents import kinds

    rows = [{"kind": k.name, "summary": k.summary} for k in sorted(kinds(state.app).values(), key=lambda k: k.name)]
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, [("kind", "kind"), ("summary", "summary")], empty="no enabled module offers documents")


@documents.command("print")
@click.argument("kind")
@click.argument("refs", nargs=-1, required=True)
@click.option("--output", "-o", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder the PDF files are written into (created if needed).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None,
              help="Processes laying pages out at once (default: one per core).")
@click.option("--locale", type=click.Choice(["fr_FR", "en_GB", "en_US"]), default=None,
              help="Language of the documents (default: the company's).")
@json_option
@pass_state
def documents_print(state, kind, refs, folder, jobs, locale, as_json):
    """Write the PDF of each record REFS names (ids or numbers; '-' reads them from standard input,
    one per line), e.g. ``crm documents print billing.invoice 12 13 14 -o pdf/``. All or nothing: if
    records cannot be printed, the command names each on a line of its own and leaves no file behind.
    The records are read at once, the pages laid out by one worker process per core."""
    from core.documents import kinds
    from core.printing import write_many
    from core.errors import NotFound

    if kind not in kinds(state.app):
        raise NotFound(f"document kind {kind!r} is not known (crm documents list)")
    if list(refs) == ["-"]:
        refs = [line.strip() for line in sys.stdin if line.strip()]
    bar = None
    if sys.stderr.isatty() and not as_json:
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task(f"printing {kind}", total=len(refs))
        bar.start()
    try:
        paths = write_many(state.app, kind, list(refs), folder, jobs=jobs, locale=locale,
                           progress=(lambda n: bar.advance(task, n)) if bar else None)
    finally:
        if bar:
            bar.stop()
    if as_json:
        emit_json({"kind": kind, "written": [str(p) for p in paths]})
    else:
        click.echo(f"{len(paths)} PDF files written to {folder}")
