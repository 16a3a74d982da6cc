"""Billing's bank tables: statements, their lines, the invoices a line names, customers' accounts, write-offs.

A bank line is identified once and for all (``line_key``), so a statement imported twice writes
nothing and two identical lines are two payments (see :mod:`plugins.billing.bank`). Imported by
:mod:`plugins.billing.models` (payments and allocations refer to these tables); it imports nothing
of billing (its references are by table name).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.types import Money
from plugins.billing import models_invoices  # noqa: F401  (the table its keys name)

BANK_FORMATS = ("camt053", "csv")
#: what became of a bank line: a customer payment, a credit nobody was found for yet, a debit kept
#: for the supplier side (not cleared by this module)
BANK_LINE_STATES = ("paid", "unmatched", "debit")


class BankStatement(Base):
    """One imported bank file: a camt.053 statement or a CSV bank export (``crm payment import``)."""

    __tablename__ = "billing_bank_statement"
    __table_args__ = (CheckConstraint("format IN ('camt053', 'csv')", name="format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    format: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the file's bytes (lines without a bank reference are identified by it and their line)
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: the camt.053 ``Stmt/Id`` (several statements in a file: the first), or None for a CSV
    statement_ref: Mapped[str | None] = mapped_column(String(35))
    account: Mapped[str | None] = mapped_column(String(34))
    imported_on: Mapped[dt.date]
    imported_at: Mapped[dt.datetime]
    lines_read: Mapped[int] = mapped_column(default=0)
    lines_new: Mapped[int] = mapped_column(default=0)
    #: the statement's closing booked balance (camt.053 ``Bal`` of type ``CLBD``, negative when
    #: overdrawn) and its day: the cash plan starts from the latest one of each account
    closing_balance: Mapped[Money | None]
    closing_date: Mapped[dt.date | None]


class BankLine(Base):
    """One entry of a bank statement, identified once and for all by ``line_key``.

    ``line_key`` is the bank's own reference with the account (camt.053 ``AcctSvcrRef``, else
    ``NtryRef``) when there is one, else the file (its statement id, or its SHA-256 for a CSV) and
    the line: importing a statement again writes nothing, and two identical lines are two entries.
    """

    __tablename__ = "billing_bank_line"
    __table_args__ = (CheckConstraint("direction IN ('credit', 'debit')", name="direction"),
                      CheckConstraint("state IN ('paid', 'unmatched', 'debit')", name="state"),
                      CheckConstraint("amount > 0", name="amount_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("billing_bank_statement.id"), index=True)
    line_key: Mapped[str] = mapped_column(String(250), unique=True)
    #: the entry's position in its file (the CSV line, the camt.053 entry index from 1)
    line_number: Mapped[int]
    bank_reference: Mapped[str | None] = mapped_column(String(35))
    direction: Mapped[str] = mapped_column(String(6))
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    booking_date: Mapped[dt.date]
    value_date: Mapped[dt.date | None]
    counterparty_name: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34), index=True)
    #: the structured creditor reference (``CdtrRefInf/Ref``: RF... or an invoice number)
    structured_reference: Mapped[str | None] = mapped_column(String(35))
    #: the free remittance text (``Ustrd``, the CSV's reference column)
    remittance: Mapped[str | None] = mapped_column(String(500))
    method: Mapped[str] = mapped_column(String(20), default="transfer")
    state: Mapped[str] = mapped_column(String(10))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id"), index=True)
    #: which rule found the customer: reference, remittance, customer (CSV column), account, name, manual
    #: (the payment made of the line points back to it: ``billing_payment.bank_line_id``)
    matched_by: Mapped[str | None] = mapped_column(String(12))


class BankLineInvoice(Base):
    """An invoice number a bank line names (structured reference, remittance text, CSV column), in order."""

    __tablename__ = "billing_bank_line_invoice"

    line_id: Mapped[int] = mapped_column(ForeignKey("billing_bank_line.id", ondelete="CASCADE"), primary_key=True)
    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    number: Mapped[str] = mapped_column(String(20))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id"))


class PartnerAccount(Base):
    """A bank account (IBAN) known to be a customer's: learnt from the lines matched to them."""

    __tablename__ = "billing_partner_account"

    iban: Mapped[str] = mapped_column(String(34), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), index=True)
    learnt_on: Mapped[dt.date]


class WriteOff(Base):
    """A small difference left on an invoice, written off with a reason (shown by the FEC later)."""

    __tablename__ = "billing_write_off"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    amount: Mapped[Money]
    write_off_date: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(String(200))
    #: who did it (the operator's login) and by which command (an import names its file)
    recorded_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(300))
    bank_line_id: Mapped[int | None] = mapped_column(ForeignKey("billing_bank_line.id"))
