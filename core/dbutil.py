"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager


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


def insert_ignore(session, table, rows: list[dict], conflict_columns: list[str], index_where=None, *,
                  count: bool = True) -> int | None:
    """``INSERT ... ON CONFLICT DO NOTHING`` for many rows; returns how many were inserted (``count``).

    ``count=False`` when the caller does not need it: without ``RETURNING``, PostgreSQL takes a
    quarter of the time for many rows (20,000 rows: 0.47 s instead of 1.84 s here).
    """
    if not rows:
        return 0 if count else None
    insert = dialect_insert(session)  # also refuses a database other than SQLite and PostgreSQL
    if not count and index_where is None and len(rows) >= STAGED_FROM and _defaults_given(table, rows[0]):
        _driver_insert_ignore(session, table, rows, conflict_columns)
        return None
    # The rows go as parameters, not ``.values(row)``: a statement with values baked in is a new
    # cache key per row, and building it cost more than the INSERT itself.
    statement = insert(table).on_conflict_do_nothing(index_elements=conflict_columns, index_where=index_where)
    parameters = rows[0] if len(rows) == 1 else rows
    if not count:
        session.execute(statement, parameters)
        return None
    # Count the rows RETURNING gives back: psycopg 3 reports rowcount -1 for a single
    # INSERT ... ON CONFLICT DO NOTHING, so ``rowcount`` cannot tell a skipped row from a written one.
    return len(session.execute(statement.returning(table.c[conflict_columns[0]]), parameters).all())


def count_in_window(session, table, counter: str, keys: list[dict], window: int, *,
                    scope: dict | None = None) -> list[int]:
    """One more in the ``counter`` column of each of ``keys``' rows for ``window`` (the table's
    ``window_start``, the same for every row of ``scope``); returns their new counts, in order.

    The rows of ``scope`` (every row without one) from earlier windows are deleted first, so the table
    holds current windows only. A missing row is inserted without a conflict between two workers,
    then incremented in place: concurrent calls each count once. Rate limits and login throttles
    count this way (:mod:`plugins.funnel.capture`, :mod:`core.api.websessions`).
    """
    from sqlalchemy import delete, update

    columns = table.c
    session.execute(delete(table).where(columns.window_start < window,
                                        *(columns[name] == value for name, value in (scope or {}).items())))
    insert_ignore(session, table, [{**key, "window_start": window, counter: 0} for key in keys],
                  [*keys[0], "window_start"], count=False)
    return [session.execute(update(table).where(columns.window_start == window,
                                                *(columns[name] == value for name, value in key.items()))
                            .values({counter: columns[counter] + 1}).returning(columns[counter])).scalar_one()
            for key in keys]


#: rows from which ``insert_ignore`` (not counting) goes straight to the driver: through a staging
#: table on PostgreSQL, SQLite's own executemany
STAGED_FROM = 1_000


def _defaults_given(table, row: dict) -> bool:
    """Whether ``row`` gives every column of ``table`` that has a Python-side default: the driver
    paths write what they are given, and leave a missing column to the database's own default."""
    return all(column.key in row for column in table.c if column.default is not None)


def _driver_insert_ignore(session, table, rows: list[dict], conflict_columns: list[str]) -> None:
    """The rows straight to the driver: on SQLite its own executemany of ``INSERT ... ON CONFLICT DO
    NOTHING``, without SQLAlchemy's parameter work per row; on PostgreSQL by COPY into a temporary
    table, then one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``.

    An executemany of 100,000 rows spends most of its time converting each row's parameters and
    sending them one statement after another; COPY sends them as one stream, and the database
    inserts them as one set, in the order given (ids follow the rows).
    """
    from sqlalchemy import text

    columns = list(rows[0])
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))}) "
            f"ON CONFLICT ({', '.join(conflict_columns)}) DO NOTHING", list(database_values(session, table, rows)))
        return
    names = ", ".join(columns)
    stage = f"{table.name}_staged"
    session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{stage}"))
    session.execute(text(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS "
                         f"SELECT 0 AS staged_order, {names} FROM {table.name} WITH NO DATA"))
    copy_rows(session, table, rows, into=stage, order=True)
    session.execute(text(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} ORDER BY staged_order "
                         f"ON CONFLICT ({', '.join(conflict_columns)}) DO NOTHING"))
    session.execute(text(f"DROP TABLE {stage}"))


