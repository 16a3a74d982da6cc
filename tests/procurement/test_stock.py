"""The stock ledger: reservations, deliveries, cancellations, overselling, the check and the config."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

pytestmark = pytest.mark.modules("procurement")


def _set(app, **values):
    app.config.sections["procurement"] = values


def test_confirm_reserves_deliver_moves_out_cancel_releases(shop, app):
    from core.services.orders import cancel_order, deliver_order, get_order

    shop.product("A", stock="10")
    first = shop.sell(("A", 3), ("A", 1))
    second = shop.sell(("A", 2))
    assert shop.level("A") == (D(10), D(6), D(0), D(4))
    with app.transaction() as session:
        deliver_order(app, session, get_order(session, first.id))
    assert shop.level("A") == (D(6), D(2), D(0), D(4))
    with app.transaction() as session:
        cancel_order(app, session, get_order(session, second.id), "customer changed their mind")
    assert shop.level("A") == (D(6), D(0), D(0), D(6))
    draft = shop.sell(("A", 2), confirm=False)
    with app.transaction() as session:
        cancel_order(app, session, get_order(session, draft.id))
    assert shop.level("A") == (D(6), D(0), D(0), D(6))
    assert shop.check() == []


def test_services_are_not_stocked(shop, factory):
    service = factory.product(sku="SETUP", stockable=False)
    shop.sell(("SETUP", 5))
    from plugins.procurement.services_stock import stock_rows

    with shop.app.transaction() as session:
        assert [r["sku"] for r in stock_rows(session)] == []
    assert service.stockable is False and shop.check() == []


def test_overselling_is_refused_by_default_and_rolls_the_confirmation_back(shop, app):
    from core.errors import HookError
    from core.models import SalesOrder

    shop.product("A", stock="5")
    with pytest.raises(HookError, match=r"product A: 6.000 ordered, 5.000 available"):
        shop.sell(("A", 6))
    with app.transaction() as session:
        assert session.query(SalesOrder).count() == 0
    assert shop.level("A") == (D(5), D(0), D(0), D(5))


def test_overselling_when_allowed_is_reported_to_purchasing(shop, app):
    from core.outbox import list_notifications

    _set(app, allow_negative=True)
    shop.product("A", stock="5")
    shop.sell(("A", 6))
    assert shop.level("A") == (D(5), D(6), D(0), D(-1))
    with app.transaction() as session:
        (alert,) = list_notifications(session)
    assert alert.subject == "Oversold: A (-1.000 available)"
    assert alert.recipients == '["buyer@shop.fr"]'


def test_ship_on_confirm_moves_stock_out_at_once_and_delivery_does_not_repeat_it(shop, app):
    from core.services.orders import cancel_order, deliver_order, get_order

    _set(app, ship_on_confirm=True)
    shop.product("A", stock="10", rule=("5", "20", "1"))
    order = shop.sell(("A", 7))  # forecast 3 < 5: ordered at once
    assert shop.level("A") == (D(3), D(0), D(17), D(20))
    with app.transaction() as session:
        deliver_order(app, session, get_order(session, order.id))
    assert shop.level("A") == (D(3), D(0), D(17), D(20))
    other = shop.sell(("A", 2))
    with app.transaction() as session:
        cancel_order(app, session, get_order(session, other.id))  # the goods come back
    assert shop.level("A") == (D(3), D(0), D(17), D(20))
    from plugins.procurement.services_stock import product_moves

    with app.transaction() as session:
        assert [(m["kind"], m["quantity"]) for m in product_moves(session, "A")] == [
            ("adjustment", "10.000"), ("delivery", "-7.000"), ("delivery", "-2.000"), ("receipt", "2.000")]
    assert shop.check() == []


def test_delivering_more_than_on_hand_is_refused(shop, app):
    from core.errors import HookError
    from core.services.orders import deliver_order, get_order
    from plugins.procurement.services_stock import adjust_stock

    shop.product("A", stock="5")
    order = shop.sell(("A", 4))
    _set(app, allow_negative=True)
    with app.transaction() as session:
        adjust_stock(app, session, {"sku": "A", "quantity": "-3", "reason": "broken"})
    _set(app)
    with pytest.raises(HookError, match="4.000 to deliver but only 2.000 on hand"):
        with app.transaction() as session:
            deliver_order(app, session, get_order(session, order.id))


def test_adjustments_need_a_reason_and_cannot_go_below_zero(crm, shop):
    shop.product("A", stock="2")
    assert "reason" in crm("stock", "adjust", "A", "5", "--reason", " ", expect=1).stderr
    assert crm("stock", "adjust", "A", "0", "--reason", "x", expect=1).stderr.strip() == \
        "error: product 'A': quantity: must not be zero"
    assert crm("stock", "adjust", "A", "-3", "--reason", "lost", expect=1).stderr.strip() == \
        "error: product A: quantity: the adjustment would leave -1.000 on hand ([procurement] allow_negative is false)"
    crm("stock", "adjust", "A", "-2", "--reason", "lost")
    assert [m["reason"] for m in crm("stock", "moves", "A", "--json").json] == ["initial count", "lost"]


def test_check_finds_a_summary_that_disagrees_with_the_ledger(crm, shop, app):
    from sqlalchemy import text

    shop.product("A", stock="10")
    shop.sell(("A", 3))
    assert crm("stock", "check").stdout.strip() == "stock levels agree with the ledger"
    with app.transaction() as session:
        session.execute(text("UPDATE procurement_stock_level SET on_hand = on_hand + 1000, reserved = 0"))
    result = crm("stock", "check", "--json", expect=1).json
    assert result["differences"] == [{"sku": "A", "on_hand_ledger": "10.000", "on_hand_summary": "11.000",
                                      "reserved_ledger": "3.000", "reserved_summary": "0.000",
                                      "incoming_ledger": "0.000", "incoming_summary": "0.000"}]
    from plugins.procurement.services_stock import rebuild_levels

    with app.transaction() as session:
        assert rebuild_levels(session) == 1
    assert crm("stock", "check", "--json").json["ok"] is True


def test_orders_confirmed_while_the_module_was_off_are_reserved_when_it_comes_back(crm, shop, app, workspace):
    from core.lifecycle import disable_module, enable_module
    from core.testing import Factory

    shop.product("A", stock="10")
    off = disable_module(app, "procurement")  # rewrites crm.toml, as `crm modules disable` does
    try:
        assert "procurement" not in workspace.app().config.enabled
        Factory(off).order(shop.customer, [{"sku": "A", "quantity": "4"}], confirm=True)  # no hook: nothing reserved
        assert "No such command 'stock'" in crm("stock", "list", expect=2).stderr
        back = enable_module(off, "procurement")  # the module's install rebuilds the levels
        back.close()
    finally:
        off.close()
    assert crm("stock", "check", "--json").json["ok"] is True
    assert [(r["reserved"], r["forecast"]) for r in crm("stock", "list", "--json").json] == [("4.000", "6.000")]


@pytest.mark.parametrize("key", ["allow_negative", "ship_on_confirm", "confirm_generated"])
def test_a_bad_config_value_is_named(shop, app, key):
    from core.errors import ConfigError, HookError

    shop.product("A", stock="10", rule=("5", "20", "1"))
    _set(app, **{key: "yes"})
    with pytest.raises(HookError, match=rf"crm.toml: procurement.{key}: must be true or false"):
        shop.sell(("A", 6))
    _set(app, allow_negatif=True)
    from plugins.procurement.services_stock import settings

    with pytest.raises(ConfigError, match="procurement.allow_negatif: unknown key"):
        settings(app)


def test_confirming_an_order_costs_the_same_with_one_rule_or_a_thousand(shop, app):
    """Peers' bug: forecasts recomputed over everything on every move, making everything slow.
    Confirming an order touches its own products only: the statements do not grow with the rules."""
    from sqlalchemy import event, text

    shop.product("A", stock="1000", rule=("10", "50", "1"))

    def statements_for_one_confirmation() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(app.engine, "before_cursor_execute", listener)
        try:
            shop.sell(("A", 1))
        finally:
            event.remove(app.engine, "before_cursor_execute", listener)
        return len(seen)

    baseline = statements_for_one_confirmation()
    with app.transaction() as session:
        session.execute(text("INSERT INTO core_product (sku, name, unit, list_price, vat_rate, stockable, active, "
                             "created_at) SELECT 'P' || id, 'p', 'unit', 0, 2000, :yes, :yes, created_at "
                             "FROM core_product WHERE id = 1"), {"yes": True})
        for n in range(2, 1001):
            session.execute(text("INSERT INTO core_product (sku, name, unit, list_price, vat_rate, stockable, active, "
                                 "created_at) SELECT :sku, 'p', 'unit', 0, 2000, :yes, :yes, created_at "
                                 "FROM core_product WHERE id = 1"), {"sku": f"R{n}", "yes": True})
        session.execute(text("INSERT INTO procurement_stock_level (product_id, on_hand, reserved, incoming) "
                             "SELECT id, 0, 0, 0 FROM core_product WHERE sku LIKE 'R%'"))
        session.execute(text("INSERT INTO procurement_reorder_rule (product_id, minimum, maximum, multiple, active, "
                             "created_at) SELECT id, 10000, 50000, 1000, :yes, created_at FROM core_product "
                             "WHERE sku LIKE 'R%'"), {"yes": True})
    assert statements_for_one_confirmation() == baseline
