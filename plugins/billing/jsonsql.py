"""JSON written by the database, on SQLite and PostgreSQL, and the few expressions that differ between them.

For the jobs that store tens of thousands of JSON documents (the reminder run's message contexts):
the database assembles them while it reads the rows, in one ``INSERT ... SELECT``, instead of
Python building and encoding a dict per row. Every text value goes through the database's own
JSON string escaping; the other values are integers, ISO dates, booleans and amounts written from
integer cents, which need none.
"""

from __future__ import annotations

class DialectSql:
    """The few SQL expressions that differ between SQLite and PostgreSQL (``:today`` is a date parameter)."""

    def __init__(self, dialect: str):
        self.pg = dialect == "postgresql"

    def date(self, expr: str) -> str:
        """A date as ISO text (SQLite stores dates as text already)."""
        return f"CAST({expr} AS TEXT)" if self.pg else f"substr({expr}, 1, 10)"

    def days_late(self, expr: str) -> str:
        """Whole days from the date ``expr`` to ``:today``."""
        return f"(:today - {expr})" if self.pg else f"CAST(julianday(:today) - julianday({expr}) AS INTEGER)"

    def concat(self, expr: str, separator: str) -> str:
        """The aggregate joining texts; used as a window function, it follows the window's order."""
        return f"{'string_agg' if self.pg else 'group_concat'}({expr}, '{separator}')"


class JsonSql:
    """A JSON text written by the database: one ``printf`` on SQLite, ``||`` on PostgreSQL.

    On SQLite each ``||`` allocates a new string: a document of forty pieces built in one
    ``printf`` costs half as much. ``fmt`` and ``args`` are the ``printf`` format (``%`` of literal
    text doubled) and its arguments; ``pg`` is the PostgreSQL expression of the same text.
    """

    def __init__(self, fmt: str, args: list[str], pg: str):
        self.fmt, self.args, self.pg = fmt, args, pg

    def sql(self, dialect: str) -> str:
        if dialect == "postgresql":
            return self.pg
        fmt = self.fmt.replace("'", "''")
        return f"printf('{fmt}', {', '.join(self.args)})" if self.args else f"'{fmt}'"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_string(expr: str) -> JsonSql:
    """A text value as a JSON string, ``null`` for NULL."""
    return JsonSql("%s", [f"json_quote({expr})"], f"COALESCE(CAST(to_json(CAST({expr} AS TEXT)) AS TEXT), 'null')")


def json_plain(expr: str) -> JsonSql:
    """A text that needs no escaping (digits, dashes, a dot: a date, an amount) as a JSON string."""
    return JsonSql('"%s"', [expr], f"'\"' || {expr} || '\"'")


def json_int(expr: str) -> JsonSql:
    return JsonSql("%d", [expr], f"CAST({expr} AS TEXT)")


def json_bool(condition: str) -> JsonSql:
    value = f"CASE WHEN {condition} THEN 'true' ELSE 'false' END"
    return JsonSql("%s", [value], value)


def json_money(expr: str) -> JsonSql:
    """Integer cents as the decimal string a JSON context carries ("1234.50", "-0.05")."""
    sign = f"CASE WHEN ({expr}) < 0 THEN '-' ELSE '' END"
    pg = f"{sign} || CAST(abs({expr}) / 100 AS TEXT) || '.' || lpad(CAST(abs({expr}) % 100 AS TEXT), 2, '0')"
    return JsonSql('"%s%d.%02d"', [sign, f"abs({expr}) / 100", f"abs({expr}) % 100"], f"'\"' || {pg} || '\"'")


def json_object(pairs, optional=()) -> JsonSql:
    """A JSON object from ``(key, JsonSql)`` pairs, then ``(condition, key, JsonSql)`` ones present when the
    condition holds. Keys are plain words."""
    fmt, args, pg = [], [], []
    for index, (key, value) in enumerate(pairs):
        head = ("{" if index == 0 else ",") + f'"{key}":'
        fmt.append(head + value.fmt)
        args += value.args
        pg.append(f"{_literal(head)} || {value.pg}")
    for condition, key, value in optional:
        lead = f',"{key}":'
        piece = JsonSql(lead + value.fmt, value.args, f"{_literal(lead)} || {value.pg}")
        fmt.append("%s")
        args.append(f"CASE WHEN {condition} THEN {piece.sql('sqlite')} ELSE '' END")
        pg.append(f"CASE WHEN {condition} THEN {piece.pg} ELSE '' END")
    return JsonSql("".join(fmt) + "}", args, "(" + " || ".join(pg) + " || '}')")


def join_nonempty(parts: list[str], separator: str) -> str:
    """``separator.join(p for p in parts if p)`` in SQL: NULL and '' are left out."""
    joined = " || ".join(f"CASE WHEN COALESCE({p}, '') <> '' THEN '{separator}' || {p} ELSE '' END" for p in parts)
    return f"substr({joined}, {len(separator) + 1})"
