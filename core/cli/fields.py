"""The CLI side of extension fields (core.extensions): the ``--set`` option and their table rows."""

from __future__ import annotations

import click


def set_option(function):
    """``--set MODULE.FIELD=VALUE``: a field an enabled module adds to the record (core.extensions)."""
    return click.option("--set", "assignments", multiple=True, metavar="MODULE.FIELD=VALUE",
                        help="A field an enabled module adds to the record (repeat the option); "
                             "`show` lists them.")(function)


def extension_rows(app, entity: str, data: dict, *, only: str | None = None) -> tuple[dict, list]:
    """The record's extension values flattened for a table, and their ``(key, label)`` columns."""
    from core import extensions

    wanted = extensions.columns(app, entity, only=only)
    flat = {f"{module}.{name}": (data.get(module) or {}).get(name) for module, name, _ in wanted}
    return flat, [(f"{module}.{name}", text) for module, name, text in wanted]
