"""Statements compiled once per dialect and run straight on the transaction's DBAPI cursor.

For the hot path of confirming an order (its invoice written in a handful of statements), where
SQLAlchemy's per-execution work (cache key, execution context, result set-up: about 100 µs a
statement) cost more than SQLite running the statement. What SQLAlchemy does that matters is kept:
the SQL is compiled by SQLAlchemy for the connection's dialect (placeholders, RETURNING), and
every parameter and result column goes through its column type's own processors (exact
``ScaledDecimal`` amounts, dates as SQLite stores them), so the rows written and read are the
ones the ORM writes and reads. The statements run in the session's transaction, on its connection.

Engine-level ``before/after_cursor_execute`` listeners do not see these statements.
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
