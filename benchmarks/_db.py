"""The database a benchmark runs on, in one place: SQLite files (the default) or PostgreSQL.

``python -m benchmarks --database URL`` runs each suite inside :func:`using`; a suite makes its
workspaces with :func:`init_workspace` (a drop-in for ``core.lifecycle.init_workspace``): a SQLite
file in the suite's folder, or on PostgreSQL a fresh schema of the given database, dropped when the
suite ends. Child processes read the workspace's ``crm.toml``, so they run on the same database.

The helpers below keep the suites' data loading and floors free of ``if sqlite`` branches:
:func:`bulk` (``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL, as a replica: without
the audit triggers, which the measured jobs keep), :func:`settle`
(after a bulk load: sequences past the ids written, fresh statistics, SQLite's WAL folded in),
:func:`dialect`, and :class:`ServerMemory` (the peak private memory of the PostgreSQL backend that
runs a job, sampled from ``/proc``; the server runs on this machine).
"""

from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

#: what ``--database postgresql`` and ``--database both`` mean without a URL
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

_state = {"url": "sqlite", "schemas": []}


def postgres_url() -> str:
    """The PostgreSQL server to use: ``CRM_TEST_DATABASE_URL`` (CI sets it) or the local default."""
    return os.environ.get("CRM_TEST_DATABASE_URL") or DEFAULT_POSTGRES


def name(url: str) -> str:
    """``sqlite`` or ``postgresql``: the column a figure goes in."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def current() -> str:
    """``sqlite`` or ``postgresql``: the database the running suite uses."""
    return name(_state["url"])


def is_postgres() -> bool:
    return current() == "postgresql"


@contextmanager
def using(url: str):
    """Run the suites inside on ``url`` (``sqlite`` or a PostgreSQL URL); drop their schemas after."""
    previous = dict(_state)
    _state.update(url=url, schemas=[])
    try:
        yield
    finally:
        schemas = _state["schemas"]
        _state.update(previous)
        if schemas:
            _drop(url, schemas)


def _admin(url: str):
    from sqlalchemy import create_engine

    from core.db import normalise_url

    return create_engine(normalise_url(url).split("?")[0], isolation_level="AUTOCOMMIT")


def _drop(url: str, schemas: list[str]) -> None:
    from sqlalchemy import text

    engine = _admin(url)
    try:
        with engine.connect() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def new_url(folder: Path) -> str:
    """A fresh, empty database for a workspace in ``folder``: a SQLite file, or a new PostgreSQL schema."""
    from sqlalchemy import text

    if current() == "sqlite":
        return f"sqlite:///{Path(folder) / 'crm.db'}"
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = _admin(_state["url"])
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    _state["schemas"].append(schema)
    from core.db import normalise_url

    return f"{normalise_url(_state['url']).split('?')[0]}?options=-csearch_path%3D{schema}"


def init_workspace(folder: Path, **options):
    """``core.lifecycle.init_workspace`` on the benchmark's database (a fresh file or schema)."""
    from core.lifecycle import init_workspace as init

    Path(folder).mkdir(parents=True, exist_ok=True)
    return init(Path(folder), database_url=new_url(folder), **options)


def relax_commits(engine) -> bool:
    """On PostgreSQL, ``synchronous_commit = off`` for ``engine``'s connections: a commit no longer
    waits for its WAL to reach the disk (a crash may lose the last moments' commits, never corrupts),
    which is what SQLite's ``synchronous=NORMAL`` in WAL mode does (core/db.py). One commit per
    record is then no longer bound by the disk's flush rate (``pg_test_fsync``: about 170 a second
    here). Returns whether it applied (False on SQLite)."""
    from sqlalchemy import event

    if engine.dialect.name != "postgresql":
        return False

    @event.listens_for(engine, "connect")
    def _relaxed(connection, record):
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        connection.commit()

    engine.dispose()  # connections made before keep their setting: none is kept
    return True


def dialect(bind) -> str:
    """``sqlite`` or ``postgresql`` for an engine, connection or session."""
    return bind.get_bind().dialect.name if hasattr(bind, "get_bind") else bind.dialect.name


def bulk(connection, table: str, columns: list[str], rows) -> int:
    """Write ``rows`` (tuples in ``columns``' order) into ``table`` the fastest plain way each database
    has: the driver's ``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL."""
    rows = list(rows)
    if not rows:
        return 0
    if dialect(connection) == "sqlite":
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return len(rows)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:
        # generated data, consistent by construction: loaded as a replica would, without the row
        # triggers (billing's money tables write an audit row per row) - the measured jobs keep them
        replica = _superuser(cursor)
        if replica:
            cursor.execute("SET LOCAL session_replication_role = replica")
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if replica:
            cursor.execute("SET LOCAL session_replication_role = origin")
    return len(rows)


