"""The funnel's tables: leads and their history, pipelines and stages, opportunities with their
product lines and stage history, activities and targets.

Every table is prefixed ``funnel_``. Amounts use the kernel's exact column types. The indexes
are designed for the reports: each report query is answered from one covering index (see
docs/funnel.md, "Performance").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.models import Partner, Product, SalesOrder, Team, User
from core.types import Money, Percent, Quantity, UnitPrice

LEAD_STATES = ("new", "qualified", "disqualified", "converted", "merged")
STAGE_KINDS = ("open", "won", "lost")
DEAL_STATES = ("open", "won", "lost")
ACTIVITY_KINDS = ("call", "meeting", "email", "task")
#: a target's period: a calendar month, quarter, half-year, year, ISO week, or any range of days
PERIOD_KINDS = ("month", "quarter", "half", "year", "week", "range")
FORECAST_METHODS = ("configured", "learned")


class Lead(Base):
    """A potential buyer at the wide end of the funnel."""

    __tablename__ = "funnel_lead"
    __table_args__ = (CheckConstraint("state IN ('new', 'qualified', 'disqualified', 'converted', 'merged')",
                                      name="state"),
                      # the period report: leads in per source (and team), merged ones left out
                      Index("ix_funnel_lead_created", "created_on", "team_id", "state", "source"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(100))
    campaign: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("core_team.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="new")
    disqualify_reason: Mapped[str | None] = mapped_column(Text)
    #: the company's SIREN (9 digits, checked) and web site, when known
    siren: Mapped[str | None] = mapped_column(String(9), index=True)
    website: Mapped[str | None] = mapped_column(String(200))
    #: normalised match keys, indexed for duplicate detection (see plugins/funnel/matching.py):
    #: lower-case e-mail; "company|name" folded; phone digits in French national form; the company's
    #: web or e-mail domain (never a free-mail one)
    email_key: Mapped[str | None] = mapped_column(String(254), index=True)
    company_key: Mapped[str | None] = mapped_column(String(402), index=True)
    phone_key: Mapped[str | None] = mapped_column(String(20), index=True)
    domain_key: Mapped[str | None] = mapped_column(String(200), index=True)
    #: which keys matched the lead or partner this one duplicates ("email,domain"), or None
    duplicate_keys: Mapped[str | None] = mapped_column(String(60))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_lead.id"))
    duplicate_partner_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_lead.id"))
    #: the business date the lead entered (``app.today``)
    created_on: Mapped[dt.date]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship()
    partner: Mapped[Partner | None] = relationship(foreign_keys=[partner_id])


class LeadEvent(Base):
    """One line of a lead's history (qualified, disqualified, converted, merged, edited)."""

    __tablename__ = "funnel_lead_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_lead.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    happened_on: Mapped[dt.date]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


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


class Activity(Base):
    """A call, meeting, e-mail or task for a user, due on a date, about a lead, a deal or a partner."""

    __tablename__ = "funnel_activity"
    __table_args__ = (CheckConstraint("kind IN ('call', 'meeting', 'email', 'task')", name="kind"),
                      Index("ix_funnel_activity_open", "done_on", "due_date", "owner_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    due_date: Mapped[dt.date]
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_lead.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_opportunity.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id"))
    note: Mapped[str | None] = mapped_column(Text)
    done_on: Mapped[dt.date | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    created_on: Mapped[dt.date]

    owner: Mapped[User] = relationship()


class Target(Base):
    """A revenue objective (and optionally a number of activities) for a user or a team over a period."""

    __tablename__ = "funnel_target"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="user_or_team"),
        CheckConstraint("period_kind IN ('month', 'quarter', 'half', 'year', 'week', 'range')", name="period_kind"),
        UniqueConstraint("user_id", "team_id", "period_kind", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("core_team.id"))
    period_kind: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    revenue: Mapped[Money]
    activities: Mapped[int | None]

    user: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()


class ForecastSnapshot(Base):
    """What the forecast said, in one week, about one open period, for one salesperson or team, by one method.

    Written by the weekly job ``funnel.forecast_snapshot``; once the period is over,
    ``crm forecast accuracy`` compares each snapshot with what was won (docs/funnel.md).
    """

    __tablename__ = "funnel_forecast_snapshot"
    __table_args__ = (
        CheckConstraint("method IN ('configured', 'learned')", name="method"),
        CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="user_or_team"),
        # one snapshot per week, period, method and salesperson or team ("user:3", "team:1")
        UniqueConstraint("week", "period", "method", "subject"),
        Index("ix_funnel_forecast_snapshot_period", "period", "method", "subject", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the ISO week the snapshot belongs to (``2026-W49``) and the business date it was taken
    week: Mapped[str] = mapped_column(String(8))
    taken_on: Mapped[dt.date]
    #: the forecast period (``2026-12``, ``2026-Q4``) and its bounds
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    method: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("core_team.id"))
    #: won in the period by the snapshot's date, and the weighted open pipeline expected to close in it
    won: Mapped[Money]
    weighted_pipeline: Mapped[Money]
    #: won + weighted pipeline: what the period was expected to bring
    forecast: Mapped[Money]
    open_deals: Mapped[int]


class MarketCompany(Base):
    """One establishment of the French company register (Sirene), as the last ``crm market import`` gave it."""

    __tablename__ = "funnel_market_company"
    __table_args__ = (
        # coverage per segment reads the distinct (segment, SIREN) pairs of the active establishments
        # in index order (no sort), and the total the distinct SIRENs
        Index("ix_funnel_market_naf", "active", "naf", "siren"),
        Index("ix_funnel_market_department", "active", "department", "siren"),
        Index("ix_funnel_market_size", "active", "size_band", "siren"),
        # and our relations look their establishments up by SIREN (and the total counts SIRENs) here
        Index("ix_funnel_market_siren", "active", "siren", "naf", "department", "size_band"),
    )

    siret: Mapped[str] = mapped_column(String(14), primary_key=True)
    siren: Mapped[str] = mapped_column(String(9))
    #: the APE/NAF rev. 2 code without its dot (``4321A``), or None when the register has none
    naf: Mapped[str | None] = mapped_column(String(5))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    #: from the postal code: ``69``, ``2A``/``2B`` (Corsica), ``971``..``976`` (overseas)
    department: Mapped[str | None] = mapped_column(String(3))
    #: INSEE headcount band code (``NN`` none or unknown, ``00``, ``01`` ... ``53``)
    size_band: Mapped[str] = mapped_column(String(2))
    created_on: Mapped[dt.date | None]
    #: etatAdministratifEtablissement: A (active) is True, F (closed) False
    active: Mapped[bool]
    head_office: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))


class CaptureHit(Base):
    """Posts to a website's form from one source address in one rate window (``plugins.funnel.capture``).

    Kept in the database so that every server worker counts the same posts.
    """

    __tablename__ = "funnel_capture_hit"
    __audited__ = False  # a counter: the leads it lets through are in the trail

    form: Mapped[str] = mapped_column(String(40), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the window's start, in seconds since the epoch (a multiple of the form's ``rate_window``)
    window_start: Mapped[int] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
