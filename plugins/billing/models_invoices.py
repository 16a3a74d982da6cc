"""Billing's invoice tables: payment terms, invoice numbering, invoices with their lines and instalments.

What a list of invoices, an invoice or the aging needs, and nothing more: the payment and the
collection tables (:mod:`plugins.billing.models_payments`, :mod:`plugins.billing.models_collections`)
load with the services that use them; :mod:`plugins.billing.models` gathers every billing table.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, event, inspect, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, partial_index
from core.errors import StateError
from core.models import Partner, Product, User
from core.types import Money, Percent, Quantity, UnitPrice

TERM_METHODS = ("immediate", "days", "days_end_of_month", "end_of_month_days")
INVOICE_KINDS = ("invoice", "credit_note")
INVOICE_STATES = ("draft", "posted", "partially_paid", "paid", "credited")
#: states in which an invoice still has money to collect
OPEN_STATES = ("posted", "partially_paid")
HOLDS = ("disputed", "blocked")

OPEN_INVOICE = text("state IN ('posted', 'partially_paid')")


class PaymentTerm(Timestamped, Base):
    """A named payment term ("30J", "45FDM"): one or more instalments, an optional early discount."""

    __tablename__ = "billing_payment_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    discount_percent: Mapped[Percent] = mapped_column(default=Decimal("0"))
    discount_days: Mapped[int] = mapped_column(default=0)
    #: set only by an explicit override: the term exceeds the French B2B legal maximum (L441-10)
    beyond_legal_maximum: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    lines: Mapped[list[PaymentTermLine]] = relationship(back_populates="term", cascade="all, delete-orphan",
                                                       order_by="PaymentTermLine.sequence")


class PaymentTermLine(Base):
    """One instalment: a percentage of the total (None: the balance) due after a delay."""

    __tablename__ = "billing_payment_term_line"
    __table_args__ = (UniqueConstraint("term_id", "sequence"),
                      CheckConstraint("method IN ('immediate', 'days', 'days_end_of_month', 'end_of_month_days')",
                                      name="method"),
                      CheckConstraint("days >= 0", name="days_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("billing_payment_term.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    percent: Mapped[Percent | None]
    method: Mapped[str] = mapped_column(String(20))
    days: Mapped[int] = mapped_column(default=0)

    term: Mapped[PaymentTerm] = relationship(back_populates="lines")


class PartnerTerm(Base):
    """A customer's default payment term (billing's own table keyed by the kernel's partner)."""

    __tablename__ = "billing_partner_term"

    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("billing_payment_term.id"), index=True)

    term: Mapped[PaymentTerm] = relationship()


class Sequence(Base):
    """The last number given in a series ("F2026"): locked by the posting transaction, so no gap."""

    __tablename__ = "billing_sequence"

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
    last_date: Mapped[dt.date | None]


class Invoice(Timestamped, Base):
    """An invoice or a credit note, with the mentions French law requires, frozen once posted."""

    __tablename__ = "billing_invoice"
    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind"),
        CheckConstraint("state IN ('draft', 'posted', 'partially_paid', 'paid', 'credited')", name="state"),
        CheckConstraint("hold IS NULL OR hold IN ('disputed', 'blocked')", name="hold"),
        # one invoice per sales order, even if the confirmation hook ran twice
        partial_index("uq_billing_invoice_order", "order_id", unique=True, where="kind = 'invoice'"),
        # the reminder run and aging only look at open invoices, by due date
        partial_index("ix_billing_invoice_open_due", "due_date", where=OPEN_INVOICE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="invoice")
    state: Mapped[str] = mapped_column(String(16), default="draft")
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("core_sales_order.id"))
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id"), index=True)
    salesperson_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    term_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment_term.id"))
    invoice_date: Mapped[dt.date]
    posted_on: Mapped[dt.date | None]
    #: due date of the oldest instalment not yet covered (what reminders and aging count from)
    due_date: Mapped[dt.date | None]
    final_due_date: Mapped[dt.date | None]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total_untaxed: Mapped[Money] = mapped_column(default=Decimal("0"))
    total_tax: Mapped[Money] = mapped_column(default=Decimal("0"))
    total: Mapped[Money] = mapped_column(default=Decimal("0"))
    #: paid or credited so far; residual = total - settled (for a credit note: credit left to use)
    settled: Mapped[Money] = mapped_column(default=Decimal("0"))
    residual: Mapped[Money] = mapped_column(default=Decimal("0"))
    hold: Mapped[str | None] = mapped_column(String(10))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    # mentions (Code de commerce L441-9, CGI art. 242 nonies A), copied when posted
    seller_name: Mapped[str | None] = mapped_column(String(200))
    seller_siren: Mapped[str | None] = mapped_column(String(9))
    seller_vat_number: Mapped[str | None] = mapped_column(String(20))
    seller_address: Mapped[str | None] = mapped_column(Text)
    #: the company's whole identity as posting found it (JSON: legal form, RCS, capital, IBAN,
    #: VAT-on-debits option, e-invoicing address...), so a reprint says what the original said
    seller_identity: Mapped[str | None] = mapped_column(Text)
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    buyer_siren: Mapped[str | None] = mapped_column(String(9))
    buyer_vat_number: Mapped[str | None] = mapped_column(String(20))
    buyer_address: Mapped[str | None] = mapped_column(Text)
    #: the order's delivery address when the goods did not go to the buyer's (lines as ``buyer_address``)
    delivery_address: Mapped[str | None] = mapped_column(Text)
    delivery_country: Mapped[str | None] = mapped_column(String(2))
    buyer_is_business: Mapped[bool] = mapped_column(default=True)
    operation_category: Mapped[str] = mapped_column(String(10), default="goods")
    penalty_rate: Mapped[Percent | None]
    recovery_indemnity: Mapped[Money | None]
    early_discount: Mapped[str | None] = mapped_column(String(200))
    #: the early-payment discount offered, frozen at posting from the term (None: none offered);
    #: a payment dated on or before ``discount_until`` that clears the invoice earns it
    discount_percent: Mapped[Percent | None]
    discount_until: Mapped[dt.date | None]
    note: Mapped[str | None] = mapped_column(Text)
    #: the customer's tax regime at posting (``plugins.billing.taxes``) and the VAT mention it prints
    tax_regime: Mapped[str | None] = mapped_column(String(12))
    vat_mention: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship()
    salesperson: Mapped[User | None] = relationship()
    term: Mapped[PaymentTerm | None] = relationship()
    origin: Mapped[Invoice | None] = relationship(remote_side="Invoice.id")
    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", cascade="all, delete-orphan",
                                                   order_by="InvoiceLine.sequence")
    dues: Mapped[list[InvoiceDue]] = relationship(back_populates="invoice", cascade="all, delete-orphan",
                                                 order_by="InvoiceDue.sequence")


