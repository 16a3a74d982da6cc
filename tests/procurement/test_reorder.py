"""Reorder rules: the quantity, the supplier, and each bug the peers' users report (PEERS.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

pytestmark = pytest.mark.modules("procurement")


def test_quantity_is_max_minus_forecast_not_the_level(shop):
    """Peers' bug: the first order sized by the reorder level instead of up to the maximum."""
    shop.product("A", stock="30", rule=("10", "100", "1"))
    shop.sell(("A", 25))  # forecast 5 < 10
    assert shop.lines() == [("PO2026-000001", "draft", "A", D("95.000"), D("5.000"))]
    assert shop.level("A") == (D(30), D(25), D(95), D(100))


@pytest.mark.parametrize("multiple, supplier_minimum, expected", [
    ("1", "0", "95"),     # plain max − forecast
    ("12", "0", "96"),    # rounded up to the pack
    ("12", "120", "120"), # the supplier's minimum wins, already a whole number of packs
    ("12", "100", "108"), # the supplier's minimum, rounded up to whole packs
    ("0.5", "0", "95"),
])
def test_rounding_to_the_multiple_and_the_supplier_minimum(shop, multiple, supplier_minimum, expected):
    shop.product("A", stock="30", rule=("10", "100", multiple), minimum=supplier_minimum)
    shop.sell(("A", 25))
    assert [line[3] for line in shop.lines()] == [D(expected)]


def test_raised_to_the_supplier_minimum_the_line_is_priced_at_the_break_it_reaches(shop):
    """The need alone (45: 4 packs of 12, 48) is under the only supplier's minimum order (100, not
    preferred): raised to it in whole packs (108), the line reaches the break from 108 and is priced there."""
    from plugins.procurement.services_suppliers import set_price

    shop.product("A", stock="30", rule=("10", "50", "12"), minimum="100", price="2.00", preferred=False)
    with shop.app.transaction() as session:
        set_price(shop.app, session, {"sku": "A", "supplier": "Grossiste SA", "price": "1.50",
                                      "minimum_quantity": "108"})
    shop.sell(("A", 25))  # forecast 5
    assert [line[3] for line in shop.lines()] == [D("108.000")]
    with shop.app.transaction() as session:
        from plugins.procurement.services_purchase import get_purchase_order

        (line,) = get_purchase_order(session, "PO2026-000001").lines
        assert str(line.unit_price) == "1.5000"


def test_drafts_are_numbered_past_six_digits(shop):
    """Drafts are numbered in SQL; the number is purchase_number's: PO, the year, the id on six digits or more."""
    from sqlalchemy import text

    from plugins.procurement.services_reorder import purchase_number

    shop.product("A", stock="30", rule=("10", "50", "1"))
    with shop.app.transaction() as session:  # an order with a seven-digit id, not numbered yet
        session.execute(text("INSERT INTO procurement_purchase_order (id, supplier_id, state, order_date, created_at) "
                             "VALUES (1234567, :supplier, 'cancelled', :day, :day)"),
                        {"supplier": shop.supplier.id, "day": dt.date(2026, 11, 28)})
    shop.sell(("A", 25))
    with shop.app.transaction() as session:
        rows = session.execute(text("SELECT id, number, order_date FROM procurement_purchase_order")).all()
    assert len(rows) == 2 and "PO2026-1234567" in [number for _, number, _ in rows]
    assert all(number == purchase_number(po_id, dt.date.fromisoformat(str(day)[:10])) for po_id, number, day in rows)


def test_exact_fractional_quantities(shop):
    shop.product("KG", stock="10.5", rule=("2.25", "12.75", "0.250"))
    shop.sell(("KG", "8.625"))  # forecast 1.875: 12.75 − 1.875 = 10.875 -> 11.000
    assert [line[3] for line in shop.lines()] == [D("11.000")]
    assert shop.level("KG") == (D("10.5"), D("8.625"), D("11"), D("12.875"))


def test_open_orders_count_so_a_need_is_never_ordered_twice(shop):
    """Peers' bug: a new request every day for the same need (open orders not counted)."""
    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.sell(("A", 25))
    for day in range(1, 4):
        shop.app._today = dt.date(2026, 11, 28) + dt.timedelta(days=day)
        assert shop.run()["lines"] == 0
    assert len(shop.lines()) == 1


def test_a_receipt_date_pushed_back_does_not_raise_a_second_order(shop):
    """Peers' bug: a second purchase order when the expected date moved past the lead-time window."""
    from sqlalchemy import update

    from plugins.procurement.models import PurchaseOrderLine
    from plugins.procurement.services_purchase import confirm_purchase_order

    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.sell(("A", 25))
    with shop.app.transaction() as session:
        confirm_purchase_order(shop.app, session, "PO2026-000001")
        session.execute(update(PurchaseOrderLine).values(expected_date=dt.date(2027, 6, 30)))
    assert shop.run()["lines"] == 0
    assert [(n, s) for n, s, *_ in shop.lines()] == [("PO2026-000001", "confirmed")]


