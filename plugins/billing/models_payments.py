"""Billing's payment tables: payments received, their allocations to invoices, refunds of credit.

A payment may point to its bank line and an allocation to its write-off (:mod:`plugins.billing.models_bank`);
the tables their keys name are loaded with them. :mod:`plugins.billing.models` gathers every billing table.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped
from core.models import Partner
from core.types import Money
from plugins.billing import models_bank, models_invoices  # noqa: F401  (the tables its keys name)

PAYMENT_METHODS = ("transfer", "cheque", "card", "cash", "direct_debit", "other")


class Payment(Timestamped, Base):
    """Money received from a customer; what is not allocated stays as the customer's credit."""

    __tablename__ = "billing_payment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      CheckConstraint("unallocated >= 0", name="unallocated_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    payment_date: Mapped[dt.date]
    amount: Mapped[Money]
    method: Mapped[str] = mapped_column(String(20), default="transfer")
    reference: Mapped[str | None] = mapped_column(String(140))
    unallocated: Mapped[Money] = mapped_column(default=Decimal("0"))
    #: the bank statement line it came from (``crm payment import``): one payment per line at most
    bank_line_id: Mapped[int | None] = mapped_column(ForeignKey("billing_bank_line.id"), index=True, unique=True)

    partner: Mapped[Partner] = relationship()


class Allocation(Base):
    """Part of a payment, or of a credit note, settling an invoice."""

    __tablename__ = "billing_allocation"
    # each key with the column read beside it, so those reads come from the index alone: an
    # invoice's last settlement (its lettering date in the FEC), a payment's first invoice
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      Index("ix_billing_allocation_invoice_day", "invoice_id", "allocated_on"),
                      Index("ix_billing_allocation_payment_invoice", "payment_id", "invoice_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment.id"))
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id"))
    #: a small difference written off (:class:`WriteOff`) rather than paid or credited
    write_off_id: Mapped[int | None] = mapped_column(ForeignKey("billing_write_off.id"))
    amount: Mapped[Money]
    allocated_on: Mapped[dt.date]


class Refund(Timestamped, Base):
    """Money paid back to a customer out of their credit; :class:`RefundSource` says which credit."""

    __tablename__ = "billing_refund"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    refund_date: Mapped[dt.date]
    amount: Mapped[Money]
    method: Mapped[str] = mapped_column(String(20), default="transfer")
    reference: Mapped[str | None] = mapped_column(String(140))

    partner: Mapped[Partner] = relationship()
    sources: Mapped[list[RefundSource]] = relationship(back_populates="refund", cascade="all, delete-orphan",
                                                      order_by="RefundSource.id")


class RefundSource(Base):
    """The part of a refund drawn on one credit: a payment's unallocated amount or a credit note's residual.

    So that ``payment.amount = allocations + refunded + unallocated`` (and the same for a credit
    note's total) holds row by row: the ledger explains every cent of credit.
    """

    __tablename__ = "billing_refund_source"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      CheckConstraint("(payment_id IS NULL) <> (credit_note_id IS NULL)", name="one_source"))

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("billing_refund.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id"), index=True)
    amount: Mapped[Money]

    refund: Mapped[Refund] = relationship(back_populates="sources")
