"""Price breaks, and needs joining the product's line on the supplier's draft (PEERS.md: "lines join
the vendor's existing draft order, raising the quantity and re-pricing")."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

pytestmark = pytest.mark.modules("procurement")


def _tier(shop, minimum, price, *, supplier="Grossiste SA", **values):
    from plugins.procurement.services_suppliers import set_price

    with shop.app.transaction() as session:
        set_price(shop.app, session, {"sku": "A", "supplier": supplier, "price": price, "minimum_quantity": minimum,
                                      **values})


def _line(crm):
    (order,) = crm("po", "list", "--json").json
    return crm("po", "show", order["number"], "--json").json


def test_a_need_joins_the_line_on_the_draft_and_a_larger_quantity_reaches_a_price_break(shop, crm):
    # tiers from 30 (the supplier's minimum order) at 2.00 and from 60 at 1.80
    shop.product("A", stock="100", rule=("90", "100", "1"), minimum="30", price="2.00")
    _tier(shop, "60", "1.80")
    shop.sell(("A", 15))  # forecast 85: need 15, raised to the supplier's minimum 30
    assert shop.lines() == [("PO2026-000001", "draft", "A", D(30), D(85))]
    shop.sell(("A", 30))  # forecast 85 again: +15 only, the line holds the minimum already
    assert shop.lines() == [("PO2026-000001", "draft", "A", D(45), D(85))]
    assert _line(crm)["lines"][0]["unit_price"] == "2.0000"
    shop.sell(("A", 20))  # forecast 80: +20 = 65, past the break at 60: the whole line is re-priced
    order = _line(crm)
    (line,) = order["lines"]
    assert (line["quantity"], line["unit_price"], line["subtotal"]) == ("65.000", "1.8000", "117.00")
    assert order["total_untaxed"] == "117.00"
    # the line records its latest raise
    assert (line["why"]["forecast"], line["why"]["trigger"]) == ("80.000", "order SO2026-000003 confirmed")
    assert shop.level("A") == (D(100), D(65), D(65), D(100))
    assert shop.check() == []


def test_the_sweep_joins_lines_too_and_the_summary_tells_the_new_quantity(shop, outbox):
    from plugins.procurement.services_rules import set_rule
    from plugins.procurement.services_stock import adjust_stock

    shop.product("A", stock="50", rule=("20", "50", "1"), price="2.00")
    _tier(shop, "100", "1.50")
    with shop.app.transaction() as session:  # stock lost: the adjustment orders 45 at once
        adjust_stock(shop.app, session, {"sku": "A", "quantity": "-45", "reason": "flood"})
    assert shop.run()["summary_sent"] == 1
    with shop.app.transaction() as session:  # a higher rule: only the sweep sees the need (forecast 50 < 80)
        set_rule(shop.app, session, {"sku": "A", "minimum": "80", "maximum": "150"}, update=True)
    result = shop.run()
    assert (result["lines"], result["lines_raised"], result["drafts_created"], result["summary_sent"]) == (1, 1, 0, 1)
    assert shop.lines() == [("PO2026-000001", "draft", "A", D(145), D(50))]
    from plugins.procurement.services_purchase import get_purchase_order

    with shop.app.transaction() as session:
        assert str(get_purchase_order(session, "PO2026-000001").lines[0].unit_price) == "1.5000"
    summary = outbox.messages()[-1]
    assert "A: 145.000 (forecast was 50.000; reorder run)" in summary["text"]
    assert shop.run()["summary_sent"] == 0  # told once
    assert shop.level("A") == (D(5), D(0), D(145), D(150)) and shop.check() == []


def test_the_cheapest_supplier_is_compared_at_its_first_tier(shop, factory):
    """A supplier's big-quantity break does not make it the cheapest for an ordinary order."""
    factory.partner(name="Autre SA", is_customer=False, is_supplier=True, email="o@autre.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"), preferred=False, price="5.00")
    _tier(shop, "1000", "1.00")  # Grossiste: 5.00, or 1.00 from 1,000
    _tier(shop, "0", "4.00", supplier="Autre SA")
    shop.sell(("A", 25))
    from plugins.procurement.services_purchase import get_purchase_order

    with shop.app.transaction() as session:
        order = get_purchase_order(session, "PO2026-000001")
        assert (order.supplier.name, [str(line.unit_price) for line in order.lines]) == ("Autre SA", ["4.0000"])


