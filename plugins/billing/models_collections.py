"""Billing's collection tables: reminder levels and runs, reminders sent, collection cases with their
tasks and events, the interest rates and the late-payment penalties invoiced.

:mod:`plugins.billing.models` gathers every billing table.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.types import Money, Percent
from plugins.billing import models_invoices  # noqa: F401  (the table its keys name)

CHANNELS = ("email", "letter")
RATE_KINDS = ("ecb_refinancing", "legal")


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
