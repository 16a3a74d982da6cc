"""PostgreSQL with real roles: who connects is who acts, rights hold, the trail cannot be rewritten."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from core.testing import CrmRunner, Factory, make_workspace


@pytest.fixture
def shared(pg_database_url, tmp_path, monkeypatch):
    """A billing workspace on PostgreSQL, a posted invoice, and a LOGIN role mapped to a salesperson."""
    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY", "CRM_USER"):
        monkeypatch.delenv(name, raising=False)
    workspace = make_workspace(tmp_path / "workspace", pg_database_url, ("billing",))
    app = workspace.app()
    factory = Factory(app)
    order = factory.order(confirm=True)  # billing posts its invoice on confirmation
    with app.transaction() as session:
        number = session.execute(text("SELECT number FROM billing_invoice WHERE order_id = :id"),
                                 {"id": order.id}).scalar()
    app.close()
    schema = pg_database_url.split("search_path%3D")[1]
    role = f"crm_sales_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_database_url.split("?")[0].replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for statement in (f'CREATE ROLE "{role}" LOGIN', f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
                          f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
                          f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
                          f'REVOKE UPDATE, DELETE ON "{schema}".core_audit FROM "{role}"'):
            connection.execute(text(statement))
    admin_crm = CrmRunner(workspace, None)
    admin_crm("user", "add", "sam", "Sam Seller", "--role", "sales")
    admin_crm("user", "identity", "sam", "--db-role", role)
    role_url = f"postgresql://{role}@127.0.0.1:5432/{pg_database_url.split('/')[-1].split('?')[0]}" \
               f"?options=-csearch_path%3D{schema}"
    try:
        yield workspace, admin_crm, role, role_url, number
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def as_role(workspace, role_url, monkeypatch) -> CrmRunner:
    monkeypatch.setenv("CRM_DATABASE_URL", role_url)
    return CrmRunner(workspace, None)


def test_the_connection_decides_who_acts_not_the_environment(shared, monkeypatch):
    workspace, _, role, role_url, _ = shared
    crm = as_role(workspace, role_url, monkeypatch)
    monkeypatch.setenv("CRM_USER", "postgres")
    monkeypatch.setenv("USER", "postgres")
    me = crm("whoami", "--json").json
    assert (me["login"], me["db_user"], me["roles"]) == ("sam", role, ["sales"])
    refused = crm("--as", "postgres", "invoice", "list", expect=4)
    assert "sam may not act as postgres: the right core.impersonate is missing" in refused.stderr


def test_a_salesperson_cannot_credit_an_invoice_and_nothing_is_written(shared, monkeypatch):
    workspace, admin_crm, role, role_url, number = shared
    before = len(admin_crm("audit", "--json").json)
    crm = as_role(workspace, role_url, monkeypatch)
    refused = crm("invoice", "credit", number, "--reason", "geste", expect=4)
    assert refused.stderr.strip() == (
        "error: sam (roles: sales) lacks the right billing.invoice.credit (Credit a posted invoice (a credit "
        "note)); roles that have it: accountant, admin")
    monkeypatch.delenv("CRM_DATABASE_URL")
    assert [i["number"] for i in admin_crm("invoice", "list", "--json").json] == [number]
    after = admin_crm("audit", "--json").json
    assert [row for row in after[before:] if row["user"] == "sam" or row["db_user"] == role] == [], after[before:]


def test_the_service_refuses_too_whatever_the_door(shared, monkeypatch):
    """A third-party script calling the service directly meets the same check as the CLI."""
    from core.app import App
    from core.config import load_config
    from core.security import PermissionDenied
    from plugins.billing.services_invoices import credit_invoice, get_invoice

    workspace, _, _, role_url, number = shared
    monkeypatch.setenv("CRM_DATABASE_URL", role_url)
    app = App(load_config(workspace.config_path))
    try:
        with pytest.raises(PermissionDenied, match="lacks the right billing.invoice.credit"):
            with app.transaction() as session:
                credit_invoice(app, session, get_invoice(session, number))
    finally:
        app.close()


def test_operators_cannot_rewrite_the_trail_and_raw_changes_are_in_it(shared, monkeypatch):
    workspace, admin_crm, role, role_url, number = shared
    engine = create_engine(role_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        for statement in ("UPDATE core_audit SET user_login = 'nobody'", "DELETE FROM core_audit"):
            with pytest.raises(Exception, match="permission denied|cannot be changed"):
                with engine.begin() as connection:
                    connection.execute(text(statement))
        with engine.begin() as connection:  # what psql would do: a raw UPDATE on an invoice
            connection.execute(text("UPDATE billing_invoice SET hold_reason = 'changed by hand' WHERE number = :n"),
                               {"n": number})
    finally:
        engine.dispose()
    # not even the owner (the superuser here) may rewrite it: the trigger refuses
    owner = create_engine(os.environ["CRM_TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"),
                          connect_args={"options": f"-csearch_path={role_url.split('%3D')[1]}"})
    try:
        with pytest.raises(Exception, match="the audit trail cannot be changed: DELETE refused"):
            with owner.begin() as connection:
                connection.execute(text("DELETE FROM core_audit"))
    finally:
        owner.dispose()
    rows = admin_crm("audit", "--record", f"invoice:{number}", "--json").json
    by_hand = [row for row in rows if row["db_user"] == role]
    assert len(by_hand) == 1
    assert by_hand[0]["action"] == "update" and by_hand[0]["who"] == f"db:{role}"
    assert by_hand[0]["changes"] == {"hold_reason": [None, "changed by hand"]}


def test_the_role_is_asked_once_per_connection_and_a_read_sets_no_trail_context(shared, monkeypatch):
    """``current_user`` is read once per pooled connection, however many transactions it serves, and
    still names the role that really connected; a read-only transaction (a list, an API GET) skips the
    ``set_config`` of the trail's context, a write still sets it for the triggers."""
    from sqlalchemy import event

    from core.db import READ_ONLY
    from core.security import database_user

    workspace, admin_crm, role, role_url, number = shared
    monkeypatch.setenv("CRM_DATABASE_URL", role_url)
    app = workspace.app()
    asked = []
    event.listen(app.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: asked.append(statement) if "current_user" in statement else None)
    try:
        for _ in range(3):
            with app.engine.connect() as connection:
                assert database_user(connection) == role
        assert len(asked) == 1
        session = app.session()
        try:
            connection = session.connection(execution_options={READ_ONLY: True})
            assert connection.execute(text("SELECT current_setting('crm.command', true)")).scalar() in (None, "")
        finally:
            session.rollback()
            session.close()
        app.command = "invoice hold"
        with app.transaction() as session:
            assert session.execute(text("SELECT current_setting('crm.command', true)")).scalar() == "invoice hold"
    finally:
        app.close()
