"""The funnel's deal tables: pipelines and stages, opportunities with their product lines, their
stage history and the outcomes learned from it (what a list or a deal loads; the leads are
:mod:`plugins.funnel.models_leads`, and :mod:`plugins.funnel.models` gathers every funnel table).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.models import Partner, Product, SalesOrder, Team, User
from core.types import Money, Percent, Quantity, UnitPrice
from plugins.funnel import models_leads  # noqa: F401  (the table a deal's lead key names)

STAGE_KINDS = ("open", "won", "lost")
DEAL_STATES = ("open", "won", "lost")


class Pipeline(Base):
    """An ordered list of stages a deal goes through."""

    __tablename__ = "funnel_pipeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_default: Mapped[bool] = mapped_column(default=False)

    stages: Mapped[list[Stage]] = relationship(back_populates="pipeline", order_by="Stage.sequence",
                                               cascade="all, delete-orphan")


class Stage(Base):
    """A step of a pipeline with its default probability; ``kind`` marks the won and lost ends."""

    __tablename__ = "funnel_stage"
    __table_args__ = (UniqueConstraint("pipeline_id", "name"), UniqueConstraint("pipeline_id", "sequence"),
                      CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind"),
                      CheckConstraint("probability >= 0 AND probability <= 10000", name="probability"))

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("funnel_pipeline.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int]
    probability: Mapped[Percent]
    kind: Mapped[str] = mapped_column(String(5), default="open")
    #: an archived stage keeps the history of the deals that went through it but takes no new move
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")


class Opportunity(Base):
    """A deal: a customer, a value, a stage of a pipeline, an owner and a team."""

    __tablename__ = "funnel_opportunity"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'won', 'lost')", name="state"),
        # the funnel by stage and the weighted pipeline (open deals)
        Index("ix_funnel_opportunity_stage", "pipeline_id", "state", "stage_id", "probability", "value",
              "owner_id", "team_id"),
        # won/lost in a period: win rate, deal size, cycle, trends, attainment
        Index("ix_funnel_opportunity_closed", "state", "closed_on", "pipeline_id", "owner_id", "team_id",
              "value", "cycle_days"),
        # forecast by expected close month, coverage
        Index("ix_funnel_opportunity_expected", "state", "expected_close", "pipeline_id", "owner_id", "team_id",
              "stage_id", "probability", "value"),
        # new deals per month
        Index("ix_funnel_opportunity_created", "pipeline_id", "created_on", "owner_id", "team_id", "value"),
        # conversion rates: per furthest stage, the deals whose changes overlap a period (no sort)
        Index("ix_funnel_opportunity_history", "pipeline_id", "furthest_stage_id", "last_change_on",
              "first_change_on", "owner_id", "team_id"),
        # the same for one owner's or one team's report (--owner, --team) without reading the others' deals
        Index("ix_funnel_opportunity_history_owner", "owner_id", "pipeline_id", "furthest_stage_id",
              "last_change_on", "first_change_on"),
        Index("ix_funnel_opportunity_history_team", "team_id", "pipeline_id", "furthest_stage_id",
              "last_change_on", "first_change_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("funnel_pipeline.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("funnel_stage.id"))
    state: Mapped[str] = mapped_column(String(5), default="open")
    value: Mapped[Money] = mapped_column(default=Decimal("0"))
    #: an override of the stage's default probability (percent), or None
    probability: Mapped[Percent | None]
    expected_close: Mapped[dt.date]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("core_team.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("core_contact.id", ondelete="SET NULL"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_lead.id"), index=True)
    created_on: Mapped[dt.date]
    closed_on: Mapped[dt.date | None]
    #: closed_on - created_on in days, set when won (the cycle length the report averages)
    cycle_days: Mapped[int | None]
    lost_reason: Mapped[str | None] = mapped_column(Text)
    #: summary of the deal's stage history, written with every :class:`StageChange` in the same
    #: transaction (``deals.record_change``): the first and last business dates of a change and the
    #: furthest stage ever entered (Won is beyond every open stage; Lost is not progress). The
    #: conversion rates read it instead of the whole history for deals whose changes all fall in
    #: the period. A derived value, so no foreign key (a constraint would rebuild the table on SQLite).
    first_change_on: Mapped[dt.date | None]
    last_change_on: Mapped[dt.date | None]
    furthest_stage_id: Mapped[int | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("core_sales_order.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    pipeline: Mapped[Pipeline] = relationship()
    stage: Mapped[Stage] = relationship()
    owner: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()
    customer: Mapped[Partner | None] = relationship()
    #: the order the won deal became (read only: ``order_id`` is what the funnel writes)
    order: Mapped[SalesOrder | None] = relationship(viewonly=True)
    lines: Mapped[list[OpportunityLine]] = relationship(back_populates="opportunity", cascade="all, delete-orphan",
                                                        order_by="OpportunityLine.sequence")


class OpportunityLine(Base):
    """A product the deal is about: what the sales order will hold when the deal is won."""

    __tablename__ = "funnel_opportunity_line"
    __table_args__ = (UniqueConstraint("opportunity_id", "sequence"),
                      CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("funnel_opportunity.id", ondelete="CASCADE"))
    sequence: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id"))
    quantity: Mapped[Quantity]
    unit_price: Mapped[UnitPrice]
    discount: Mapped[Percent] = mapped_column(default=Decimal("0"))

    opportunity: Mapped[Opportunity] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class StageChange(Base):
    """One move of a deal: created, moved, won, lost or reopened, on a business date, by a user."""

    __tablename__ = "funnel_stage_change"
    __table_args__ = (
        # conversion rates: the furthest stage each deal reached in a period, grouped without a sort
        Index("ix_funnel_stage_change_deal", "opportunity_id", "changed_on", "to_stage_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("funnel_opportunity.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(10))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_stage.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("funnel_stage.id"))
    #: the business date of the move (``app.today``): replayed days give the same metrics
    changed_on: Mapped[dt.date]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    note: Mapped[str | None] = mapped_column(Text)
    #: wall-clock time of the write, for the audit trail only
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    from_stage: Mapped[Stage | None] = relationship(foreign_keys=[from_stage_id])
    to_stage: Mapped[Stage] = relationship(foreign_keys=[to_stage_id])
    user: Mapped[User | None] = relationship()


class StageOutcome(Base):
    """An open stage a closed deal went through, with how the deal ended: what the probabilities learn from.

    Written when a deal is won or lost (one row per open stage its history entered, with the first
    day it entered it) and removed when it is reopened, in the same transaction
    (``outcomes.record_outcome``); ``outcomes.rebuild_outcomes`` recomputes it from the history.
    The team, source and value are the deal's when it closed.
    """

    __tablename__ = "funnel_stage_outcome"
    __table_args__ = (
        # the learned probabilities per stage, team, source and days to close, streamed in this order
        Index("ix_funnel_stage_outcome_segments", "stage_id", "won", "team_id", "source", "days", "closed_on",
              "pipeline_id"),
        # per amount band: one range of values per band
        Index("ix_funnel_stage_outcome_amount", "stage_id", "won", "value", "closed_on", "pipeline_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("funnel_opportunity.id", ondelete="CASCADE"),
                                                index=True)
    pipeline_id: Mapped[int]
    stage_id: Mapped[int]
    won: Mapped[bool]
    #: the first day the deal entered the stage, the day it closed, and the days between
    entered_on: Mapped[dt.date]
    closed_on: Mapped[dt.date]
    days: Mapped[int]
    team_id: Mapped[int | None]
    source: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[Money]
