"""core.dbutil: ``insert_ignore`` with and without its count, and ``fresh_statistics`` after a bulk write."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.dbutil import FRESH_STATISTICS_FROM, fresh_statistics, insert_ignore
from core.models import Partner


def _rows(count: int, start: int = 0) -> list[dict]:
    return [{"name": f"Client {n:06d}", "kind": "company", "is_customer": True, "is_supplier": False,
             "country": "FR", "active": True} for n in range(start, start + count)]


def test_insert_ignore_skips_conflicts_and_counts_only_when_asked(app):
    table = Partner.__table__
    with app.transaction() as session:
        session.execute(text("CREATE UNIQUE INDEX probe_partner_name ON core_partner (name)"))
        assert insert_ignore(session, table, _rows(3), ["name"]) == 3
        assert insert_ignore(session, table, _rows(3, start=2), ["name"]) == 2  # Client 2 was there
        assert insert_ignore(session, table, _rows(3, start=4), ["name"], count=False) is None
        assert insert_ignore(session, table, [], ["name"], count=False) is None
        assert session.scalar(text("SELECT COUNT(*) FROM core_partner WHERE name LIKE 'Client %'")) == 7
        session.rollback()


def test_fresh_statistics_renews_postgresql_s_row_count_within_the_transaction(app):
    with app.transaction() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        reltuples = "SELECT reltuples FROM pg_class WHERE oid = 'core_partner'::regclass"
        before = session.scalar(text(reltuples)) if postgresql else None
        session.execute(Partner.__table__.insert(), _rows(FRESH_STATISTICS_FROM))
        fresh_statistics(session, ["core_partner"], FRESH_STATISTICS_FROM - 1)  # below the threshold: nothing
        if postgresql:
            assert session.scalar(text(reltuples)) == before
        fresh_statistics(session, ["core_partner"], FRESH_STATISTICS_FROM)
        if postgresql:
            assert session.scalar(text(reltuples)) >= FRESH_STATISTICS_FROM  # the planner now knows
        assert session.scalar(text("SELECT COUNT(*) FROM core_partner")) >= FRESH_STATISTICS_FROM
        session.rollback()


def test_a_growing_table_s_statistics_are_renewed_each_time_it_doubles(app):
    from core.dbutil import GrowingTable

    reltuples = "SELECT reltuples FROM pg_class WHERE oid = 'core_partner'::regclass"
    with app.transaction() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        grown = GrowingTable(session, "core_partner")
        session.execute(Partner.__table__.insert(), _rows(FRESH_STATISTICS_FROM - 1))
        grown.wrote(FRESH_STATISTICS_FROM - 1)  # too few to matter
        if postgresql:
            assert session.scalar(text(reltuples)) < FRESH_STATISTICS_FROM - 1
        session.execute(Partner.__table__.insert(), _rows(1, start=FRESH_STATISTICS_FROM))
        grown.wrote(FRESH_STATISTICS_FROM)
        if postgresql:
            assert session.scalar(text(reltuples)) >= FRESH_STATISTICS_FROM
        session.execute(Partner.__table__.insert(), _rows(100, start=2 * FRESH_STATISTICS_FROM))
        grown.wrote(FRESH_STATISTICS_FROM + 100)  # not doubled since: the statistics stay as they are
        if postgresql:
            assert session.scalar(text(reltuples)) < FRESH_STATISTICS_FROM + 100
        session.execute(Partner.__table__.insert(), _rows(FRESH_STATISTICS_FROM, start=3 * FRESH_STATISTICS_FROM))
        grown.wrote(2 * FRESH_STATISTICS_FROM + 100)
        if postgresql:
            assert session.scalar(text(reltuples)) >= 2 * FRESH_STATISTICS_FROM + 100
        session.rollback()


def test_a_table_emptied_then_refilled_is_written_frozen_and_all_visible_and_a_rollback_restores_it(app):
    """``empty_table`` + ``driver_writer(frozen=True)``: the rows are replaced in the transaction
    (undone by its rollback); on PostgreSQL their pages are all-visible at once, so an index-only
    scan reads no heap page (``relallvisible``, read by the ANALYZE, equals the table's pages)."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    from core.dbutil import driver_writer, empty_table

    probe = Table("probe_frozen", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(40)))
    with app.transaction() as session:
        probe.create(session.connection())
        driver_writer(session, "probe_frozen", ["id", "name"])([(1, "one"), (2, "two")])
    with app.transaction() as session:
        empty_table(session, probe)
        driver_writer(session, "probe_frozen", ["id", "name"], frozen=True)((n, f"row {n}") for n in range(10, 5010))
        assert session.scalar(text("SELECT COUNT(*) FROM probe_frozen")) == 5000
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE probe_frozen"))
            pages, visible = session.execute(text(
                "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'probe_frozen'::regclass")).one()
            assert pages > 1 and visible == pages
        session.rollback()
    with app.transaction() as session:
        assert session.execute(text("SELECT id, name FROM probe_frozen ORDER BY id")).all() == [(1, "one"), (2, "two")]


