"""Billing tables: payment terms, invoices and their lines and instalments, payments, reminders.

Every table is prefixed ``billing_`` and extends the kernel only through keys to its tables
(``billing_partner_term`` holds a customer's default term, keyed by the partner).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, partial_index
from core.models import Partner, Product, User
from core.types import Money, Percent, Quantity, UnitPrice

TERM_METHODS = ("immediate", "days", "days_end_of_month", "end_of_month_days")
INVOICE_KINDS = ("invoice", "credit_note")
INVOICE_STATES = ("draft", "posted", "partially_paid", "paid", "credited")
#: states in which an invoice still has money to collect
OPEN_STATES = ("posted", "partially_paid")
HOLDS = ("disputed", "blocked")
PAYMENT_METHODS = ("transfer", "cheque", "card", "cash", "direct_debit", "other")
CHANNELS = ("email", "letter")
RATE_KINDS = ("ecb_refinancing", "legal")

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
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment.id"), index=True)
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


class ReminderLevel(Base):
    """One level of the reminder policy: reached when today > due date + delay_days."""

    __tablename__ = "billing_reminder_level"
    __table_args__ = (CheckConstraint("channel IN ('email', 'letter')", name="channel"),
                      CheckConstraint("delay_days >= 0", name="delay_positive"))

    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    delay_days: Mapped[int]
    channel: Mapped[str] = mapped_column(String(10), default="email")
    #: comma-separated: customer, owner, collections
    recipients: Mapped[str] = mapped_column(String(100), default="customer")
    template: Mapped[str] = mapped_column(String(100), default="billing/reminder_friendly")
    interest: Mapped[bool] = mapped_column(default=False)
    indemnity: Mapped[bool] = mapped_column(default=False)
    handover: Mapped[bool] = mapped_column(default=False)
    #: the level's messages carry a PDF of each overdue invoice (a letter prints them after it)
    attach_invoices: Mapped[bool] = mapped_column(default=False, server_default=false())


class ReminderRun(Base):
    """One reminder run (the daily job or ``crm reminders run``)."""

    __tablename__ = "billing_reminder_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_date: Mapped[dt.date] = mapped_column(index=True)
    customers: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime]


class Reminder(Base):
    """A level of an invoice's case: sent once, or skipped by a catch-up; never twice (unique)."""

    __tablename__ = "billing_reminder"
    __table_args__ = (UniqueConstraint("invoice_id", "level"),
                      CheckConstraint("status IN ('sent', 'skipped')", name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("billing_reminder_run.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"))
    level: Mapped[int]
    run_date: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(8))
    amount_open: Mapped[Money]
    interest: Mapped[Money | None]
    indemnity: Mapped[Money | None]


class ReminderCase(Base):
    """An invoice's collection case: open from its first reminder (or a clerk's first action) until closed.

    ``state`` is ``open``, ``promised`` (escalation suspended until ``promise_date``) or ``closed``;
    a dispute is the invoice's hold (``billing_invoice.hold``), shown as the case's state.
    """

    __tablename__ = "billing_reminder_case"
    __table_args__ = (CheckConstraint("state IN ('open', 'promised', 'closed')", name="state"),)

    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="CASCADE"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    level: Mapped[int]
    opened_on: Mapped[dt.date]
    last_reminded_on: Mapped[dt.date]
    handed_over_on: Mapped[dt.date | None]
    closed_on: Mapped[dt.date | None]
    closed_reason: Mapped[str | None] = mapped_column(String(20))
    # collections (issue 15): who works the case, and the customer's promise to pay
    state: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    promise_date: Mapped[dt.date | None]
    promise_amount: Mapped[Money | None]
    #: the invoice's residual when the promise was made: kept = paid at least ``promise_amount`` since
    promise_residual: Mapped[Money | None]


class CollectionTask(Base):
    """Work for the collections team: a customer's overdue invoices handed over by the last level."""

    __tablename__ = "billing_collection_task"
    __table_args__ = (UniqueConstraint("partner_id", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("billing_reminder_run.id"))
    created_on: Mapped[dt.date]
    state: Mapped[str] = mapped_column(String(10), default="open")
    summary: Mapped[str] = mapped_column(Text)


class Rate(Base):
    """A dated reference rate (ECB refinancing rate, French legal interest rate), in percent a year."""

    __tablename__ = "billing_rate"
    __table_args__ = (UniqueConstraint("kind", "valid_from"),
                      CheckConstraint("kind IN ('ecb_refinancing', 'legal')", name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[dt.date]
    rate: Mapped[Percent]


# --- collections (issue 15) -----------------------------------------------------------------------

CASE_EVENTS = ("opened", "assigned", "note", "promised", "promise_kept", "promise_broken", "disputed", "resumed",
               "closed", "reopened")


class CaseEvent(Base):
    """One entry of a collection case's history: who did what on which business date (never rewritten)."""

    __tablename__ = "billing_case_event"
    __table_args__ = (CheckConstraint("kind IN ('opened', 'assigned', 'note', 'promised', 'promise_kept', "
                                      "'promise_broken', 'disputed', 'resumed', 'closed', 'reopened')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_reminder_case.invoice_id", ondelete="CASCADE"),
                                            index=True)
    event_date: Mapped[dt.date]
    kind: Mapped[str] = mapped_column(String(20))
    #: who did it (None: the reminder run or a payment)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    #: for ``assigned``: the new assignee
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    text: Mapped[str | None] = mapped_column(Text)
    promise_date: Mapped[dt.date | None]
    amount: Mapped[Money | None]


class Penalty(Base):
    """Late interest and indemnity invoiced for a late invoice over a period (``interest_from`` excluded).

    A second penalty invoice for the same invoice starts where the last one ended: the unique
    ``(invoice_id, interest_from)`` keeps a period from being invoiced twice.
    """

    __tablename__ = "billing_penalty"
    __table_args__ = (UniqueConstraint("invoice_id", "interest_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id"), index=True)
    penalty_invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id"), unique=True)
    interest_from: Mapped[dt.date]
    interest_to: Mapped[dt.date]
    interest: Mapped[Money]
    indemnity: Mapped[Money]


# the bank's tables are billing's too (a payment points to its bank line, an allocation to its write-off)
import plugins.billing.models_bank  # noqa: E402,F401
import plugins.billing.models_tax  # noqa: E402,F401
