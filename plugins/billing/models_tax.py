"""Billing's tax tables: a customer's tax regime set by hand, and the dated VAT rates of EU countries.

The regime a customer gets without an override is derived at posting (:mod:`plugins.billing.taxes`)
from the kernel's partner: its country, its VAT number and whether it is a business.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import models  # noqa: F401  (the kernel's partner table its keys name)
from core.db import Base
from core.types import Percent

#: domestic (France), intra-EU business, EU consumer, outside the EU
REGIMES = ("domestic", "eu_business", "eu_consumer", "export")
RATE_KINDS = ("standard", "reduced")


class PartnerRegime(Base):
    """A customer's tax regime chosen by hand (``crm vat regime``), instead of the derived one."""

    __tablename__ = "billing_partner_regime"
    __table_args__ = (CheckConstraint("regime IN ('domestic', 'eu_business', 'eu_consumer', 'export')",
                                      name="regime"),)

    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), primary_key=True)
    regime: Mapped[str] = mapped_column(String(12))


class CountryRate(Base):
    """A VAT rate of an EU country from a date on (``crm vat rates``): what an EU consumer pays above
    the distance-selling threshold (CGI art. 258 A, 259 B)."""

    __tablename__ = "billing_country_rate"
    __table_args__ = (UniqueConstraint("country", "kind", "valid_from"),
                      CheckConstraint("kind IN ('standard', 'reduced')", name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[dt.date]
    rate: Mapped[Percent]