def test_preference_is_the_suppliers_not_the_tiers(shop, factory, crm):
    factory.partner(name="Autre SA", is_customer=False, is_supplier=True, email="o@autre.fr")
    shop.product("A", preferred=True)  # Grossiste, from 0, preferred
    _tier(shop, "100", "1.50")  # a new break of the preferred supplier is preferred too
    _tier(shop, "0", "1.90", supplier="Autre SA", preferred="yes")  # Autre takes the preference: all its tiers
    _tier(shop, "50", "1.70", supplier="Autre SA")
    rows = crm("supplier", "price", "list", "--sku", "A", "--json").json
    assert [(r["supplier"], r["minimum_quantity"], r["preferred"]) for r in rows] == [
        ("Autre SA", "0.000", True), ("Autre SA", "50.000", True),
        ("Grossiste SA", "0.000", False), ("Grossiste SA", "100.000", False)]


def test_a_database_with_one_price_per_supplier_upgrades_to_price_breaks(app):
    """Migration procurement_0002 on a database that has prices already (SQLite copies the table)."""
    from alembic import command
    from sqlalchemy import text

    from core.migrate import alembic_config

    with app.engine.begin() as connection:
        command.downgrade(alembic_config(app, connection), "procurement_0001")
    with app.engine.begin() as connection:
        connection.execute(text("INSERT INTO core_partner (id, name, kind, is_customer, is_supplier, country, active, "
                                "created_at) VALUES (7, 'S', 'company', :no, :yes, 'FR', :yes, '2026-11-28')"),
                           {"yes": True, "no": False})
        connection.execute(text("INSERT INTO core_product (id, sku, name, unit, list_price, vat_rate, stockable, "
                                "active, created_at) VALUES (9, 'A', 'A', 'unit', 0, 2000, :yes, :yes, '2026-11-28')"),
                           {"yes": True})
        connection.execute(text("INSERT INTO procurement_supplier_price (product_id, supplier_id, price, "
                                "minimum_quantity, lead_time_days, preferred, created_at) VALUES "
                                "(9, 7, 20000, 10000, 3, :yes, '2026-11-28')"), {"yes": True})
    with app.engine.begin() as connection:
        command.upgrade(alembic_config(app, connection), "procurement@head")
    with app.engine.begin() as connection:
        connection.execute(text("INSERT INTO procurement_supplier_price (product_id, supplier_id, price, "
                                "minimum_quantity, lead_time_days, preferred, created_at) VALUES "
                                "(9, 7, 15000, 100000, 3, :yes, '2026-11-28')"), {"yes": True})
        rows = connection.execute(text("SELECT minimum_quantity, price FROM procurement_supplier_price "
                                       "ORDER BY minimum_quantity")).all()
    assert [tuple(map(int, r)) for r in rows] == [(10000, 20000), (100000, 15000)]
    with pytest.raises(Exception, match="(?i)unique"):  # one price per tier still
        with app.engine.begin() as connection:
            connection.execute(text("INSERT INTO procurement_supplier_price (product_id, supplier_id, price, "
                                    "minimum_quantity, lead_time_days, preferred, created_at) VALUES "
                                    "(9, 7, 1, 100000, 3, :yes, '2026-11-28')"), {"yes": True})