def _superuser(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    found = cursor.fetchone()
    return bool(found and found[0])


def settle(bind) -> None:
    """After a bulk load, before the clock starts: on PostgreSQL each sequence moved past the ids
    written and the schema's tables vacuumed and analysed; on SQLite ``ANALYZE`` and the WAL folded
    into the database file. ``bind`` is an engine (an app's ``engine``)."""
    from sqlalchemy import text

    if bind.dialect.name == "sqlite":
        with bind.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        bind.dispose()  # no pooled connection left to hold the WAL open
        import sqlite3

        connection = sqlite3.connect(bind.url.database)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        return
    with bind.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        owned = connection.execute(text(  # each sequence of this schema and the column that owns it
            "SELECT t.relname, a.attname, s.relname FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
            "AND d.refclassid = 'pg_class'::regclass "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE s.relkind = 'S' AND s.relnamespace = CAST(current_schema() AS regnamespace)")).all()
        for table, column, sequence in owned:
            connection.execute(text(
                f'SELECT setval(\'"{sequence}"\', GREATEST((SELECT max("{column}") FROM "{table}"), 1))'))
        tables = list(connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
        for table in tables:
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def analyze(connection) -> None:
    """Fresh planner statistics for the workspace's tables only (not the whole shared server)."""
    from sqlalchemy import text

    if dialect(connection) == "sqlite":
        connection.exec_driver_sql("ANALYZE")
        return
    for table in list(connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()):
        connection.exec_driver_sql(f"ANALYZE {table}")


def own_peak_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM``, which starts afresh at ``exec``, where
    ``getrusage``'s ``ru_maxrss`` keeps the forking parent's peak (a child of a grown benchmark process
    would report the parent's size)."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # no /proc (not Linux): the caller falls back to ru_maxrss
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: ``crm`` in a child that reports, after the command, its own peak memory and CPU time
_MEASURED_CRM = (
    "import resource, sys, time\n"
    "from benchmarks._db import own_peak_mb\n"
    "from core.cli.main import main\n"
    "start = time.perf_counter()\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
    "use = resource.getrusage(resource.RUSAGE_SELF)\n"
    "print('BENCH', time.perf_counter() - start, own_peak_mb(), use.ru_utime + use.ru_stime, file=sys.stderr)\n"
    "sys.exit(code)")


def measured_crm(config: Path, *args: str) -> tuple[float, float, float, str]:
    """Run ``crm --config CONFIG ARGS`` in a child process: ``(wall seconds, peak MB, CPU seconds, stdout)``.

    The peak is the child's own (``VmHWM``): ``getrusage(RUSAGE_CHILDREN)`` would give the largest
    child the benchmark ever ran, and a child's ``ru_maxrss`` the size of the parent it was forked from.
    :raises AssertionError: the command failed (its error output in the message).
    """
    import subprocess
    import sys

    import time

    root = Path(__file__).resolve().parent.parent
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURED_CRM, "--config", str(config), *args], cwd=root,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"crm {' '.join(args)}: {done.stderr[-2000:]}")
    seconds = time.perf_counter() - started  # as the operator waits: start-up included
    _, _, peak, cpu = done.stderr.strip().splitlines()[-1].split()
    return seconds, float(peak), float(cpu), done.stdout


class ServerMemory:
    """The peak private memory (``RssAnon``) of the PostgreSQL backend serving ``bind``'s connection,
    sampled every 20 ms from ``/proc`` while the block runs: sorts, hashes and caches of the job's
    queries (shared buffers are the server's, not the job's). ``peak_mb`` is ``None`` on SQLite or
    where ``/proc`` cannot be read.

    ``with ServerMemory(session) as server: ...; server.peak_mb``
    """

    def __init__(self, bind):
        from sqlalchemy import text

        self.peak_mb = None
        self._path = None
        if dialect(bind) == "postgresql":
            pid = bind.execute(text("SELECT pg_backend_pid()")).scalar()
            path = Path(f"/proc/{pid}/status")
            if _anon_kb(path) is not None:
                self._path = path
        self._stop = threading.Event()

    def _sample(self) -> None:
        while True:
            kb = _anon_kb(self._path)
            if kb is not None:
                self.peak_mb = max(self.peak_mb or 0, kb / 1024)
            if self._stop.wait(0.02):
                return

    def __enter__(self):
        if self._path:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._path:
            self._stop.set()
            self._thread.join()
            self.peak_mb = round(self.peak_mb, 1) if self.peak_mb is not None else None
        return False


def _anon_kb(path: Path | None) -> int | None:
    if path is None:
        return None
    try:
        for line in path.read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
