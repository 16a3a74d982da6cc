"""``core.api.http.Rows``: a list endpoint's ``Select`` is counted and read a page at a time, never whole."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy import event, select

from core.api.http import Rows
from core.models import Partner


def test_a_page_reads_only_its_rows_and_the_total_is_one_count(app):
    with app.transaction() as session:
        session.execute(Partner.__table__.insert(), [
            {"name": f"Client {n:03d}", "kind": "company", "is_customer": True, "is_supplier": False,
             "country": "FR", "active": True} for n in range(50)])
        fetched = []

        def count_rows(conn, cursor, statement, parameters, context, executemany):
            if "core_partner" in statement:  # not who the actor is (the record rules ask once)
                fetched.append(statement)

        engine = session.get_bind()
        event.listen(engine, "after_cursor_execute", count_rows)
        try:
            with Flask(__name__).app_context():
                g.crm_session = session
                rows = Rows(select(Partner).where(Partner.name.like("Client %")).order_by(Partner.name),
                            lambda page: [p.name for p in page])
                assert len(rows) == 50
                assert rows[10:13] == ["Client 010", "Client 011", "Client 012"]
                assert rows[49] == "Client 049"
                assert Rows([1, 2, 3], lambda page: [n * 10 for n in page])[1:] == [20, 30]
        finally:
            event.remove(engine, "after_cursor_execute", count_rows)
        assert len(fetched) == 3, [s[:60] for s in fetched]
        assert "count(*)" in fetched[0].lower()
        assert all("LIMIT" in statement.upper() for statement in fetched[1:])
        session.rollback()
