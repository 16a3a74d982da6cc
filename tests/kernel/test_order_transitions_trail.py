"""An order's transition and its trail: the order read with its lines in one statement (locked on
PostgreSQL), the trail's rows of the whole transition written together, and what a batch of rows
guarantees (nothing from a failed block or a rolled-back savepoint, order kept)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text


def _audit_inserts(app):
    """A list that counts the ``INSERT INTO core_audit`` statements the app's engine runs from now."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO CORE_AUDIT"):
            seen.append(statement)

    event.listen(app.engine, "before_cursor_execute", count)
    return seen


def _trail(session, after: int) -> list[tuple]:
    return [tuple(r) for r in session.execute(text(
        "SELECT action, record_type, record_label FROM core_audit WHERE id > :after ORDER BY id"), {"after": after})]


def _last_id(session) -> int:
    return session.execute(text("SELECT COALESCE(MAX(id), 0) FROM core_audit")).scalar()


def test_an_order_is_read_with_its_lines_in_one_statement_and_locked_alone(factory, app):
    from sqlalchemy.dialects import postgresql

    from core.services.orders import _order_statement, get_order

    product = factory.product()
    order = factory.order(lines=[{"sku": product.sku, "quantity": "2"}, {"sku": factory.product().sku,
                                                                          "quantity": "1"}])
    statements = []
    event.listen(app.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with app.transaction() as session:
        found = get_order(session, order.number, lock=True)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "set_config" not in s]
        assert [line.sequence for line in found.lines] == [1, 2] and found.lines[0].product_id == product.id
        assert len(selects) == 1, selects
        assert get_order(session, str(order.id)) is found
    # the lines are the outer join's nullable side: PostgreSQL locks the order's row only
    locked = str(_order_statement(True, True).compile(dialect=postgresql.dialect()))
    assert "LEFT OUTER JOIN core_sales_order_line" in locked and locked.endswith("FOR UPDATE OF core_sales_order")


def test_an_order_read_for_confirmation_is_locked_against_another_transaction(factory, app, workspace):
    from core.services.orders import get_order

    order = factory.order()
    with app.transaction() as session:
        get_order(session, order.id, lock=True)
        if workspace.backend == "postgresql":  # SQLite serialises the writers themselves
            with app.engine.connect() as other:
                with pytest.raises(Exception, match="could not obtain lock"):
                    other.execute(text("SELECT id FROM core_sales_order WHERE id = :id FOR UPDATE NOWAIT"),
                                  {"id": order.id})


def test_a_confirmation_writes_its_trail_with_one_insert(factory, app):
    from core.services.orders import confirm_order, get_order

    order = factory.order()
    with app.transaction() as session:
        before = _last_id(session)
    inserts = _audit_inserts(app)
    with app.transaction() as session:
        confirm_order(app, session, get_order(session, order.id, lock=True))
    assert len(inserts) == 1
    with app.transaction() as session:
        assert _trail(session, before) == [("update", "core_sales_order", order.number)]


def test_a_batch_writes_its_rows_together_in_the_order_they_were_made(factory, app):
    from core.audit import batched, record
    from core.models import Partner

    first, second = factory.partner(), factory.partner()
    with app.transaction() as session:
        before = _last_id(session)
    inserts = _audit_inserts(app)
    with app.transaction() as session:
        with batched(session):
            session.get(Partner, first.id).city = "Lyon"
            session.flush()
            record(app, session, "note", record_type="core_partner", label="between the two")
            with batched(session):  # an inner block writes with the outer one
                session.get(Partner, second.id).city = "Nantes"
                session.flush()
            assert inserts == [] and _trail(session, before) == []  # not in the trail before the block ends
        assert len(inserts) == 1
    with app.transaction() as session:
        assert _trail(session, before) == [("update", "core_partner", first.name),
                                           ("note", "core_partner", "between the two"),
                                           ("update", "core_partner", second.name)]


def test_a_batch_that_fails_writes_nothing(factory, app):
    from core.audit import batched
    from core.models import Partner

    partner = factory.partner()
    with app.transaction() as session:
        before = _last_id(session)
    with pytest.raises(RuntimeError):
        with app.transaction() as session:
            with batched(session):
                session.get(Partner, partner.id).city = "Lyon"
                session.flush()
                raise RuntimeError("a hook failed")
    with app.transaction() as session:
        assert _trail(session, before) == []
        assert session.get(Partner, partner.id).city == "Paris"


def test_the_rows_of_a_savepoint_rolled_back_in_a_batch_go_with_it(factory, app):
    from core.audit import batched
    from core.models import Partner

    kept, undone = factory.partner(), factory.partner()
    with app.transaction() as session:
        before = _last_id(session)
    with app.transaction() as session:
        with batched(session):
            session.get(Partner, kept.id).city = "Lyon"
            session.flush()
            savepoint = session.begin_nested()
            session.get(Partner, undone.id).city = "Nantes"
            session.flush()
            savepoint.rollback()
    with app.transaction() as session:
        assert _trail(session, before) == [("update", "core_partner", kept.name)]
        assert session.get(Partner, undone.id).city == "Paris"
        assert session.scalars(select(Partner.city).where(Partner.id == kept.id)).one() == "Lyon"


def test_a_prepared_statement_is_limited_for_each_user_by_their_own_rules(factory, app):
    """get_order's statement is built once; the record rules it gets are each actor's, never the last one's."""
    from core.errors import NotFound
    from core.services.orders import get_order

    alice, bob = factory.user(login="alice", role="sales"), factory.user(login="bob", role="sales")
    orders = {user.login: factory.order(salesperson=user.login, customer=factory.partner(salesperson=user.login))
              for user in (alice, bob)}

    def read(login, number):
        app.as_login, app.actor = login, None
        try:
            with app.transaction() as session:
                return get_order(session, number, lock=True).number
        finally:
            app.as_login, app.actor = None, None

    for _ in range(2):  # alternately, so that a limited statement kept for one would show in the other's turn
        for login, other in (("alice", "bob"), ("bob", "alice")):
            assert read(login, orders[login].number) == orders[login].number
            with pytest.raises(NotFound):
                read(login, orders[other].number)
    assert read(None, orders["alice"].number) == orders["alice"].number  # the operator (an admin) sees all


def test_a_batch_whose_transaction_was_rolled_back_writes_nothing_of_it(factory, app):
    from core.audit import batched
    from core.models import Partner

    partner = factory.partner()
    with app.transaction() as session:
        before = _last_id(session)
    session = app.session()
    try:
        with batched(session):
            session.get(Partner, partner.id).city = "Lyon"
            session.flush()
            session.rollback()  # a block that swallows its failure: the change is gone, so is its row
        session.commit()
    finally:
        session.close()
    with app.transaction() as session:
        assert _trail(session, before) == [] and session.get(Partner, partner.id).city == "Paris"


def test_statements_of_unruled_tables_leave_nothing_behind_for_a_limited_user(factory, app):
    import gc

    from core.models import Product
    from core.recordrules import _limited

    factory.user(login="alice", role="sales")
    product = factory.product()
    app.as_login, app.actor = "alice", None
    try:
        with app.transaction() as session:
            for _ in range(50):  # statements built per call, of a table without a rule
                assert session.scalars(select(Product.sku).where(Product.id == product.id)).one() == product.sku
    finally:
        app.as_login, app.actor = None, None
    gc.collect()
    assert len(_limited(app)) == 0
