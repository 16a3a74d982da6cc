"""Shared set-up of the procurement tests: a supplier, a buyer, products with stock and rules."""

from __future__ import annotations

from decimal import Decimal

import pytest


class Shop:
    """Builds procurement data through the services, each step in its own committed transaction."""

    def __init__(self, app, factory):
        self.app = app
        self.factory = factory
        self.customer = factory.partner(name="Client SARL")
        self.supplier = factory.partner(name="Grossiste SA", is_customer=False, is_supplier=True,
                                        email="orders@grossiste.fr")
        self.buyer = factory.user(login="buyer", role="purchasing", email="buyer@shop.fr")

    def product(self, sku, *, stock=None, rule=None, price="2.00", minimum="0", supplier=None, preferred=True,
                lead_time="3"):
        from plugins.procurement.services_rules import set_rule
        from plugins.procurement.services_stock import adjust_stock
        from plugins.procurement.services_suppliers import set_price

        self.factory.product(sku=sku)
        with self.app.transaction() as session:
            if supplier is not False:
                set_price(self.app, session, {"sku": sku, "supplier": str((supplier or self.supplier).id),
                                              "price": price, "minimum_quantity": minimum,
                                              "lead_time_days": lead_time, "preferred": preferred})
            if stock:
                adjust_stock(self.app, session, {"sku": sku, "quantity": stock, "reason": "initial count"})
            if rule:
                minimum_, maximum, multiple = rule
                set_rule(self.app, session, {"sku": sku, "minimum": minimum_, "maximum": maximum,
                                             "multiple": multiple})

    def sell(self, *lines, confirm=True):
        return self.factory.order(self.customer, [{"sku": sku, "quantity": str(q)} for sku, q in lines],
                                  confirm=confirm)

    def level(self, sku):
        from plugins.procurement.services_stock import stock_rows

        with self.app.transaction() as session:
            row = [r for r in stock_rows(session) if r["sku"] == sku][0]
        return tuple(Decimal(row[k]) for k in ("on_hand", "reserved", "incoming", "forecast"))

    def lines(self, sku=None):
        """``[(po number, state, sku, quantity, forecast seen)]`` of every purchase order line."""
        from sqlalchemy import select

        from core.models import Product
        from plugins.procurement.models import PurchaseOrder, PurchaseOrderLine

        with self.app.transaction() as session:
            query = (select(PurchaseOrder.number, PurchaseOrder.state, Product.sku, PurchaseOrderLine.quantity,
                            PurchaseOrderLine.forecast_quantity)
                     .join(PurchaseOrderLine, PurchaseOrderLine.order_id == PurchaseOrder.id)
                     .join(Product, Product.id == PurchaseOrderLine.product_id).order_by(PurchaseOrderLine.id))
            rows = [tuple(r) for r in session.execute(query)]
        return [r for r in rows if sku is None or r[2] == sku]

    def run(self, **kwargs):
        from plugins.procurement.services_reorder import run_reorder

        with self.app.transaction() as session:
            return run_reorder(self.app, session, **kwargs)

    def check(self):
        from plugins.procurement.services_stock import check_levels

        with self.app.transaction() as session:
            return check_levels(session)


@pytest.fixture
def shop(app, factory) -> Shop:
    return Shop(app, factory)
