"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations


def dialect_insert(session):
    """The ``insert`` construct of the session's database (it knows ``ON CONFLICT``).

    Entonnoir runs on SQLite and PostgreSQL only; another database is refused in one line.
    """
    from core.errors import CrmError

    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise CrmError(f"database {dialect!r} is not supported (SQLite or PostgreSQL)")
    return insert


def insert_ignore(session, table, rows: list[dict], conflict_columns: list[str], index_where=None) -> int:
    """``INSERT ... ON CONFLICT DO NOTHING`` for many rows; returns how many were inserted."""
    if not rows:
        return 0
    insert = dialect_insert(session)
    statement = (insert(table).on_conflict_do_nothing(index_elements=conflict_columns, index_where=index_where)
                 .returning(table.c[conflict_columns[0]]))
    # Count the rows RETURNING gives back: psycopg 3 reports rowcount -1 for a single
    # INSERT ... ON CONFLICT DO NOTHING, so ``rowcount`` cannot tell a skipped row from a written one.
    # The rows go as parameters, not ``.values(row)``: a statement with values baked in is a new
    # cache key per row, and building it cost more than the INSERT itself.
    return len(session.execute(statement, rows[0] if len(rows) == 1 else rows).all())