def test_generated_orders_wait_for_a_person_before_anything_is_sent(shop):
    """Peers' bug: generated orders bypassing approval."""
    from core.outbox import list_notifications
    from plugins.procurement.services_purchase import confirm_purchase_order

    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.sell(("A", 25))
    shop.run()
    with shop.app.transaction() as session:
        recipients = [n.recipients for n in list_notifications(session)]
    assert recipients == ['["buyer@shop.fr"]']  # the summary to purchasing, nothing to the supplier
    assert [s for _, s, *_ in shop.lines()] == ["draft"]
    with shop.app.transaction() as session:
        confirm_purchase_order(shop.app, session, "PO2026-000001")
        assert sorted(n.recipients for n in list_notifications(session)) == [
            '["buyer@shop.fr"]', '["orders@grossiste.fr"]']


def test_lines_of_one_supplier_join_its_draft_and_suppliers_get_their_own(shop, factory):
    other = factory.partner(name="Autre SA", is_customer=False, is_supplier=True, email="o@autre.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.product("B", stock="30", rule=("10", "50", "1"))
    shop.product("C", stock="30", rule=("10", "50", "1"), supplier=other)
    shop.sell(("C", 25), ("B", 25), ("A", 25))
    assert [(n, sku) for n, _, sku, *_ in shop.lines()] == [
        ("PO2026-000001", "A"), ("PO2026-000001", "B"), ("PO2026-000002", "C")]


def test_the_rule_supplier_then_the_preferred_then_the_cheapest(shop, factory):
    from plugins.procurement.services_rules import set_rule
    from plugins.procurement.services_suppliers import set_price

    cheap = factory.partner(name="Cheap SA", is_customer=False, is_supplier=True, email="c@cheap.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"), preferred=False, price="5.00")
    with shop.app.transaction() as session:
        set_price(shop.app, session, {"sku": "A", "supplier": "Cheap SA", "price": "4.00"})
    shop.sell(("A", 25))
    assert shop.lines()[0][0] == "PO2026-000001"
    with shop.app.transaction() as session:
        from plugins.procurement.services_purchase import get_purchase_order

        assert get_purchase_order(session, "PO2026-000001").supplier.name == "Cheap SA"
        set_price(shop.app, session, {"sku": "A", "supplier": "Grossiste SA", "price": "5.00", "preferred": "yes"},
                  update_existing=True)
        set_rule(shop.app, session, {"sku": "A", "minimum": "60", "maximum": "100"}, update=True)
    shop.run()  # forecast 50 < 60: the preferred supplier now
    with shop.app.transaction() as session:
        assert get_purchase_order(session, "PO2026-000002").supplier.name == "Grossiste SA"
        set_rule(shop.app, session, {"sku": "A", "minimum": "200", "maximum": "300", "supplier": str(cheap.id)},
                 update=True)
    shop.run()  # the rule's own supplier wins: the need joins A's line on its draft (forecast 100: +200)
    assert [(n, quantity) for n, _, _, quantity, _ in shop.lines()] == [
        ("PO2026-000001", D("245.000")), ("PO2026-000002", D("50.000"))]


def test_a_rule_without_supplier_alerts_purchasing_at_the_sale_once_a_day(shop, outbox):
    shop.product("ORPHAN", stock="30", rule=("10", "50", "1"), supplier=False)
    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.sell(("ORPHAN", 25), ("A", 25))  # the hook orders A and tells purchasing about ORPHAN at once
    assert [sku for _, _, sku, *_ in shop.lines()] == ["A"]
    (alert,) = outbox.messages()
    assert (alert["recipients"], alert["subject"]) == (
        ["buyer@shop.fr"], "No supplier for ORPHAN: forecast 5.000 below its minimum")
    assert "order SO2026-000001 confirmed" in alert["text"] and "minimum 10.000" in alert["text"]
    shop.sell(("ORPHAN", 2))  # lower still, the same day: purchasing knows already
    assert len(outbox.messages(subject=alert["subject"])) == 1
    assert len([m for m in outbox.messages() if m["subject"].startswith("No supplier for ORPHAN")]) == 1

    result = shop.run()  # the day's summary lists it too
    assert result["products_without_supplier"] == ["ORPHAN"]
    summary = outbox.messages()[-1]
    assert "without supplier" in summary["subject"]
    assert "- ORPHAN" in summary["text"] and "A: 45.000" in summary["text"]
    assert shop.run()["summary_sent"] == 0  # the same alert is not sent twice a day

    shop.app._today = shop.app.today + dt.timedelta(days=1)
    shop.sell(("ORPHAN", 1))  # still no supplier the next day: told again, once
    shop.sell(("ORPHAN", 1))
    assert [m["subject"] for m in outbox.messages() if m["subject"].startswith("No supplier")] == [
        "No supplier for ORPHAN: forecast 5.000 below its minimum",
        "No supplier for ORPHAN: forecast 2.000 below its minimum"]


