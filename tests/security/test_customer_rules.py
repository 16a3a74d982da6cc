"""Record rules on customers, orders and what hangs off them, through the CLI (both databases).

alice and bob sell; mia manages the West team (alice and herself); claire is in collections.
Alpha is alice's customer, Beta bob's, Gamma nobody's.
"""

from __future__ import annotations

import csv
import io

import pytest

pytestmark = pytest.mark.modules("billing")


@pytest.fixture
def shop(crm):
    crm("user", "add", "alice", "Alice", "--role", "sales")
    crm("user", "add", "bob", "Bob", "--role", "sales")
    crm("user", "add", "mia", "Mia", "--role", "sales")
    crm("user", "role", "mia", "sales_manager")
    crm("team", "add", "West", "--leader", "mia", "--member", "alice")
    crm("user", "add", "claire", "Claire", "--role", "collections")
    crm("product", "add", "P1", "Lampe", "--price", "100")
    for name, siren, owner in (("Alpha", "732829320", "alice"), ("Beta", "552100554", "bob"),
                               ("Gamma", "542107651", None)):
        crm("partner", "add", name, "--siren", siren, "--street", "1 rue de la Paix", "--postal-code", "75002",
            "--city", "Paris", *(("--salesperson", owner) if owner else ()))
    orders = {}
    for who, customer in (("alice", "Alpha"), ("bob", "Beta"), ("alice", "Gamma")):
        created = crm.as_user(who)("order", "create", "--customer", customer, "--line", "P1:1", "--confirm",
                                   "--json").json
        orders[(who, customer)] = created["number"]
    return crm, orders


def names(rows, key="name"):
    return sorted(row[key] for row in rows)


def test_a_salesperson_sees_their_customers_a_manager_their_teams_others_all(shop):
    crm, orders = shop
    assert names(crm.as_user("alice")("partner", "list", "--json").json) == ["Alpha", "Gamma"]
    assert names(crm.as_user("bob")("partner", "list", "--json").json) == ["Beta", "Gamma"]
    assert names(crm.as_user("mia")("partner", "list", "--json").json) == ["Alpha", "Gamma"]
    for everyone in (crm, crm.as_user("claire")):
        assert names(everyone("partner", "list", "--json").json) == ["Alpha", "Beta", "Gamma"]
    # another salesperson's customer does not exist for them, by name or by id: no leak
    beta = crm("partner", "show", "Beta", "--json").json["id"]
    assert crm.as_user("alice")("partner", "show", "Beta", expect=1).stderr.strip() == \
        "error: partner 'Beta': no such partner"
    assert "no such partner" in crm.as_user("alice")("partner", "show", str(beta), expect=1).stderr
    assert "no such partner" in crm.as_user("alice")("partner", "account", "Beta", expect=1).stderr


def test_orders_and_their_invoices_follow_the_salesperson(shop):
    crm, orders = shop
    mine = crm.as_user("alice")("order", "list", "--json").json
    assert sorted(o["number"] for o in mine) == sorted([orders[("alice", "Alpha")], orders[("alice", "Gamma")]])
    # an order for a customer nobody owns is the salesperson's who took it
    assert {o["customer"]["name"]: o["salesperson"] for o in mine} == {"Alpha": "alice", "Gamma": "alice"}
    bobs = orders[("bob", "Beta")]
    assert crm.as_user("alice")("order", "show", bobs, expect=1).stderr.strip() == f"error: order {bobs}: no such order"
    assert crm.as_user("mia")("order", "show", orders[("alice", "Alpha")], "--json").json["salesperson"] == "alice"
    assert len(crm("order", "list", "--json").json) == 3
    invoices = {i["number"]: i for i in crm("invoice", "list", "--json").json}
    assert len(invoices) == 3
    alices = crm.as_user("alice")("invoice", "list", "--json").json
    assert len(alices) == 2
    bob_invoice = next(n for n in invoices if n not in {i["number"] for i in alices})
    assert "no such invoice" in crm.as_user("alice")("invoice", "show", bob_invoice, expect=1).stderr
    assert len(crm.as_user("claire")("invoice", "list", "--json").json) == 3


