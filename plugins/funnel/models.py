"""The funnel's tables: leads and their history, pipelines and stages, opportunities with their
product lines and stage history, activities and targets.

The leads and the deals have files of their own (:mod:`plugins.funnel.models_leads`,
:mod:`plugins.funnel.models_deals`: what a list loads), gathered here with the activities, targets,
forecast snapshots and the market data defined below (what ``register_models`` gives).

Every table is prefixed ``funnel_``. Amounts use the kernel's exact column types. The indexes
are designed for the reports: each report query is answered from one covering index (see
docs/funnel.md, "Performance").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.models import Team, User
from core.types import Money
from plugins.funnel.models_deals import (DEAL_STATES, STAGE_KINDS, Opportunity, OpportunityLine, Pipeline,
                                         Stage, StageChange, StageOutcome)
from plugins.funnel.models_leads import LEAD_STATES, Lead, LeadEvent

ACTIVITY_KINDS = ("call", "meeting", "email", "task")
#: a target's period: a calendar month, quarter, half-year, year, ISO week, or any range of days
PERIOD_KINDS = ("month", "quarter", "half", "year", "week", "range")
FORECAST_METHODS = ("configured", "learned")

__all__ = ["ACTIVITY_KINDS", "DEAL_STATES", "FORECAST_METHODS", "LEAD_STATES", "PERIOD_KINDS", "STAGE_KINDS",
           "Activity", "CaptureHit", "ForecastSnapshot", "Lead", "LeadEvent", "MarketCompany", "Opportunity",
           "OpportunityLine", "Pipeline", "Stage", "StageChange", "StageOutcome", "Target"]


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