def test_a_bad_rule_fails_alone_named_and_the_others_are_ordered(shop, monkeypatch, app):
    """Each rule gets its own savepoint when the set-based pass fails: the job is partial, not aborted."""
    from core.jobs import collect_jobs
    from core.scheduler import run_job
    from plugins.procurement import services_reorder

    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.product("BAD", stock="30", rule=("10", "50", "1"))
    shop.product("C", stock="30", rule=("10", "50", "1"))
    from plugins.procurement.services_stock import adjust_stock

    with app.transaction() as session:  # stock lost without a sale: only the run can see it
        for sku in ("A", "BAD", "C"):
            adjust_stock(app, session, {"sku": sku, "quantity": "-25", "reason": "breakage"})
    with app.transaction() as session:
        from sqlalchemy import text

        session.execute(text("DELETE FROM procurement_purchase_order_line"))
        session.execute(text("DELETE FROM procurement_purchase_order"))
        session.execute(text("UPDATE procurement_stock_level SET incoming = 0"))
    original = services_reorder.raise_needs

    def flaky(app_, session, *, product_ids=None, **kwargs):
        if product_ids is None or 2 in [p for p in product_ids]:
            raise RuntimeError("corrupt rule")
        return original(app_, session, product_ids=product_ids, **kwargs)

    monkeypatch.setattr(services_reorder, "raise_needs", flaky)
    result = run_job(app, collect_jobs(app)["procurement.reorder"], app.today)
    assert result.outcome == "partial"
    assert result.failures == ["reorder rule BAD: corrupt rule"]
    assert sorted(sku for _, _, sku, *_ in shop.lines()) == ["A", "C"]
    assert shop.check() == []


def test_dry_run_shows_the_plan_and_writes_nothing(shop, crm):
    from plugins.procurement.services_stock import adjust_stock

    shop.product("A", stock="30", rule=("10", "50", "6"))
    with shop.app.transaction() as session:
        adjust_stock(shop.app, session, {"sku": "A", "quantity": "-25", "reason": "breakage"})
    assert len(shop.lines()) == 1  # the adjustment evaluated the rule at once
    with shop.app.transaction() as session:
        from sqlalchemy import text

        session.execute(text("DELETE FROM procurement_purchase_order_line"))
        session.execute(text("UPDATE procurement_stock_level SET incoming = 0"))
    planned = crm("reorder", "run", "--dry-run", "--json").json["planned"]
    assert planned == [{"sku": "A", "supplier": "Grossiste SA", "forecast": "5.000", "quantity": "48.000",
                        "unit_price": "2.0000", "purchase_order": "PO2026-000001", "joins_line": False}]
    assert shop.lines() == []
    assert "A" in crm("reorder", "run", "--dry-run").stdout


def test_rules_validate_their_input(crm, shop):
    shop.product("A")
    bad = crm("reorder", "rule", "add", "A", "--min", "10", "--max", "5", expect=1)
    assert bad.stderr.strip() == "error: reorder rule 'A': maximum: must be at least the minimum (10.000)"
    bad = crm("reorder", "rule", "add", "A", "--min", "1", "--max", "5", "--multiple", "0", expect=1)
    assert bad.stderr.strip() == "error: reorder rule 'A': multiple: must be positive"
    bad = crm("reorder", "rule", "add", "A", "--min", "1", "--max", "5", "--supplier", "Client SARL", expect=1)
    assert "supplier: Client SARL is not a supplier" in bad.stderr
    crm("reorder", "rule", "add", "A", "--min", "1", "--max", "5")
    again = crm("reorder", "rule", "add", "A", "--min", "1", "--max", "5", expect=1)
    assert "has a rule already" in again.stderr
    crm("reorder", "rule", "update", "A", "--min", "2", "--max", "6", "--multiple", "2")
    assert crm("reorder", "rule", "list", "--json").json == [
        {"sku": "A", "minimum": "2.000", "maximum": "6.000", "multiple": "2.000", "supplier": None,
         "lead_time_days": None}]
    crm("reorder", "rule", "remove", "A")
    assert crm("reorder", "rule", "list", "--json").json == []
