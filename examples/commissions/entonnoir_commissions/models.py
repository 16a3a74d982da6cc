"""Commission plans (with their tiers) and the commission ledger.

Plans are never edited: a change is a new plan with a later ``valid_from``, so a statement of a
past month can always be explained by the plan that was in force. Ledger rows are never changed
or deleted either (a guard refuses it, whatever code tries): a correction is a new row.

The ledger keeps billing's references (invoice, payment, credit note) as plain ids and numbers,
not foreign keys: this module's migration depends only on the kernel's, and the ledger stays
readable while billing is disabled.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped
from core.errors import StateError
from core.models import Team, User
from core.types import Money, Percent

ZERO = Decimal("0.00")
TIER_PERIODS = ("month", "quarter")
ENTRY_KINDS = ("accrual", "reversal")


class CommissionPlan(Timestamped, Base):
    """A rate on collected untaxed amounts, for one salesperson or for every member of a team."""

    __tablename__ = "commissions_plan"
    __table_args__ = (
        CheckConstraint("(salesperson_id IS NULL) <> (team_id IS NULL)", name="one_owner"),
        CheckConstraint("tier_period IN ('month', 'quarter')", name="tier_period"),
        # scaled integers in the database (core.types): 10000 is 100.00 %
        CheckConstraint("rate >= 0 AND rate <= 10000", name="rate_range"),
        # one plan per owner and start date (NULLs are distinct on both databases)
        UniqueConstraint("salesperson_id", "valid_from"),
        UniqueConstraint("team_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    salesperson_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("core_team.id", ondelete="CASCADE"))
    valid_from: Mapped[dt.date]
    #: the rate (percent) from the first euro collected in the tier period
    rate: Mapped[Percent]
    #: what the tier thresholds count: collections of the calendar month or quarter
    tier_period: Mapped[str] = mapped_column(String(8), default="month")

    salesperson: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()
    tiers: Mapped[list[CommissionTier]] = relationship(back_populates="plan", cascade="all, delete-orphan",
                                                      order_by="CommissionTier.threshold")


class CommissionTier(Base):
    """From ``threshold`` collected (untaxed) in the tier period, the next euros earn ``rate``."""

    __tablename__ = "commissions_tier"
    __table_args__ = (UniqueConstraint("plan_id", "threshold"),
                      CheckConstraint("threshold > 0", name="threshold_positive"),
                      CheckConstraint("rate >= 0 AND rate <= 10000", name="rate_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("commissions_plan.id", ondelete="CASCADE"), index=True)
    threshold: Mapped[Money]
    rate: Mapped[Percent]

    plan: Mapped[CommissionPlan] = relationship(back_populates="tiers")


class CommissionEntry(Timestamped, Base):
    """One immutable row of the commission ledger: an accrual (one tier band of one payment on one
    invoice) or a reversal (a credit note's share of an invoice's commission, negative amounts)."""

    __tablename__ = "commissions_entry"
    __table_args__ = (
        # idempotency: the same payment on the same invoice (or the same credit note) is booked once
        UniqueConstraint("source", "part"),
        CheckConstraint("kind IN ('accrual', 'reversal')", name="kind"),
        Index("ix_commissions_entry_salesperson_day", "salesperson_id", "accrued_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    #: ``payment:<id>:invoice:<id>`` or ``credit_note:<id>:invoice:<id>``
    source: Mapped[str] = mapped_column(String(80))
    #: the tier band (0, 1...) of an accrual split across tiers
    part: Mapped[int] = mapped_column(default=0)
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    #: the business date it was booked: decides the statement month and the tier period
    accrued_on: Mapped[dt.date]
    invoice_id: Mapped[int] = mapped_column(index=True)
    invoice_number: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[int | None]
    payment_date: Mapped[dt.date | None]
    credit_note_id: Mapped[int | None]
    credit_note_number: Mapped[str | None] = mapped_column(String(20))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("commissions_plan.id"))
    #: money received (VAT included) this row is about; negative for a reversal
    collected: Mapped[Money]
    #: its untaxed share: what the rate applies to
    base: Mapped[Money]
    rate: Mapped[Percent | None]
    commission: Mapped[Money]

    salesperson: Mapped[User] = relationship()


@event.listens_for(CommissionEntry, "before_update")
def _never_changed(mapper, connection, target):
    raise StateError(f"commission ledger row {target.id} is never changed (book a new row instead)")


@event.listens_for(CommissionEntry, "before_delete")
def _never_deleted(mapper, connection, target):
    raise StateError(f"commission ledger row {target.id} is never deleted (book a reversal instead)")

