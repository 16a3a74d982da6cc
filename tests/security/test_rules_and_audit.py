"""Record rules and the audit trail, through the CLI as different people (both databases)."""

from __future__ import annotations

import pytest

from core.security import PermissionDenied, require_command


@pytest.fixture
def people(crm):
    crm("user", "add", "alice", "Alice", "--role", "sales")
    crm("user", "add", "bob", "Bob", "--role", "sales")
    crm("user", "add", "mia", "Mia", "--role", "sales")
    crm("user", "role", "mia", "sales_manager")
    crm("team", "add", "West", "--leader", "mia", "--member", "alice")
    return crm


@pytest.mark.modules("funnel")
def test_a_salesperson_sees_their_leads_a_manager_their_teams_an_admin_all(people):
    crm = people
    ids = {}
    for owner in ("alice", "bob", "mia"):
        ids[owner] = crm("lead", "add", f"Lead of {owner}", "--email", f"{owner}@lead.example", "--owner", owner,
                         "--json").json["id"]
    nobody = crm("lead", "add", "Unassigned lead", "--email", "x@lead.example", "--json").json["id"]

    def names(runner):
        return sorted(row["name"] for row in runner("lead", "list", "--json").json)

    assert names(crm.as_user("alice")) == ["Lead of alice", "Unassigned lead"]
    assert names(crm.as_user("mia")) == ["Lead of alice", "Lead of mia", "Unassigned lead"]
    assert names(crm) == ["Lead of alice", "Lead of bob", "Lead of mia", "Unassigned lead"]
    # a record outside the rule does not exist for them: not shown, not changed
    assert crm.as_user("alice")("lead", "show", ids["bob"], expect=1).stderr.startswith("error: lead")
    crm.as_user("alice")("lead", "qualify", ids["bob"], expect=1)
    assert crm("lead", "show", ids["bob"], "--json").json["state"] == "new"
    assert crm.as_user("alice")("lead", "show", nobody, "--json").json["name"] == "Unassigned lead"


def test_changes_are_in_the_trail_with_who_really_acted(people):
    crm = people
    crm.as_user("alice")("partner", "add", "Durand SARL", "--email", "contact@durand.example")
    partner = crm("partner", "list", "--json").json[0]
    crm.as_user("alice")("partner", "edit", str(partner["id"]), "--email", "compta@durand.example")
    rows = crm("audit", "--record", f"partner:{partner['id']}", "--json").json
    assert [(row["action"], row["who"], row["record"]) for row in rows] == [
        ("create", f"{crm('whoami', '--json').json['login']} as alice", "Durand SARL"),
        ("update", f"{crm('whoami', '--json').json['login']} as alice", "Durand SARL")]
    assert rows[1]["changes"] == {"email": ["contact@durand.example", "compta@durand.example"]}
    assert rows[1]["command"].startswith("crm partner edit")
    assert crm("audit", "--user", "alice", "--json").json[-1]["record_type"] == "command"
    assert crm("audit", "--user", "bob", "--json").json == []


def test_a_refused_action_names_the_right_and_the_roles_and_writes_nothing(people):
    crm = people
    before = len(crm("audit", "--json").json)
    result = crm.as_user("alice")("user", "add", "eve", "Eve", expect=4)
    operator = crm("whoami", "--json").json["login"]
    assert result.stderr.strip() == (f"error: {operator} as alice (roles: sales) lacks the right core.users (Add users and teams, "
                                     "give roles, map logins, define custom roles); roles that have it: admin")
    assert [u["login"] for u in crm("user", "list", "--json").json if u["login"] == "eve"] == []
    assert len(crm("audit", "--json").json) == before


@pytest.mark.modules("billing")
def test_custom_roles_grant_and_revoke(people):
    crm = people
    crm("role", "create", "credit_desk", "--from", "collections", "--description", "credits only")
    crm("role", "grant", "credit_desk", "billing.invoice.credit")
    crm("user", "role", "bob", "credit_desk")
    shown = crm("role", "show", "credit_desk", "--json").json
    assert "billing.invoice.credit" in [r["name"] for r in shown["rights"]] and shown["users"] == ["bob"]
    assert "billing.invoice.credit" in crm.as_user("bob")("whoami", "--json").json["rights"]
    crm("role", "revoke", "credit_desk", "billing.invoice.credit")
    assert "billing.invoice.credit" not in crm.as_user("bob")("whoami", "--json").json["rights"]
    assert "built-in roles are declared by the modules" in crm("role", "grant", "sales", "core.users", expect=1).stderr


def test_a_command_without_a_declared_right_is_for_admins_only(people, workspace):
    app = workspace.app()
    try:
        with app.transaction() as session:
            assert "admin" in require_command(app, session, "brand new command").roles
        app.as_login, app.actor = "alice", None
        with pytest.raises(PermissionDenied, match="command 'crm brand new command' declares no right"):
            with app.transaction() as session:
                require_command(app, session, "brand new command")
    finally:
        app.close()


def test_a_large_write_to_the_trail_stores_the_same_rows_as_a_small_one(app, monkeypatch):
    """From ``RAW_FROM`` rows the trail is written through the driver (SQLite's executemany): every
    column stored as SQLAlchemy stores it, so that both read back the same (and a day compares)."""
    from sqlalchemy import select, text

    from core import audit
    from core.models import AuditEntry, Partner

    def rows(prefix, count):
        return [{"name": f"{prefix} {n}", "kind": "company", "country": "FR"} for n in range(count)]

    with app.transaction() as session:
        start = session.scalar(text("SELECT coalesce(max(id), 0) FROM core_audit"))
        monkeypatch.setattr(audit, "RAW_FROM", 10**9)
        audit.inserted(app, session, Partner, rows("Small", 3), [1, 2, 3])
        monkeypatch.setattr(audit, "RAW_FROM", 2)
        audit.inserted(app, session, Partner, rows("Large", 3), [4, 5, 6])
        written = [(e.action, e.record_type, e.record_id, e.record_label, e.changes, e.business_date, e.user_login,
                    e.db_user, e.command) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.id > start).order_by(AuditEntry.id))]
        raw = session.execute(text("SELECT logged_at, business_date FROM core_audit WHERE id > :start ORDER BY id"),
                              {"start": start}).all()
        days = session.scalar(text("SELECT count(*) FROM core_audit WHERE id > :start AND business_date = :day"),
                              {"start": start, "day": app.today})
        session.rollback()
    assert [row[:5] for row in written] == [
        ("create", "core_partner", str(n + 1), f"{size} {n % 3}",
         f'{{"name": [null, "{size} {n % 3}"], "kind": [null, "company"], "country": [null, "FR"]}}')
        for n, size in enumerate(["Small"] * 3 + ["Large"] * 3)]
    assert len({row[5:] for row in written}) == 1  # the same who and which day
    assert written[0][5] == app.today and days == 6
    assert len({type(logged) for logged, _ in raw}) == 1 and len({len(str(logged)) for logged, _ in raw}) == 1
