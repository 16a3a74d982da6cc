"""Procurement's purchase order tables: orders to suppliers, their lines and the reorder rules that
raise them (what a list of purchase orders or one order loads; :mod:`plugins.procurement.models`
gathers every procurement table).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, partial_index
from core.models import Partner, Product
from core.types import Quantity, UnitPrice

PURCHASE_STATES = ("draft", "confirmed", "partial", "received", "cancelled")
#: Purchase orders whose lines still count as incoming, whatever their expected dates (a need already
#: on order is never ordered again: the peers' "new request every day" and "pushed-back date" bugs).
OPEN_PURCHASE_STATES = ("draft", "confirmed", "partial")
DRAFT = text("state = 'draft'")


class PurchaseOrder(Timestamped, Base):
    """An order to one supplier: draft -> confirmed (sent) -> partial -> received, or cancelled."""

    __tablename__ = "procurement_purchase_order"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'confirmed', 'partial', 'received', 'cancelled')", name="state"),
        # One open draft per supplier: generated lines join it (concurrent creators meet on this index).
        partial_index("uq_procurement_purchase_order_draft_supplier", "supplier_id", unique=True, where=DRAFT),
        Index("ix_procurement_purchase_order_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    order_date: Mapped[dt.date]
    confirmed_at: Mapped[dt.date | None]
    received_at: Mapped[dt.date | None]
    cancelled_at: Mapped[dt.date | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    supplier: Mapped[Partner] = relationship()
    lines: Mapped[list[PurchaseOrderLine]] = relationship(back_populates="order", order_by="PurchaseOrderLine.id")


class PurchaseOrderLine(Base):
    """One need ordered from the supplier, with why it was raised (rule, forecast, date, trigger)."""

    __tablename__ = "procurement_purchase_order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received_quantity >= 0 AND received_quantity <= quantity", name="received_quantity"),
        Index("ix_procurement_purchase_order_line_product", "product_id"),
        partial_index("ix_procurement_purchase_order_line_unsummarised", "order_id", where="summarised = 0",
                      postgresql_where="NOT summarised"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("procurement_purchase_order.id", ondelete="CASCADE"),
                                          index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id"))
    quantity: Mapped[Quantity]
    received_quantity: Mapped[Quantity] = mapped_column(default=Decimal("0"))
    unit_price: Mapped[UnitPrice] = mapped_column(default=Decimal("0"))
    expected_date: Mapped[dt.date | None]
    # Why the line was raised: the rule, the forecast it saw, the day, and what triggered it.
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("procurement_reorder_rule.id", ondelete="SET NULL"))
    forecast_quantity: Mapped[Quantity | None]
    raised_on: Mapped[dt.date]
    trigger: Mapped[str] = mapped_column(String(100))
    #: reported to purchasing in a run's summary already
    summarised: Mapped[bool] = mapped_column(default=False)

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.received_quantity


class ReorderRule(Timestamped, Base):
    """Keep a product's forecast at least ``minimum``: below it, order up to ``maximum``."""

    __tablename__ = "procurement_reorder_rule"
    __table_args__ = (CheckConstraint("minimum >= 0", name="minimum"),
                      CheckConstraint("maximum >= minimum AND maximum > 0", name="maximum"),
                      CheckConstraint("multiple > 0", name="multiple"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="CASCADE"), unique=True)
    minimum: Mapped[Quantity]
    maximum: Mapped[Quantity]
    #: the pack size: quantities ordered are whole multiples of it
    multiple: Mapped[Quantity] = mapped_column(default=Decimal("1"))
    #: None: the product's preferred supplier (else its cheapest)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id"))
    #: None: the supplier's lead time
    lead_time_days: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship()
    supplier: Mapped[Partner | None] = relationship()
