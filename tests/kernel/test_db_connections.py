"""core.db: every connection the engine lends is set up as the code relies on."""

from __future__ import annotations

from sqlalchemy import text


def test_each_connection_gets_the_database_s_session_settings(app):
    with app.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # JIT compiling took 237 ms of a 412 ms funnel-report query over 1,000,000 deals
            assert connection.execute(text("SHOW jit")).scalar() == "off"
            return
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "synchronous", "cache_size")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "cache_size": -65536}

