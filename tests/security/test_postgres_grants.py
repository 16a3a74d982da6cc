"""PostgreSQL: mapping a real role to a crm user grants it exactly what that user needs, nothing more."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from core.testing import CrmRunner, make_workspace


@pytest.fixture
def bare_role(pg_database_url, tmp_path, monkeypatch):
    """A billing workspace on PostgreSQL and a LOGIN role that was granted nothing at all."""
    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    workspace = make_workspace(tmp_path / "workspace", pg_database_url, ("billing",))
    schema = pg_database_url.split("search_path%3D")[1]
    role = f"crm_op_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_database_url.split("?")[0].replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    database = pg_database_url.split("/")[-1].split("?")[0]
    role_url = f"postgresql://{role}@127.0.0.1:5432/{database}?options=-csearch_path%3D{schema}"
    engine = create_engine(role_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        yield workspace, CrmRunner(workspace, None), role, role_url, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


#: without USAGE on the schema, PostgreSQL does not even show the table
NO_ACCESS = 'relation "core_partner" does not exist'


def refused(engine, statement: str) -> str:
    with pytest.raises(Exception) as caught:
        with engine.begin() as connection:
            connection.execute(text(statement))
    return str(caught.value)


def test_the_identity_command_grants_what_the_operator_needs(bare_role, monkeypatch):
    workspace, admin_crm, role, role_url, engine = bare_role
    admin_crm("user", "add", "sam", "Sam Seller", "--role", "sales")
    assert NO_ACCESS in refused(engine, "SELECT count(*) FROM core_partner")  # nothing yet: not even the schema
    admin_crm("user", "identity", "sam", "--db-role", role)
    monkeypatch.setenv("CRM_DATABASE_URL", role_url)
    crm = CrmRunner(workspace, None)
    assert crm("whoami", "--json").json["login"] == "sam"
    crm("partner", "add", "Alpha", "--siren", "732829320", "--salesperson", "sam")  # writes the trail too
    assert [p["name"] for p in crm("partner", "list", "--json").json] == ["Alpha"]
    # the trail: added to, never rewritten; the rights tables: read, never written by a salesperson
    assert "permission denied" in refused(engine, "UPDATE core_audit SET user_login = 'x'")
    assert "permission denied" in refused(engine, "DELETE FROM core_audit")
    uid = admin_crm("user", "list", "--json").json
    sam = next(u["id"] for u in uid if u["login"] == "sam")
    assert "permission denied" in refused(engine, f"INSERT INTO core_user_role (user_id, role) VALUES ({sam}, 'admin')")
    assert "permission denied" in refused(engine, "UPDATE core_user SET role = 'admin'")
    assert "permission denied" in refused(engine, "UPDATE core_company SET name = 'x'")
    assert "sales" == crm("whoami", "--json").json["roles"][0]
    with engine.begin() as connection:  # what it needs for its own work, by hand as well
        assert connection.execute(text("SELECT count(*) FROM core_audit")).scalar() > 0
        connection.execute(text("UPDATE core_partner SET city = 'Lyon'"))


def test_grants_follow_the_users_roles_and_the_mapping(bare_role, monkeypatch):
    workspace, admin_crm, role, role_url, engine = bare_role
    admin_crm("user", "add", "sam", "Sam Seller", "--role", "sales")
    admin_crm("user", "identity", "sam", "--db-role", role)
    admin_crm("user", "role", "sam", "admin")  # now sam may manage users, also by hand
    with engine.begin() as connection:
        connection.execute(text("UPDATE core_team SET name = name"))
    admin_crm("user", "role", "sam", "admin", "--remove")
    assert "permission denied" in refused(engine, "UPDATE core_team SET name = name")
    admin_crm("user", "identity", "sam", "--db-role", "")  # unmapped: the role loses everything
    assert NO_ACCESS in refused(engine, "SELECT count(*) FROM core_partner")


def test_a_role_that_does_not_exist_is_refused_and_nothing_is_mapped(bare_role):
    _, admin_crm, _, _, _ = bare_role
    admin_crm("user", "add", "sam", "Sam Seller", "--role", "sales")
    result = admin_crm("user", "identity", "sam", "--db-role", "no_such_role_x", expect=1)
    assert result.stderr.strip() == ('error: user sam: db_role: no such database role: create it first '
                                     '(CREATE ROLE "no_such_role_x" LOGIN)')
    assert next(u for u in admin_crm("user", "list", "--json").json if u["login"] == "sam")["db_role"] is None