def test_payments_follow_their_customer(shop):
    crm, _ = shop
    for customer in ("Alpha", "Beta"):
        crm("payment", "add", "--customer", customer, "--amount", "120.00")
    assert [p["customer"]["name"] for p in crm.as_user("alice")("payment", "list", "--json").json] == ["Alpha"]
    assert len(crm.as_user("claire")("payment", "list", "--json").json) == 2


def test_reports_and_exports_count_only_what_the_user_sees(shop):
    crm, _ = shop
    period = ("report", "period", "--from", "2026-01-01", "--to", "2026-12-31", "--json")
    invoiced = crm(*period).json["sections"]["billing"]["invoiced"]
    assert (invoiced["invoices"], invoiced["untaxed"]) == (3, "300.00")
    mine = crm.as_user("alice")(*period).json["sections"]["billing"]["invoiced"]
    assert (mine["invoices"], mine["untaxed"]) == (2, "200.00")
    exported = crm.as_user("bob")("export", "partners").stdout
    assert sorted(row["name"] for row in csv.DictReader(io.StringIO(exported))) == ["Beta", "Gamma"]
    assert len(list(csv.DictReader(io.StringIO(crm("export", "partners").stdout)))) == 3


def test_a_salesperson_works_only_for_customers_they_see_and_gives_nothing_away(shop):
    crm, _ = shop
    alice = crm.as_user("alice")
    before = len(crm("audit", "--json").json)
    refused = alice("order", "create", "--customer", "Beta", "--line", "P1:1", expect=1)
    assert refused.stderr.strip() == "error: partner 'Beta': no such partner"
    given = alice("partner", "edit", "Alpha", "--salesperson", "bob", expect=4)
    assert given.stderr.strip().endswith(
        "as alice sees only their own records (record rule core.partner), so may not make core.partner Alpha "
        "belong to bob")
    pushed = alice("order", "create", "--customer", "Alpha", "--line", "P1:1", "--salesperson", "bob", expect=4)
    assert "may not make core.order" in pushed.stderr and "belong to bob" in pushed.stderr
    assert len(crm("audit", "--json").json) == before  # nothing written, not even the command
    assert crm("partner", "show", "Alpha", "--json").json["salesperson"] == "alice"
    # the manager may hand a team member's customer to another member, and an admin anything
    crm.as_user("mia")("partner", "edit", "Alpha", "--salesperson", "mia")
    crm("partner", "edit", "Alpha", "--salesperson", "bob")
    assert names(alice("partner", "list", "--json").json) == ["Gamma"]


def test_the_aging_of_a_salesperson_has_their_customers_only(shop):
    crm, _ = shop
    everyone = crm("aging", "--json").json
    mine = crm.as_user("bob")("aging", "--json").json
    assert sorted(c["customer"] for c in everyone["customers"]) == ["Alpha", "Beta", "Gamma"]
    # the aging is per customer: bob's own and the one nobody owns (whose invoice alice made)
    assert [c["customer"] for c in mine["customers"]] == ["Beta", "Gamma"]
    assert mine["totals"]["total"] == "240.00" and everyone["totals"]["total"] == "360.00"


@pytest.mark.modules("funnel", "billing")
def test_a_lead_for_a_colleagues_customer_is_flagged_and_not_made_a_second_customer(shop):
    crm, _ = shop
    alice = crm.as_user("alice")
    lead = alice("lead", "add", "Léa Martin", "--company", "Beta", "--siren", "552100554", "--email",
                 "lea@beta.example", "--owner", "alice", "--json").json
    beta = crm("partner", "show", "Beta", "--json").json["id"]
    assert lead["duplicate_partner"] == beta  # the duplicate check sees every customer
    refused = alice("lead", "convert", str(lead["id"]), expect=4)
    assert refused.stderr.strip() == (
        f"error: lead {lead['id']}: its company is already partner {beta}, a customer of another salesperson: "
        f"their manager converts the lead or hands you the customer (crm partner edit {beta} --salesperson LOGIN)")
    assert names(crm("partner", "list", "--json").json) == ["Alpha", "Beta", "Gamma"]
    crm("lead", "edit", str(lead["id"]), "--owner", "bob")  # an admin hands the lead to Beta's salesperson
    deal = crm.as_user("bob")("lead", "convert", str(lead["id"]), "--json").json
    assert deal["customer"]["name"] == "Beta" and deal["owner"] == "bob"
