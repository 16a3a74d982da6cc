"""The ledger booked from billing's hooks, with Entonnoir's fixtures (``workspace``, ``crm``, ``app``).

These run wherever the package is installed (``pip install -e .`` then ``pytest``), on SQLite and
on PostgreSQL too when ``CRM_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from core.db import Base
from core.errors import StateError
from entonnoir_commissions import models  # noqa: F401 - puts the module's tables on the metadata
from entonnoir_commissions.models import CommissionEntry

pytestmark = pytest.mark.modules("billing", "commissions")

NOVEMBER = dt.date(2026, 11, 2)


@pytest.fixture
def sales(crm):
    """Alice (team North, on the team's plan) and Bob (his own plan), customers and a 1,000.00 product."""
    crm.today = NOVEMBER
    crm("user", "add", "alice", "Alice Martin")
    crm("user", "add", "bob", "Bob Durand")
    crm("team", "add", "North", "--member", "alice", "--member", "bob")
    crm("commissions", "plan", "add", "--team", "North", "--rate", "5", "--tier", "10000:7", "--from", "2026-11-01")
    crm("commissions", "plan", "add", "--salesperson", "bob", "--rate", "4", "--from", "2026-11-01")
    crm("partner", "add", "Dupont SA", "--salesperson", "alice", "--street", "1 rue du Port", "--postal-code", "44000", "--city", "Nantes", "--siren", "314238452")
    crm("partner", "add", "Martin SARL", "--salesperson", "bob", "--street", "1 rue du Port", "--postal-code", "44000", "--city", "Nantes", "--siren", "314317645")
    crm("product", "add", "WID-1", "Widget", "--price", "1000", "--vat-rate", "20")
    return crm


def lines(crm, period="2026-11", who=None):
    data = crm("commissions", "statement", "--period", period, *(["--salesperson", who] if who else []), "--json").json
    return {p["login"]: [(l["kind"], l["invoice"], l["base"], l["rate"], l["commission"]) for l in p["lines"]]
            for p in data["salespeople"]}


def test_models_match_the_migration(app):
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if "commissions_" in repr(d)] == []


def test_own_plan_wins_over_the_team_plan_and_a_later_plan_takes_over(sales):
    crm = sales
    crm("order", "create", "--customer", "Martin SARL", "--line", "WID-1:1", "--confirm")  # Bob's, 1,200.00
    crm("payment", "add", "--amount", "1200", "--customer", "Martin SARL")
    # Bob has his own 4 % plan: 1,000.00 untaxed -> 40.00 (the team's 5 % does not apply to him)
    assert lines(crm)["bob"] == [("accrual", "F2026-000001", "1000.00", "4.00", "40.00")]

    crm.today = dt.date(2026, 11, 10)
    crm("commissions", "plan", "add", "--salesperson", "bob", "--rate", "6")
    crm("order", "create", "--customer", "Martin SARL", "--line", "WID-1:1", "--confirm")
    crm("payment", "add", "--amount", "1200", "--customer", "Martin SARL")
    assert lines(crm)["bob"][1] == ("accrual", "F2026-000002", "1000.00", "6.00", "60.00")
    refused = crm("commissions", "plan", "add", "--salesperson", "bob", "--rate", "7", expect=1)
    assert "a plan from 2026-11-10 exists already" in refused.stderr


def test_a_hook_called_twice_books_once_and_rows_are_never_changed(sales, workspace):
    crm = sales
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:1", "--confirm")
    crm("payment", "add", "--amount", "600", "--customer", "Dupont SA")
    app = workspace.app(today=NOVEMBER)
    app.call("register_models")  # the enabled modules' tables on the shared metadata (billing's too)
    with app.transaction() as session:
        payment_table = Base.metadata.tables["billing_payment"]
        invoice_table = Base.metadata.tables["billing_invoice"]
        payment = session.execute(select(payment_table)).one()
        invoice = session.execute(select(invoice_table)).one()
        # the same event again (a replayed import, a retried hook): nothing more is booked
        app.call("payment_recorded", app=app, session=session, payment=payment, allocations=[(invoice, D("600.00"))],
                 cleared=[])
    assert lines(crm)["alice"] == [("accrual", "F2026-000001", "500.00", "5.00", "25.00")]

    with pytest.raises(StateError, match="is never changed"):
        with app.transaction() as session:
            session.scalars(select(CommissionEntry)).one().commission = D("99.00")
            session.flush()
    with pytest.raises(StateError, match="is never deleted"):
        with app.transaction() as session:
            session.delete(session.scalars(select(CommissionEntry)).one())
            session.flush()
    app.close()


