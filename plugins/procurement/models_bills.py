"""Supplier bills received: one row per bill (unique per supplier and number) and its lines.

A bill is ``approved`` (it matched its purchase orders and receipts, or a person approved it),
``held`` (its differences are listed in ``differences``) or ``disputed``; an approved bill put in a
payment run is ``paying`` until the bank statement's debit clears it (``paid``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped
from core.models import Partner
from core.types import Money, Percent, Quantity, UnitPrice
from plugins.procurement import models_purchase  # noqa: F401  (the table a bill line's key names)

BILL_STATES = ("approved", "held", "disputed", "paying", "paid")


class SupplierBill(Timestamped, Base):
    """An invoice a supplier sent us (imported e-invoice or paper bill typed in)."""

    __tablename__ = "procurement_supplier_bill"
    __table_args__ = (
        UniqueConstraint("supplier_id", "number", name="uq_procurement_supplier_bill_number"),
        CheckConstraint("state IN ('approved', 'held', 'disputed', 'paying', 'paid')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    #: the supplier's own invoice number
    number: Mapped[str] = mapped_column(String(64))
    bill_date: Mapped[dt.date]
    due_date: Mapped[dt.date]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total_untaxed: Mapped[Money]
    total_tax: Mapped[Money]
    total: Mapped[Money]
    #: facturx, cii, ubl or paper
    source: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), index=True)
    #: one difference per line (why the bill is held)
    differences: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[dt.date]
    #: where the supplier wants to be paid (from the e-invoice, or typed in)
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    #: the payment run (the pain.001 message id) that pays it, and the day the bank debited it
    payment_run: Mapped[str | None] = mapped_column(String(35), index=True)
    paid_on: Mapped[dt.date | None]

    supplier: Mapped[Partner] = relationship()
    lines: Mapped[list[SupplierBillLine]] = relationship(back_populates="bill", order_by="SupplierBillLine.id",
                                                         cascade="all, delete-orphan")


class SupplierBillLine(Base):
    """One billed line, with the purchase order line it was matched to (if any)."""

    __tablename__ = "procurement_supplier_bill_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("procurement_supplier_bill.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Quantity]
    unit_price: Mapped[UnitPrice]
    vat_rate: Mapped[Percent]
    subtotal: Mapped[Money]
    purchase_order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("procurement_purchase_order_line.id"), index=True)

    bill: Mapped[SupplierBill] = relationship(back_populates="lines")