@pytest.mark.modules("billing")
def test_many_rows_inserted_ignoring_conflicts_go_in_whole_in_their_order_with_exact_values(app, monkeypatch):
    """Past ``STAGED_FROM`` rows, ``insert_ignore`` goes to the driver (PostgreSQL stages them by COPY,
    SQLite's executemany): each value as its column's type stores it (money in cents, dates), conflicts
    skipped, ids in the order given. Rows that leave out a column with a Python-side default still get
    it (they take SQLAlchemy's path)."""
    import datetime as dt
    from decimal import Decimal

    from core import dbutil
    from plugins.billing.models_bank import BankLine, BankStatement

    monkeypatch.setattr(dbutil, "STAGED_FROM", 2)

    def line(key, amount, day):
        return {"statement_id": statement.id, "line_key": key, "line_number": 1, "bank_reference": None,
                "direction": "credit", "amount": Decimal(amount), "currency": "EUR", "booking_date": day,
                "value_date": None, "counterparty_name": "Ça, \"quoted\"\ttab", "counterparty_iban": None,
                "structured_reference": None, "remittance": None, "method": "transfer", "state": "unmatched",
                "partner_id": None, "matched_by": None}

    with app.transaction() as session:
        statement = BankStatement(format="csv", file_name="x.csv", file_hash="0" * 64, imported_on=dt.date(2026, 2, 1),
                                  imported_at=dt.datetime(2026, 2, 1), lines_read=3)
        session.add(statement)
        session.flush()
        day = dt.date(2026, 1, 31)
        assert insert_ignore(session, BankLine.__table__, [line("b", "0.01", day), line("a", "1234567.89", day)],
                             ["line_key"], count=False) is None
        insert_ignore(session, BankLine.__table__, [line("c", "5.00", day), line("a", "9.99", day)], ["line_key"],
                      count=False)
        rows = session.execute(text("SELECT line_key, counterparty_name FROM billing_bank_line ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(key, "Ça, \"quoted\"\ttab") for key in "bac"]
        lines = session.execute(BankLine.__table__.select().order_by(BankLine.id)).all()
        assert [(row.amount, row.booking_date) for row in lines] == [
            (Decimal("0.01"), day), (Decimal("1234567.89"), day), (Decimal("5.00"), day)]
        bare = [{key: value for key, value in line(key, "1.00", day).items() if key not in ("currency", "method")}
                for key in "cd"]
        insert_ignore(session, BankLine.__table__, bare, ["line_key"], count=False)
        assert session.execute(text("SELECT line_key, currency, method FROM billing_bank_line "
                                    "WHERE line_key IN ('c', 'd') ORDER BY id")).all() == [
            ("c", "EUR", "transfer"), ("d", "EUR", "transfer")]
        session.rollback()