def test_a_draft_confirmed_before_its_lock_is_taken_is_not_written_into(shop, monkeypatch):
    """PostgreSQL race, replayed: the need read the draft's line, then someone confirmed (sent) that
    draft before the sweep locked it. The need must go to a new draft, not onto the sent order."""
    from sqlalchemy import text

    from plugins.procurement import services_reorder
    from plugins.procurement.services_rules import set_rule

    shop.product("A", stock="50", rule=("20", "50", "1"))
    shop.sell(("A", 45))  # PO2026-000001: 45 of A, draft
    with shop.app.transaction() as session:
        set_rule(shop.app, session, {"sku": "A", "minimum": "80", "maximum": "150"}, update=True)
    original = services_reorder._ensure_drafts

    def confirmed_meanwhile(app, session, today):
        session.execute(text("UPDATE procurement_purchase_order SET state = 'confirmed' WHERE state = 'draft'"))
        return original(app, session, today)

    monkeypatch.setattr(services_reorder, "_ensure_drafts", confirmed_meanwhile)
    result = shop.run()
    assert (result["lines"], result["lines_raised"], result["drafts_created"]) == (1, 0, 1)
    assert shop.lines() == [("PO2026-000001", "confirmed", "A", D(45), D(5)),
                            ("PO2026-000002", "draft", "A", D(100), D(50))]
    assert shop.check() == []


def test_the_summary_tells_the_sales_lines_with_the_sweeps_own_in_line_order_once(shop, factory, outbox):
    """The sweep writes its new lines summarised already (no second write of each): its summary still tells
    them beside the lines the sales raised since the last summary and the lines it joined, in line order."""
    from sqlalchemy import text

    from plugins.procurement.services_rules import set_rule

    other = factory.partner(name="Autre SA", is_customer=False, is_supplier=True, email="o@autre.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.product("B", stock="30", rule=("10", "50", "1"))
    shop.product("C", stock="30", rule=("10", "50", "1"), supplier=other)
    shop.sell(("A", 25))  # the sale raises A's line: unsummarised until the sweep tells it
    with shop.app.transaction() as session:  # higher rules: only the sweep sees these needs
        for sku in ("A", "B", "C"):
            set_rule(shop.app, session, {"sku": sku, "minimum": "60", "maximum": "100"}, update=True)
    result = shop.run()
    assert (result["lines"], result["lines_raised"], result["summary_sent"]) == (3, 1, 1)
    (first, a), (_, b), (second, c) = [(n, (sku, quantity)) for n, _, sku, quantity, _ in shop.lines()]
    assert (first, a, b, c) == ("PO2026-000001", ("A", D(95)), ("B", D(70)), ("C", D(70)))
    summary = outbox.messages()[-1]
    assert summary["subject"] == "Reorder 2026-11-28: 3 lines on 2 draft purchase orders"
    text_ = summary["text"]
    assert "PO2026-000001 (draft) to Grossiste SA: 2 new lines (2 in all)" in text_
    assert f"{second} (draft) to Autre SA: 1 new line (1 in all)" in text_
    assert text_.index("A: 95.000") < text_.index("B: 70.000") < text_.index("C: 70.000")
    with shop.app.transaction() as session:
        assert session.execute(text("SELECT COUNT(*) FROM procurement_purchase_order_line "
                                    "WHERE summarised = :no"), {"no": False}).scalar() == 0
    assert shop.run()["summary_sent"] == 0  # told once
    shop.product("D", stock="30", rule=("10", "50", "1"))
    shop.sell(("D", 25))  # the next sale's line, on the same draft: the next summary tells it alone
    assert shop.run()["summary_sent"] == 1
    summary = outbox.messages()[-1]
    assert summary["subject"] == "Reorder 2026-11-28: 1 line on 1 draft purchase order"
    assert "D: 45.000" in summary["text"] and "A: 95.000" not in summary["text"]
    assert "PO2026-000001 (draft) to Grossiste SA: 1 new line (3 in all)" in summary["text"]