class InvoiceLine(Base):
    """One line: product, quantity, unit price, discount, VAT rate; subtotal computed by the service."""

    __tablename__ = "billing_invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "sequence"),
                      CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    product_id: Mapped[int | None] = mapped_column(ForeignKey("core_product.id"))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Quantity]
    unit_price: Mapped[UnitPrice]
    discount: Mapped[Percent] = mapped_column(default=Decimal("0"))
    vat_rate: Mapped[Percent]
    #: EN 16931 VAT category (S, Z, E, AE, K, G, O) and exemption reason code (VATEX-...), set at posting
    vat_category: Mapped[str] = mapped_column(String(2), default="S", server_default="S")
    vat_exemption: Mapped[str | None] = mapped_column(String(20))
    subtotal: Mapped[Money]
    #: on a credit note, the line of the invoice it credits
    origin_line_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice_line.id"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()


class InvoiceDue(Base):
    """One instalment of a posted invoice: what is due on which date."""

    __tablename__ = "billing_invoice_due"
    __table_args__ = (UniqueConstraint("invoice_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    due_date: Mapped[dt.date]
    amount: Mapped[Money]

    invoice: Mapped[Invoice] = relationship(back_populates="dues")


#: what posting freezes
FROZEN = ("number", "kind", "partner_id", "invoice_date", "total_untaxed", "total_tax", "total", "term_id",
          "currency", "seller_name", "seller_siren", "seller_vat_number", "seller_identity", "buyer_name", "buyer_siren",
          "buyer_vat_number", "buyer_address", "delivery_address", "delivery_country", "penalty_rate", "recovery_indemnity", "final_due_date",
          "discount_percent", "discount_until", "tax_regime", "vat_mention")


def label(invoice: Invoice) -> str:
    """How messages name an invoice: its number, or ``draft #id``."""
    return invoice.number or f"draft #{invoice.id}"


# --- the immutability guard: here, with the tables, so that whatever maps an invoice has it ------

def _was_posted(invoice: Invoice) -> bool:
    """Whether the invoice was already posted when this transaction last wrote it."""
    history = inspect(invoice).attrs.state.history
    was = history.deleted[0] if history.deleted else invoice.state
    return was not in (None, "draft")


@event.listens_for(Invoice, "before_update")
def _frozen_invoice(mapper, connection, target):
    if not _was_posted(target):
        return
    for name in FROZEN:
        if inspect(target).attrs[name].history.has_changes():
            raise StateError(f"invoice {label(target)}: {name} cannot change, the invoice is posted "
                             f"(issue a credit note)")


@event.listens_for(Invoice, "before_delete")
def _kept_invoice(mapper, connection, target):
    if _was_posted(target):
        raise StateError(f"invoice {label(target)} is posted: it is never deleted (issue a credit note)")


@event.listens_for(InvoiceLine, "before_update")
def _frozen_line(mapper, connection, target):
    changed = any(attr.history.has_changes() for attr in inspect(target).attrs)
    if changed and target.invoice is not None and _was_posted(target.invoice):
        raise StateError(f"invoice {label(target.invoice)}: line {target.sequence} cannot change, the invoice is "
                         f"posted (issue a credit note)")


@event.listens_for(InvoiceLine, "before_delete")
def _kept_line(mapper, connection, target):
    if target.invoice is not None and _was_posted(target.invoice):
        raise StateError(f"invoice {label(target.invoice)}: line {target.sequence} cannot be deleted, the invoice "
                         f"is posted (issue a credit note)")


