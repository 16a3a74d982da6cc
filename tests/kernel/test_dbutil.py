"""core.dbutil: ``insert_ignore`` with and without its count, and ``fresh_statistics`` after a bulk write."""

from __future__ import annotations

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