def test_an_invoice_without_order_earns_the_customers_salesperson(sales):
    crm = sales
    crm("invoice", "create", "--customer", "Dupont SA", "--line", "WID-1:2", "--post")
    crm("payment", "add", "--amount", "2400", "--customer", "Dupont SA")
    assert lines(crm)["alice"] == [("accrual", "F2026-000001", "2000.00", "5.00", "100.00")]


def test_credit_notes_take_back_only_what_was_collected(sales):
    crm = sales
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:2", "--confirm")  # 2,400.00
    crm("payment", "add", "--amount", "1200", "--customer", "Dupont SA")             # 1,000.00 untaxed, 50.00
    # crediting one widget (1,200.00) cancels the unpaid half: nothing was given back
    crm("invoice", "credit", "F2026-000001", "--line", "1:1")
    assert [l[0] for l in lines(crm)["alice"]] == ["accrual"]
    # crediting the other one gives back the 1,200.00 collected: all of its commission
    crm("invoice", "credit", "F2026-000001", "--line", "1:1")
    assert lines(crm)["alice"][1] == ("reversal", "F2026-000001", "-1000.00", None, "-50.00")
    statement = crm("commissions", "statement", "--period", "2026-11", "--json").json
    assert statement["total"] == "0.00"


def test_no_plan_no_commission_and_a_statement_for_someone_who_earned_nothing(crm):
    crm("user", "add", "carol", "Carol Petit")
    crm("partner", "add", "Durand SAS", "--salesperson", "carol", "--street", "1 rue du Port", "--postal-code", "44000", "--city", "Nantes", "--siren", "314396839")
    crm("product", "add", "WID-1", "Widget", "--price", "10")
    crm("order", "create", "--customer", "Durand SAS", "--line", "WID-1:1", "--confirm")
    crm("payment", "add", "--amount", "12", "--customer", "Durand SAS")
    assert crm("commissions", "statement", "--period", "2026-11").stdout.strip() == "no commission in 2026-11"
    only = crm("commissions", "statement", "--period", "2026-11", "--salesperson", "carol", "--json").json
    assert only["salespeople"] == [{"login": "carol", "name": "Carol Petit", "lines": [], "collected": "0.00",
                                    "base": "0.00", "accrued": "0.00", "reversed": "0.00", "total": "0.00"}]


def test_bad_plans_are_refused_with_the_field_named(crm):
    crm("user", "add", "alice", "Alice Martin")
    crm("team", "add", "North", "--member", "alice")
    both = crm("commissions", "plan", "add", "--salesperson", "alice", "--team", "North", "--rate", "5", expect=1)
    assert both.stderr.strip() == "error: plan for alice: salesperson: give either a salesperson or a team"
    tier = crm("commissions", "plan", "add", "--team", "North", "--rate", "5", "--tier", "10000", expect=1)
    assert "tiers" in tier.stderr and "expected THRESHOLD:RATE" in tier.stderr
    rate = crm("commissions", "plan", "add", "--team", "North", "--rate", "105", expect=1)
    assert "rate: must be between 0 and 100" in rate.stderr
    unknown = crm("commissions", "plan", "add", "--salesperson", "zoe", "--rate", "5", expect=1)
    assert "user 'zoe': no such user" in unknown.stderr
    assert crm("commissions", "plan", "list", "--json").json == []