def copy_rows(session, table, rows: list[dict], *, into: str | None = None, order: bool = False) -> None:
    """``rows`` (dicts with the same keys) into ``table`` (or the table named ``into`` with its
    columns) through :func:`driver_writer`, each value converted by its column's own type
    (:func:`database_values`). A column left out gets its database default, never a Python-side
    one (``default=utcnow``): give those. ``order``: a first column ``staged_order`` gets each
    row's position."""
    if not rows:
        return
    values = database_values(session, table, rows)
    if order:
        values = ((position, *row) for position, row in enumerate(values))
    driver_writer(session, into or table.name, (["staged_order"] if order else []) + list(rows[0]))(values)


def database_values(session, table, rows: list[dict]):
    """Each of ``rows`` (dicts with the same keys, columns of ``table``) as a tuple in its keys'
    order, each value converted by its column's own type as an INSERT would (money to cents,
    dates on SQLite): what :func:`driver_writer` takes."""
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    processors = [(index, process) for index, name in enumerate(columns)
                  if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    for row in rows:
        values = [row[name] for name in columns]
        for index, process in processors:
            if values[index] is not None:
                values[index] = process(values[index])
        yield tuple(values)


#: SQLite's page cache for a bulk import's transaction, in KiB (every other transaction keeps SQLite's
#: default, 2,000 KiB)
BULK_PAGE_CACHE_KIB = 65_536


@contextmanager
def bulk_page_cache(session):
    """On SQLite, the session's connection keeps up to 64 MB of pages in memory while the block runs,
    then its setting from before. A bulk import's dirty pages then stay in memory instead of being
    spilled to the WAL and read back: 100,000 bank entries, median of three runs, 15.38 -> 14.32 s;
    100,000 leads 3.96 -> 3.72 s. Only there: with the large cache on every connection, each job's
    memory grew with the database it read, for no time won (peak memory over 1,000,000 invoices:
    reminder run 75 -> 211 MB, FEC 109 -> 289 MB). Nothing on PostgreSQL."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


#: rows written in one transaction from which PostgreSQL's statistics of the tables are renewed
FRESH_STATISTICS_FROM = 5_000


def fresh_statistics(session, tables: list[str], written: int) -> None:
    """Renew PostgreSQL's statistics of ``tables`` after this transaction wrote ``written`` rows into
    each, where they are now far from true (the rule of :class:`GrowingTable`).

    The planner reads a table's row count and value spread from its statistics, which autovacuum
    renews only after the commit: a statement joining 100,000 rows just loaded against a table the
    statistics still call empty gets a nested loop that grows with the square of the rows (a bank
    statement's matching took 93 s instead of 15). SQLite plans without such statistics.
    """
    for table in tables:
        GrowingTable(session, table).wrote(written)


class GrowingTable:
    """PostgreSQL's statistics of ``table`` kept true while one transaction writes many rows into it.

    An import that looks its next chunk up in the rows it wrote before (a lead's duplicates) plans
    each lookup on the statistics: while they still call the table empty, each is a scan of all that
    was written, and the import grows with the square of its rows (300,000 leads: more than 20
    minutes). :meth:`wrote` renews them (``ANALYZE``) each time the table has doubled since they were
    taken, and at least :data:`FRESH_STATISTICS_FROM` rows were written: a few times per import.
    """

    def __init__(self, session, table: str, columns: tuple[str, ...] = ()):
        self.session, self.table = session, table
        #: the columns whose statistics count (all without): ANALYZE reads its sample once, and
        #: spends the rest of its time on each column's figures
        self.target = f"{table} ({', '.join(columns)})" if columns else table
        self.counted: float | None = None  # rows the statistics count
        self.start = 0.0

    def wrote(self, written: int) -> None:
        """``written`` rows are in the table since this transaction began."""
        if self.session.get_bind().dialect.name != "postgresql" or written < FRESH_STATISTICS_FROM:
            return
        from sqlalchemy import text

        if self.counted is None:
            found = self.session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                                        {"t": self.table})
            self.counted = self.start = max(float(found or 0), 0.0)
        if self.start + written >= 2 * max(self.counted, 1):
            self.session.execute(text(f"ANALYZE {self.target}"))
            self.counted = self.start + written


def empty_table(session, table) -> None:
    """Delete every row of ``table`` (a :class:`~sqlalchemy.Table`) in the session's transaction:
    ``TRUNCATE`` on PostgreSQL (undone by a rollback like a DELETE, and it locks the table until
    the commit), which lets :func:`driver_writer` write the new rows frozen; a DELETE on SQLite."""
    from sqlalchemy import delete, text

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"TRUNCATE {table.name}"))
    else:
        session.execute(delete(table))


def driver_writer(session, table: str, columns: list[str], *, frozen: bool = False):
    """``write(rows)``: rows (tuples in ``columns``' order, values in the database's form) straight to
    the driver in the session's transaction: SQLite's ``executemany`` (its C loop), PostgreSQL's
    ``COPY ... FROM STDIN``. For bulk loads that skip SQLAlchemy's per-row parameter work; an INSERT
    of the table (not of a mapped class) leaves no audit row, so the caller records one.

    ``frozen``: the table was emptied by :func:`empty_table` in this transaction, so PostgreSQL
    writes the rows already frozen and marks their pages all-visible (``COPY ... FREEZE``): an
    index-only scan of them reads no heap page, where fresh rows cost a heap visit each until
    the next VACUUM."""
    connection = session.connection()
    target = f"{table} ({', '.join(columns)})"
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        statement = f"COPY {target} FROM STDIN" + (" WITH (FREEZE)" if frozen else "")

        def copy(rows):
            with driver.cursor() as cursor, cursor.copy(statement) as stream:
                for row in rows:
                    stream.write_row(row)

        return copy
    sql = f"INSERT INTO {target} VALUES ({', '.join(['?'] * len(columns))})"
    return lambda rows: connection.exec_driver_sql(sql, list(rows))


class Overlapped:
    """A bulk write on PostgreSQL left to the server while the caller computes what comes next.

    :meth:`start` sends one write (a :func:`driver_writer` call, which touches the driver's
    connection only) from a worker thread: the server indexes and checks a chunk's rows (most of a
    ``COPY``'s time) while Python reads and validates the next one. :meth:`wait` comes before any
    other use of the session's connection, and raises the write's error; leaving the ``with``
    block waits too, so the transaction never ends under a write. On SQLite, whose driver takes
    the interpreter's lock back between rows, the write runs at once in the caller's thread.
    """

    def __init__(self, session):
        self.background = session.get_bind().dialect.name == "postgresql"
        self._thread = None
        self._error: BaseException | None = None

    def start(self, write, rows) -> None:
        """``write(rows)``, in the background on PostgreSQL (after the previous one ended)."""
        self.wait()
        if not self.background:
            write(rows)
            return
        import threading

        def run():
            try:
                write(rows)
            except BaseException as exc:  # handed to the caller's thread by wait()
                self._error = exc

        self._thread = threading.Thread(target=run, name="crm-overlapped-write")
        self._thread.start()

    def wait(self) -> None:
        """The write sent last has ended; its error, if any, is raised here."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            self.wait()
        except Exception as error:
            if exc is None:
                raise
            # the caller's own error is the one raised; the write's is told beside it
            exc.add_note(f"(the bulk write under way failed too: {error})")
