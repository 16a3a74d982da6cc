"""Purchase orders and supplier prices through the CLI; the module's tables match its migration."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.modules("procurement")


def test_cancelling_an_order_frees_the_need_for_the_next_run(crm, shop):
    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.sell(("A", 25))
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001", "--line", "A:4")
    crm("po", "cancel", "PO2026-000001", "--reason", "supplier out of stock")
    assert crm("po", "show", "PO2026-000001", "--json").json["state"] == "cancelled"
    assert crm("stock", "check", "--json").json["ok"] is True
    cancelled = [n for n in crm("notifications", "list", "--json").json if n["subject"].startswith("Annulation : bon de commande")]
    assert [n["recipients"] for n in cancelled] == [["orders@grossiste.fr"]]
    assert crm("reorder", "run", "--json").json["lines"] == 1  # forecast 34 − 25 = 9 < 10 once the rest is cancelled
    assert crm("reorder", "run").stdout.strip() == ("0 line(s) ordered (0 joining a line already on a draft), "
                                                    "0 new draft(s), 0 order(s) confirmed")
    orders = crm("po", "list", "--json").json
    assert [(o["number"], o["state"]) for o in orders] == [("PO2026-000002", "draft"), ("PO2026-000001", "cancelled")]
    refused = crm("po", "receive", "PO2026-000001", expect=1)
    assert refused.stderr.strip() == ("error: purchase order PO2026-000001: cannot receive an order that is "
                                      "cancelled (only from confirmed or partial)")


def test_confirming_needs_a_supplier_address_and_a_draft(crm, shop, factory):
    silent = factory.partner(name="Muet SA", is_customer=False, is_supplier=True, email=None)
    shop.product("A", stock="30", rule=("10", "50", "1"), supplier=silent)
    shop.sell(("A", 25))
    refused = crm("po", "confirm", "PO2026-000001", expect=1)
    assert refused.stderr.startswith("error: purchase order PO2026-000001: supplier: supplier Muet SA has no e-mail")
    assert crm("po", "show", "PO2026-000001", "--json").json["state"] == "draft"
    assert crm("po", "show", "PO9999", expect=1).stderr.startswith("error: purchase order PO9999: no such")
    assert "expected SKU:QUANTITY" in crm("po", "receive", "1", "--line", "A", expect=2).stderr


def test_supplier_prices_through_the_cli_and_csv(crm, shop, tmp_path):
    shop.product("A", supplier=False)
    crm("supplier", "price", "add", "--supplier", "Grossiste SA", "--sku", "A", "--price", "1.5", "--minimum", "10")
    again = crm("supplier", "price", "add", "--supplier", "Grossiste SA", "--sku", "A", "--price", "2",
                "--minimum", "10", expect=1)
    assert "has a price for A from 10.000 already" in again.stderr
    bad = crm("supplier", "price", "add", "--supplier", "Grossiste SA", "--sku", "A", "--price", "1.23456",
              expect=1)
    assert bad.stderr.strip() == "error: supplier price 'A': price: at most 4 decimals"
    assert crm("supplier", "price", "list", "--json").json == [
        {"sku": "A", "supplier": "Grossiste SA", "supplier_id": shop.supplier.id, "price": "1.5000",
         "minimum_quantity": "10.000", "lead_time_days": 0, "preferred": False}]
    # a second tier from 100 is a price break; they are listed from the smallest quantity
    crm("supplier", "price", "add", "--supplier", "Grossiste SA", "--sku", "A", "--price", "1.2", "--minimum", "100")
    crm("supplier", "price", "add", "--supplier", "Grossiste SA", "--sku", "A", "--price", "1.4", "--minimum", "10",
        "--update")
    assert [(p["minimum_quantity"], p["price"]) for p in crm("supplier", "price", "list", "--json").json] == [
        ("10.000", "1.4000"), ("100.000", "1.2000")]
    table = crm("supplier", "price", "list", "--sku", "A").stdout
    assert "From qty" in table
    assert [line for line in table.splitlines() if "100.000" in line and "1.2000" in line]
    assert crm("supplier", "price", "remove", "--supplier", "Grossiste SA", "--sku", "A", "--minimum", "100"
               ).stdout.strip() == "1 price of A removed"
    assert "no price for A from 5.000" in crm("supplier", "price", "remove", "--supplier", "Grossiste SA", "--sku",
                                              "A", "--minimum", "5", expect=1).stderr
    shop.factory.product(sku="B")
    rules = tmp_path / "rules.csv"
    rules.write_text("sku;minimum;maximum;multiple\nB;5;20;4\nA;1;0;1\n", encoding="utf-8")
    refused = crm("import", "reorder_rules", str(rules), expect=1)
    assert "line 3" in refused.stderr and "maximum" in refused.stderr
    rules.write_text("sku;minimum;maximum;multiple\nB;5;20;4\n", encoding="utf-8")
    crm("import", "reorder_rules", str(rules))
    assert [r["sku"] for r in crm("reorder", "rule", "list", "--json").json] == ["B"]
    prices = tmp_path / "prices.csv"
    prices.write_text(f"sku,supplier,price,preferred\nB,{shop.supplier.id},3.10,oui\n", encoding="utf-8")
    crm("import", "supplier_prices", str(prices))
    assert "B,{},3.1000".format(shop.supplier.id) in crm("export", "supplier_prices").stdout


def test_procurement_tables_match_their_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from core.db import Base
    from plugins.procurement import register_models

    register_models()
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "procurement_" in repr(d)]
    assert diffs == []


def test_every_list_command_has_json_with_stable_keys(crm, shop):
    """Scripts read these: the keys (and their order) change only by adding."""
    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.sell(("A", 25))
    keys = {
        ("stock", "list"): ["sku", "name", "on_hand", "reserved", "available", "incoming", "forecast", "minimum",
                            "maximum", "below_minimum"],
        ("stock", "list", "--below-min"): None,  # nothing below: an empty list, still JSON
        ("po", "list"): ["id", "number", "state", "supplier", "order_date", "confirmed_at", "received_at",
                         "cancelled_at", "cancel_reason", "line_count", "total_untaxed"],
        ("supplier", "price", "list"): ["sku", "supplier", "supplier_id", "price", "minimum_quantity",
                                        "lead_time_days", "preferred"],
        ("reorder", "rule", "list"): ["sku", "minimum", "maximum", "multiple", "supplier", "lead_time_days"],
    }
    for command, expected in keys.items():
        rows = crm(*command, "--json").json
        assert isinstance(rows, list), command
        if expected is None:
            assert rows == [], command
        else:
            assert [list(row) for row in rows] == [expected], command
    (order,) = crm("po", "list", "--json").json
    assert list(order["supplier"]) == ["id", "name", "email"]
    assert (order["state"], order["line_count"], order["total_untaxed"]) == ("draft", 1, "90.00")
