"""The funnel's lead tables: leads and their history (what a list or a lead loads; the deals are
:mod:`plugins.funnel.models_deals`, and :mod:`plugins.funnel.models` gathers every funnel table)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.models import Partner, Team, User

LEAD_STATES = ("new", "qualified", "disqualified", "converted", "merged")


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
