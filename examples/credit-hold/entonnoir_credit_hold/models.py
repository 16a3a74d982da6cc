"""The credit hold table: one row per hold, extending ``core_partner`` from a table of our own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped
from core.models import Partner
from core.types import Money

ACTIVE = text("released_on IS NULL")


class PartnerHold(Timestamped, Base):
    """A customer put on credit hold by collections; active until ``released_on`` is set."""

    __tablename__ = "credit_hold_partner_hold"
    # At most one active hold per partner; released holds stay as history.
    __table_args__ = (
        Index("uq_credit_hold_partner_hold_active_partner", "partner_id", unique=True,
              sqlite_where=ACTIVE, postgresql_where=ACTIVE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # CASCADE: a plugin's table must never stop the kernel from deleting a partner.
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_on: Mapped[dt.date]
    placed_by: Mapped[str | None] = mapped_column(String(64))
    released_on: Mapped[dt.date | None]
    released_by: Mapped[str | None] = mapped_column(String(64))

    partner: Mapped[Partner] = relationship()

    @property
    def active(self) -> bool:
        return self.released_on is None


class PartnerCredit(Base):
    """The partner's credit limit: the module's extension fields of the partner (one row per partner).

    Shown by ``crm partner show|list``, set by ``crm partner add|edit --set credit_hold.limit=5000``,
    imported and exported as the CSV column ``credit_hold.limit`` (see :mod:`entonnoir_credit_hold.fields`).
    """

    __tablename__ = "credit_hold_partner_credit"

    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), primary_key=True)
    credit_limit: Mapped[Money | None]
