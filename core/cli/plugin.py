"""``crm plugin new``: start a module of your own."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def plugin():
    """Write your own module."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write it (default: ./entonnoir-NAME).")
def plugin_new(name, folder):
    """Write an installable module NAME: manifest, table and migration, command, hook, template, test.

    Then: `pip install -e DIR`, `crm modules enable NAME`, and `pytest` in DIR.
    """
    from core.scaffold import names, scaffold

    folder = folder or Path(names(name)["@dist@"])
    files = scaffold(name, folder)
    click.echo(f"wrote {len(files)} files in {folder}")
    click.echo(f"next: pip install -e {folder} && crm modules enable {name} && (cd {folder} && pytest)")
