"""Tables as rich draws them, without rich for the usual case.

Importing rich and letting it measure every cell costs a command more than its query (a third of a
second for a list of 150 leads). A table whose cells are plain text that fits the width is drawn
here, character for character as rich's default table (heavy head, one space of padding); anything
else — a table wider than the screen that rich would fold, wide or combining characters, text that
rich would read as markup or emoji — is left to rich itself.
"""

from __future__ import annotations

import re
import unicodedata

#: text that rich would not print as typed: markup (``[bold]``) and emoji codes (``:smile:``). Every code
#: of rich's has a letter but these five: a time (``11:49:04``) is printed as typed
_RICH_SYNTAX = re.compile(r"\[|:(?:[\w+-]*[^\W\d_][\w+-]*|100|1234|[+-]1|__1):")


def render(title: str | None, headers: list[str], right: list[bool], rows: list[list[str]], width: int,
           styled: bool) -> str | None:
    """The table as text, or None when rich must draw it (see the module's docstring).

    :param right: per column, whether it is right-aligned (numbers)
    :param width: the width available (the terminal's; unbounded when output is piped)
    :param styled: bold headers and an italic title (a terminal that takes ANSI styles)
    """
    for text in (title or "", *headers, *(cell for row in rows for cell in row)):
        if not _plain(text):
            return None
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    total = sum(widths) + 3 * len(widths) + 1
    if total > width or (title and len(title) > total):
        return None
    bold, italic, reset = ("\x1b[1m", "\x1b[3m", "\x1b[0m") if styled else ("", "", "")
    lines = []
    if title:
        left = (total - len(title)) // 2
        lines.append(f"{italic}{' ' * left}{title}{' ' * (total - left - len(title))}{reset}")
    lines.append("┏" + "┳".join("━" * (w + 2) for w in widths) + "┓")
    lines.append("┃" + "┃".join(f" {bold}{_fit(h, w, r)}{reset} " for h, w, r in zip(headers, widths, right)) + "┃")
    lines.append("┡" + "╇".join("━" * (w + 2) for w in widths) + "┩")
    for row in rows:
        lines.append("│" + "│".join(f" {_fit(c, w, r)} " for c, w, r in zip(row, widths, right)) + "│")
    lines.append("└" + "┴".join("─" * (w + 2) for w in widths) + "┘")
    return "\n".join(lines) + "\n"


def _fit(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)


def _plain(text: str) -> bool:
    """Whether ``text`` takes one cell per character and rich would print it as it is."""
    if _RICH_SYNTAX.search(text):
        return False
    if text.isascii():
        return text.isprintable()
    for char in text:
        if not char.isprintable() or unicodedata.combining(char) or unicodedata.east_asian_width(char) in "WF":
            return False
    return True
