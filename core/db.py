"""The database: one declarative base for every module, and engines for SQLite and PostgreSQL.

SQLite is the embedded default (a ``crm.db`` file beside ``crm.toml``, WAL journal, foreign keys
on); PostgreSQL is reached by URL. The same models and migrations run on both.
"""

from __future__ import annotations

import datetime as dt
import sys

from sqlalchemy import Index, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base shared by the kernel and every plugin (tables prefixed by module)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_POSTGRESQL = "sqlalchemy.dialects.postgresql"


def partial_index(name: str, *columns: str, where, postgresql_where=None, **kw) -> Index:
    """An index over the rows ``where`` holds (SQL text; ``postgresql_where``: PostgreSQL's, if it differs).

    SQLAlchemy imports a dialect to check the arguments named after it, and PostgreSQL's costs a command
    on SQLite 40 ms: so its clause joins the index once that dialect is loaded anyway — at once if it is,
    else when an engine on PostgreSQL is made (:func:`make_engine`). The migrations create the indexes;
    the models' copy is what ``crm migrate --check`` and the schema tests compare them with.
    """
    def clause(sql):
        return text(sql) if isinstance(sql, str) else sql

    index = Index(name, *columns, sqlite_where=clause(where), **kw)
    index.info["postgresql_where"] = clause(postgresql_where if postgresql_where is not None else where)
    if _POSTGRESQL in sys.modules:
        index.dialect_options["postgresql"]["where"] = index.info["postgresql_where"]
    return index


def _postgresql_partial_indexes(metadata: MetaData) -> None:
    """Give the partial indexes defined before PostgreSQL's dialect was loaded their clause."""
    for table in metadata.tables.values():
        for index in table.indexes:
            if "postgresql_where" in index.info:
                index.dialect_options["postgresql"]["where"] = index.info["postgresql_where"]


def utcnow() -> dt.datetime:
    """Wall-clock time of a write, in UTC without tzinfo (both databases store it the same way).

    Business dates ("today") never come from here: they come from ``App.today``.
    """
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


class Timestamped:
    """Mixin: when the row was created."""

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would look for psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: The widest integer a column holds (BIGINT, SQLite's INTEGER).
MAX_INTEGER = 2**63 - 1


def _unbounded(value):
    """An integer no column holds, as a number that compares like it (PostgreSQL's numeric does)."""
    if type(value) is int and not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
        return float("inf") if value > 0 else float("-inf")
    return value


#: execution option of a connection whose transaction never writes (SQLite: no write lock taken)
READ_ONLY = "crm_read_only"


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    :raises ConfigError: a database other than SQLite or PostgreSQL (one line, not a missing driver).
    """
    from core.config import check_database_url

    url = normalise_url(check_database_url(url))
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            from core.files import create_private

            create_private(path)  # 0600 before SQLite makes it 0644; its -wal and -shm copy the mode
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "before_cursor_execute", retval=True)
        def _out_of_range_reads(conn, cursor, statement, parameters, context, executemany):
            # A record id typed as 99999999999999999999999 finds nothing on PostgreSQL (compared as
            # numeric); SQLite's driver raises OverflowError instead. Reads compare it the same way
            # here, so the command says "not found" on both; writes keep their own range checks.
            if not executemany and parameters and statement.lstrip()[:6].upper() == "SELECT":
                if isinstance(parameters, dict):
                    parameters = {key: _unbounded(value) for key, value in parameters.items()}
                else:
                    parameters = type(parameters)(_unbounded(value) for value in parameters)
            return statement, parameters

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, open transactions, so BEGIN is emitted for real.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # IMMEDIATE takes the write lock at the start: two writers queue instead of failing
            # half-way with "database is locked" on their first write. A connection marked
            # ``crm_read_only`` (the API's GETs) only reads: it takes no lock, so reads run side by side.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _postgresql_session(dbapi_connection, _record):
        # No JIT compilation: the planner turns it on for any query whose estimated cost passes a
        # threshold, and for a funnel report over 1,000,000 deals compiling took 237 ms of a 412 ms
        # query; the bank and lead imports measured no slower without it.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()

    _postgresql_partial_indexes(Base.metadata)
    return engine
