"""Procurement tables: the stock ledger and its summary, supplier prices, reorder rules, purchase orders.

The purchase orders (:mod:`plugins.procurement.models_purchase`) and the supplier bills
(:mod:`plugins.procurement.models_bills`) have files of their own, gathered here.

Quantities are exact (:data:`core.types.Quantity`, thousandths stored as integers), so the sums the
ledger check compares are exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped
from core.models import Partner, Product
from core.types import Quantity, UnitPrice
from plugins.procurement import models_bills  # noqa: F401  (the supplier bills' tables are procurement's too)
from plugins.procurement.models_purchase import (DRAFT, OPEN_PURCHASE_STATES, PURCHASE_STATES, PurchaseOrder,
                                                  PurchaseOrderLine, ReorderRule)

MOVE_KINDS = ("receipt", "delivery", "adjustment")

__all__ = ["DRAFT", "MOVE_KINDS", "OPEN_PURCHASE_STATES", "PURCHASE_STATES", "PurchaseOrder", "PurchaseOrderLine",
           "ReorderRule", "StockLevel", "StockMove", "SupplierPrice"]


class StockMove(Timestamped, Base):
    """One line of the stock ledger: a signed quantity in (receipt), out (delivery) or corrected."""

    __tablename__ = "procurement_stock_move"
    __table_args__ = (
        CheckConstraint("kind IN ('receipt', 'delivery', 'adjustment')", name="kind"),
        CheckConstraint("(kind = 'receipt' AND quantity > 0) OR (kind = 'delivery' AND quantity < 0) "
                        "OR (kind = 'adjustment' AND quantity <> 0)", name="quantity_sign"),
        Index("ix_procurement_stock_move_product", "product_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id"))
    kind: Mapped[str] = mapped_column(String(12))
    #: positive in, negative out
    quantity: Mapped[Quantity]
    move_date: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(Text)
    sales_order_id: Mapped[int | None] = mapped_column(ForeignKey("core_sales_order.id"), index=True)
    purchase_order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("procurement_purchase_order_line.id"), index=True)

    product: Mapped[Product] = relationship()


class StockLevel(Base):
    """The maintained summary of one product's position, updated with every move and order.

    It is also the product's lock: every transaction that computes a forecast and may order takes
    this row ``FOR UPDATE`` first (products in id order), so two never order the same need.
    ``crm stock check`` recomputes it from the ledger and the orders.
    """

    __tablename__ = "procurement_stock_level"

    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="CASCADE"), primary_key=True)
    on_hand: Mapped[Quantity] = mapped_column(default=Decimal("0"))
    reserved: Mapped[Quantity] = mapped_column(default=Decimal("0"))
    incoming: Mapped[Quantity] = mapped_column(default=Decimal("0"))

    @property
    def forecast(self) -> Decimal:
        return self.on_hand + self.incoming - self.reserved


class SupplierPrice(Timestamped, Base):
    """What a supplier charges for a product from a minimum quantity on, and its lead time.

    Several rows for one supplier and product are price breaks (tiers): a purchase order line is
    priced at the tier with the largest ``minimum_quantity`` its quantity reaches, and the smallest
    ``minimum_quantity`` is the supplier's minimum order quantity. ``preferred`` is the same on every
    tier of a supplier for a product (it says which supplier, not which tier).
    """

    __tablename__ = "procurement_supplier_price"
    __table_args__ = (UniqueConstraint("product_id", "supplier_id", "minimum_quantity",
                                       name="uq_procurement_supplier_price_tier"),
                      CheckConstraint("minimum_quantity >= 0", name="minimum_quantity"),
                      CheckConstraint("lead_time_days >= 0", name="lead_time_days"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="CASCADE"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), index=True)
    price: Mapped[UnitPrice]
    minimum_quantity: Mapped[Quantity] = mapped_column(default=Decimal("0"))
    lead_time_days: Mapped[int] = mapped_column(default=0)
    preferred: Mapped[bool] = mapped_column(default=False)

    product: Mapped[Product] = relationship()
    supplier: Mapped[Partner] = relationship()
