"""``[procurement] confirm_generated``: orders raised by the rules are drafts awaiting a person
(the default, see test_reorder), or confirmed and sent at once in the same transaction."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

pytestmark = pytest.mark.modules("procurement")


@pytest.fixture
def confirming(app):
    app.config.sections["procurement"] = {"confirm_generated": True}
    return app


def test_the_sale_that_raises_the_need_confirms_and_sends_the_order(shop, confirming, outbox):
    from plugins.procurement.services_stock import adjust_stock

    shop.product("A", stock="100", rule=("60", "100", "1"))
    shop.sell(("A", 50))  # forecast 50 < 60: 50 ordered, confirmed, sent
    assert shop.lines() == [("PO2026-000001", "confirmed", "A", D(50), D(50))]
    (sent,) = outbox.messages(recipient="orders@grossiste.fr")
    assert sent["subject"].startswith("Bon de commande PO2026-000001")  # in the supplier's language (the company's)
    assert sent["related"] == "procurement_purchase_order:1" and sent["attachments"] == ["procurement.purchase_order 1"]
    assert shop.level("A") == (D(100), D(50), D(50), D(100))  # a confirmed order is incoming as a draft was
    with shop.app.transaction() as session:  # the next crossing cannot join a sent order: a new one, sent too
        adjust_stock(shop.app, session, {"sku": "A", "quantity": "-45", "reason": "breakage"})
    assert [line[:4] for line in shop.lines()] == [("PO2026-000001", "confirmed", "A", D(50)),
                                                   ("PO2026-000002", "confirmed", "A", D(45))]
    assert len(outbox.messages(recipient="orders@grossiste.fr")) == 2
    assert shop.run()["summary_sent"] == 1
    (told,) = outbox.messages(recipient="buyer@shop.fr")
    assert told["subject"] == "Reorder 2026-11-28: 2 lines on 2 purchase orders"
    assert "wait for your confirmation" not in told["text"]
    assert shop.level("A") == (D(55), D(50), D(95), D(100)) and shop.check() == []


def test_the_confirmation_is_part_of_the_sales_transaction(shop, confirming, outbox):
    """A sale rolled back leaves neither the order nor a message to the supplier behind."""
    from core.services.orders import confirm_order, create_order
    from plugins.procurement.models import PurchaseOrder

    shop.product("A", stock="30", rule=("10", "50", "1"))
    with pytest.raises(RuntimeError, match="printer on fire"):
        with shop.app.transaction() as session:
            order = create_order(shop.app, session, {"customer": str(shop.customer.id),
                                                     "lines": [{"sku": "A", "quantity": "25"}]})
            confirm_order(shop.app, session, order)
            assert session.query(PurchaseOrder.state).all() == [("confirmed",)]
            raise RuntimeError("printer on fire")
    assert shop.lines() == [] and outbox.messages() == []
    assert shop.level("A") == (D(30), D(0), D(0), D(30))


def test_the_sweep_confirms_too_and_a_supplier_without_address_keeps_its_draft(shop, confirming, factory, outbox):
    from sqlalchemy import text

    from plugins.procurement.services_stock import adjust_stock

    silent = factory.partner(name="Muet SA", is_customer=False, is_supplier=True, email=None)
    shop.product("A", stock="30", rule=("10", "50", "1"))
    shop.product("M", stock="30", rule=("10", "50", "1"), supplier=silent)
    confirming.config.sections["procurement"] = {}
    with shop.app.transaction() as session:  # lost while the setting was off: drafts, then undone
        for sku in ("A", "M"):
            adjust_stock(shop.app, session, {"sku": sku, "quantity": "-25", "reason": "breakage"})
        session.execute(text("DELETE FROM procurement_purchase_order_line"))
        session.execute(text("DELETE FROM procurement_purchase_order"))
        session.execute(text("UPDATE procurement_stock_level SET incoming = 0"))
    confirming.config.sections["procurement"] = {"confirm_generated": True}
    result = shop.run()
    assert (result["lines"], result["orders_confirmed"]) == (2, 1)
    assert sorted((sku, state) for _, state, sku, *_ in shop.lines()) == [("A", "confirmed"), ("M", "draft")]
    (unsent,) = [m for m in outbox.messages() if m["subject"].startswith("Not sent")]
    assert unsent["recipients"] == ["buyer@shop.fr"]
    assert "Muet SA has no e-mail address" in unsent["text"] and "crm po confirm" in unsent["text"]
    assert len(outbox.messages(recipient="orders@grossiste.fr")) == 1
    assert shop.run()["lines"] == 0
    assert shop.check() == []