def test_an_overlapped_write_ends_before_the_connection_is_used_again_and_its_error_reaches_the_caller(app):
    """``Overlapped``: on PostgreSQL the write runs in another thread while the caller goes on; after
    ``wait`` its rows are there; a write the database refuses raises its own error in the caller (at
    ``wait``), and nothing of the transaction stays; leaving the block under the caller's error
    waits for the write first and reports the caller's error (the write's, if any, in a note). On
    SQLite the write runs at once."""
    import threading

    from core.dbutil import Overlapped, driver_writer

    with app.transaction() as session:
        session.execute(text("CREATE TABLE probe_overlapped (id INTEGER PRIMARY KEY)"))
    threads = []

    def write(rows):
        threads.append(threading.current_thread())
        driver_writer(session, "probe_overlapped", ["id"])(rows)

    with app.transaction() as session, Overlapped(session) as pending:
        postgresql = session.get_bind().dialect.name == "postgresql"
        assert pending.background is postgresql
        pending.start(write, [(n,) for n in range(1, 2001)])
        pending.wait()
        assert session.scalar(text("SELECT COUNT(*) FROM probe_overlapped")) == 2000
        assert (threads[0] is not threading.main_thread()) is postgresql
    with pytest.raises(Exception, match="(?i)unique|duplicate") as caught:
        with app.transaction() as session, Overlapped(session) as pending:
            pending.start(write, [(3000,), (1,)])  # 1 is taken
            pending.wait()
    assert type(caught.value).__module__.split(".")[0] in {"psycopg", "sqlite3", "sqlalchemy"}
    ended = []

    def slow(rows):
        import time

        time.sleep(0.2)
        write(rows)
        ended.append(True)

    with pytest.raises(ValueError, match="the caller's"):
        with app.transaction() as session, Overlapped(session) as pending:
            pending.start(slow, [(4000,)])
            raise ValueError("the caller's error")
    assert ended == [True]  # the transaction was rolled back after the write ended, not under it
    if postgresql:  # both fail: the caller's error is raised, the write's told beside it
        with pytest.raises(ValueError, match="the caller's") as caught:
            with app.transaction() as session, Overlapped(session) as pending:
                pending.start(write, [(1,)])  # 1 is taken
                raise ValueError("the caller's error")
        assert any("failed too" in note and "duplicate" in note for note in caught.value.__notes__)
    with app.transaction() as session:
        assert session.scalar(text("SELECT COUNT(*) FROM probe_overlapped")) == 2000


@pytest.mark.modules("funnel")
def test_counts_in_a_window_start_again_in_the_next_and_forget_only_their_scope_s_earlier_windows(app):
    from sqlalchemy import select

    from core.api.models import WebLoginFailure
    from core.dbutil import count_in_window
    from plugins.funnel.models import CaptureHit

    failures, hits = WebLoginFailure.__table__, CaptureHit.__table__
    alice, host = {"subject": "login alice"}, {"subject": "address 10.0.0.1"}
    with app.transaction() as session:
        assert count_in_window(session, failures, "failures", [alice, host], 900) == [1, 1]
        assert count_in_window(session, failures, "failures", [alice], 900) == [2]
        assert count_in_window(session, failures, "failures", [alice, host], 1800) == [1, 1]  # a new window
        assert sorted(session.execute(select(failures.c.subject, failures.c.window_start, failures.c.failures))) == [
            ("address 10.0.0.1", 1800, 1), ("login alice", 1800, 1)]  # the earlier window forgotten
        # a daily form and an hourly one: the hourly form's new window leaves the daily one's current window
        daily, hourly = {"form": "daily", "address": "a"}, {"form": "hourly", "address": "a"}
        assert count_in_window(session, hits, "hits", [daily], 86400, scope={"form": "daily"}) == [1]
        assert count_in_window(session, hits, "hits", [hourly], 86400, scope={"form": "hourly"}) == [1]
        assert count_in_window(session, hits, "hits", [hourly], 86400 + 3600, scope={"form": "hourly"}) == [1]
        assert count_in_window(session, hits, "hits", [daily], 86400, scope={"form": "daily"}) == [2]
        assert sorted(session.execute(select(hits.c.form, hits.c.window_start, hits.c.hits))) == [
            ("daily", 86400, 2), ("hourly", 90000, 1)]
