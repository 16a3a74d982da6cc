"""The plain table renderer (core/cli/table.py) draws what rich draws, character for character, and
hands over to rich whatever rich would print differently (markup, emoji codes, a table too wide)."""

from __future__ import annotations

import io

import pytest

from core.cli.table import render

HEADERS = ["ID", "Subject", "Created", "Total"]
RIGHT = [True, False, False, True]
ROWS = [["1", "Relances du 28 novembre 2026 : 1 client(s)", "2026-12-06 11:49:04", "1 234.50"],
        ["12", "Facture F2026-000012", "2026-12-07 08:00:00", "0.00"]]


def _rich(title, headers, right, rows, width: int) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for header, numeric in zip(headers, right):
        table.add_column(header, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    out = io.StringIO()
    Console(file=out, soft_wrap=False, width=width, force_terminal=False, color_system=None).print(table)
    return out.getvalue()


@pytest.mark.parametrize("title", [None, "Notifications"])
def test_a_plain_table_is_drawn_as_rich_draws_it(title):
    assert render(title, HEADERS, RIGHT, ROWS, width=160, styled=False) == _rich(title, HEADERS, RIGHT, ROWS, 160)


@pytest.mark.parametrize("cell", ["[bold]x[/bold]", "thanks :smile:", "score :100:", "ok :+1:"])
def test_text_rich_would_read_as_markup_or_emoji_is_left_to_rich(cell):
    assert render(None, HEADERS, RIGHT, [[*ROWS[0][:1], cell, *ROWS[0][2:]]], width=160, styled=False) is None


def test_times_are_not_emoji_codes():
    rows = [["3", "at 11:49:04 and 12:30:15", "2026-12-06 11:49:04", "1.00"]]
    assert render(None, HEADERS, RIGHT, rows, width=160, styled=False) == _rich(None, HEADERS, RIGHT, rows, 160)


def test_a_table_wider_than_the_screen_is_left_to_rich_but_not_when_piped():
    wide = [["1", "x" * 200, "2026-12-06 11:49:04", "1.00"]]
    assert render(None, HEADERS, RIGHT, wide, width=160, styled=False) is None
    import sys

    piped = render(None, HEADERS, RIGHT, wide, width=sys.maxsize, styled=False)
    assert piped is not None and len(piped.splitlines()) == 5 and "x" * 200 in piped
