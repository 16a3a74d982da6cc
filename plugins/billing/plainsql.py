"""Statements compiled once per dialect and run straight on the transaction's DBAPI cursor.

For the hot path of confirming an order (its invoice written in a handful of statements), where
SQLAlchemy's per-execution work (cache key, execution context, result set-up: about 100 µs a
statement) cost more than SQLite running the statement. What SQLAlchemy does that matters is kept:
the SQL is compiled by SQLAlchemy for the connection's dialect (placeholders, RETURNING), and
every parameter and result column goes through its column type's own processors (exact
``ScaledDecimal`` amounts, dates as SQLite stores them), so the rows written and read are the
ones the ORM writes and reads. The statements run in the session's transaction, on its connection.

Engine-level ``before/after_cursor_execute`` listeners do not see these statements.

Below them, the few expressions that differ between SQLite and PostgreSQL when the database
writes JSON itself (``DialectSql`` and the ``json_*`` builders), for the jobs that store tens of
thousands of JSON documents in one ``INSERT ... SELECT``.
"""

from __future__ import annotations

from typing import Callable


class PlainStatement:
    """A Core statement (typed bind parameters, typed result columns if it returns rows).

    ``build`` is called once, on first use, to make the statement; it is then compiled once per
    dialect. Parameters are given by name.
    """

    def __init__(self, build: Callable):
        self._build = build
        self._statement = None
        self._compiled: dict[str, tuple] = {}

    def _for(self, dialect) -> tuple:
        found = self._compiled.get(dialect.name)
        if found is None:
            if self._statement is None:
                self._statement = self._build()
            compiled = self._statement.compile(dialect=dialect)
            if compiled.escaped_bind_names:  # names that need quoting: not worth handling here
                raise NotImplementedError(f"bind names to escape in {compiled.string!r}")
            binds = {}
            for name, bind in compiled.binds.items():
                binds[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            names = list(compiled.positiontup) if dialect.positional else list(binds)
            processors = [(name, binds[name]) for name in names]
            results = None
            columns = getattr(self._statement, "selected_columns", None)
            if columns is not None and len(columns):
                results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
            found = (compiled.string, dialect.positional, processors, results)
            self._compiled[dialect.name] = found
        return found

    @staticmethod
    def _params(positional: bool, processors, values: dict):
        if positional:
            return tuple(values[name] if process is None else process(values[name]) for name, process in processors)
        return {name: values[name] if process is None else process(values[name]) for name, process in processors}

    def _cursor(self, connection):
        """The DBAPI cursor of ``connection`` (a SQLAlchemy ``Connection`` in a transaction)."""
        return connection.connection.cursor()

    def rows(self, connection, values: dict) -> list[tuple]:
        """Execute with ``values`` and return the rows, each column through its type's processor."""
        sql, positional, processors, results = self._for(connection.dialect)
        cursor = self._cursor(connection)
        try:
            cursor.execute(sql, self._params(positional, processors, values))
            fetched = cursor.fetchall() if cursor.description is not None else []
        finally:
            cursor.close()
        if not results or not any(results):
            return [tuple(row) for row in fetched]
        return [tuple(value if process is None else process(value) for value, process in zip(row, results))
                for row in fetched]

    def execute_many(self, connection, many: list[dict]) -> None:
        """Execute once per dict of ``many`` (no rows returned)."""
        if not many:
            return
        sql, positional, processors, _ = self._for(connection.dialect)
        cursor = self._cursor(connection)
        try:
            if len(many) == 1:
                cursor.execute(sql, self._params(positional, processors, many[0]))
            else:
                cursor.executemany(sql, [self._params(positional, processors, values) for values in many])
        finally:
            cursor.close()


def insert_statement(table, columns: list[str], returning: str | None = None) -> Callable:
    """A builder of ``INSERT INTO table (columns) VALUES (:column, ...)`` [``RETURNING returning``]."""
    def build():
        from sqlalchemy import bindparam

        statement = table.insert().values({name: bindparam(name, type_=table.c[name].type) for name in columns})
        if returning is not None:
            statement = statement.returning(table.c[returning])
        return statement

    return build


# --- JSON written by the database, on SQLite and PostgreSQL -----------------------------------------
# For the jobs that store tens of thousands of JSON documents (the reminder run's message contexts):
# the database assembles them while it reads the rows, instead of Python building and encoding a
# dict per row. Every text value goes through the database's own JSON string escaping; the other
# values are integers, ISO dates, booleans and amounts written from integer cents, which need none.

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
