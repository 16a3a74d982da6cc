"""``core.api.http.Rows``: a list endpoint's ``Select`` is counted and read a page at a time, never whole."""

from __future__ import annotations

import pytest
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


def test_a_read_checks_its_token_and_answers_in_one_transaction_a_write_before_its_own(app):
    """A GET reads the token on the connection that serves it (one checkout, one transaction); a POST
    reads it before its transaction begins, so that the trail's context names the token's user; an
    unknown token is refused either way."""
    from core.api.tokens import create_token
    from core.api.web import create_app

    with app.transaction() as session:
        _, token = create_token(app, session, name="reader")
    web = create_app(app).test_client()
    checkouts, begins = [], []
    event.listen(app.engine.pool, "checkout", lambda *args: checkouts.append(1))
    event.listen(app.engine, "begin", lambda connection: begins.append(1))
    headers = {"Authorization": f"Bearer {token}"}
    assert web.get("/api/v1/partners/", headers=headers).status_code == 200
    assert (len(checkouts), len(begins)) == (1, 1)
    assert web.get("/api/v1/partners/", headers={"Authorization": "Bearer nope"}).status_code == 401
    checkouts.clear(), begins.clear()
    created = web.post("/api/v1/partners/", json={"name": "Client API"}, headers=headers)
    assert created.status_code == 201, created.data
    assert (len(checkouts), len(begins)) == (2, 2)
    assert web.post("/api/v1/partners/", json={"name": "X"}, headers={"Authorization": "Bearer nope"}).status_code == 401


LISTS = ("/api/v1/orders/", "/api/v1/invoices/", "/api/v1/leads/", "/api/v1/payments/")


@pytest.mark.modules("funnel", "billing")
def test_a_list_page_reads_in_as_many_statements_whatever_its_records_name(app, factory):
    """A page of orders, invoices, leads or payments reads their customers, salespeople and owners
    with the records (not one more statement per record): twice the records, each with its own
    customer and salesperson, cost the same statements."""
    from core.api.tokens import create_token
    from core.api.web import create_app
    from plugins.billing.services_payments import record_payment
    from plugins.funnel.leads import create_lead

    with app.transaction() as session:
        _, token = create_token(app, session, name="reader")
    web = create_app(app).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    statements = []
    event.listen(app.engine, "after_cursor_execute", lambda *args: statements.append(args[2]))

    def add(records: int) -> None:
        for _ in range(records):
            seller = factory.user(role="sales")
            customer = factory.partner(salesperson=seller.login)
            factory.order(customer, confirm=True, salesperson=seller.login)
            with app.transaction() as session:
                create_lead(app, session, {"name": f"Lead of {seller.login}", "owner": seller.login})
                record_payment(app, session, {"date": str(app.today), "amount": "1.00", "customer": str(customer.id)})

    def costs() -> dict:
        found = {}
        for path in LISTS:
            web.get(path, headers=headers)  # what a worker reads once (its rights, settings) read already
            statements.clear()
            answer = web.get(path, headers=headers)
            assert answer.status_code == 200, answer.data
            found[path] = (len(answer.json), len(statements))
        return found

    add(2)
    before = costs()
    add(3)
    after = costs()
    assert {path: rows for path, (rows, _) in after.items()} == {path: 5 for path in LISTS}
    assert {path: count for path, (_, count) in after.items()} == {path: count for path, (_, count) in before.items()}
