"""core.db: every connection the engine lends is set up as the code relies on."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from core.dbutil import BULK_PAGE_CACHE_KIB, bulk_page_cache


def test_each_connection_gets_the_database_s_session_settings(app):
    with app.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # JIT compiling took 237 ms of a 412 ms funnel-report query over 1,000,000 deals
            assert connection.execute(text("SHOW jit")).scalar() == "off"
            return
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "synchronous", "cache_size")}
    # SQLite's own page cache: a large one on every connection made each job's memory grow with the data
    default_cache = sqlite3.connect(":memory:").execute("PRAGMA cache_size").fetchone()[0]
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "cache_size": default_cache}


def _cache_size(session):
    return session.connection().exec_driver_sql("PRAGMA cache_size").scalar()


def test_a_bulk_block_has_the_large_page_cache_on_sqlite_and_the_connection_gets_its_own_back(app):
    with app.transaction() as session:
        if app.dialect != "sqlite":  # PostgreSQL: nothing is set, the block just runs
            with bulk_page_cache(session):
                assert session.execute(text("SELECT 1")).scalar() == 1
            return
        before = _cache_size(session)
        with bulk_page_cache(session):
            assert _cache_size(session) == -BULK_PAGE_CACHE_KIB
        assert _cache_size(session) == before
        with pytest.raises(RuntimeError), bulk_page_cache(session):
            raise RuntimeError("an import refused half-way")
        assert _cache_size(session) == before
