"""Dated reference rates and the late-payment interest computed to the day.

French law (Code de commerce L441-10): unless agreed otherwise, the late-payment penalty rate is
the ECB's refinancing rate + 10 points, and never below three times the legal interest rate. The
ECB rate that counts for a half-year is the one in force on its first day (1 January, 1 July);
the legal rate is published per half-year. Both change, so they are dated data (``billing_rate``),
never constants.

Interest = unpaid amount incl. VAT x annual rate x days late / 365, each day at the rate of its
half-year, rounded to the cent once at the end.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from core.errors import CrmError, ValidationError
from core.security import require
from core.types import round_money
from plugins.billing.models import Rate

#: Known values (percent a year), seeded at install; add newer ones with `crm rate add`.
SEED_RATES = {
    "ecb_refinancing": [("2023-09-20", "4.50"), ("2024-06-12", "4.25"), ("2024-09-18", "3.65"),
                        ("2024-10-23", "3.40"), ("2024-12-18", "3.15"), ("2025-02-05", "2.90"),
                        ("2025-03-12", "2.65"), ("2025-04-23", "2.40"), ("2025-06-11", "2.15")],
    # taux de l'intérêt légal, "autres cas" (creditors acting for professional needs)
    "legal": [("2024-01-01", "5.07"), ("2024-07-01", "4.92"), ("2025-01-01", "3.71"), ("2025-07-01", "2.76")],
}


def seed_rates(session) -> None:
    have = {(kind, day) for kind, day in session.execute(select(Rate.kind, Rate.valid_from))}
    for kind, values in SEED_RATES.items():
        for day, rate in values:
            if (kind, dt.date.fromisoformat(day)) not in have:
                session.add(Rate(kind=kind, valid_from=dt.date.fromisoformat(day), rate=Decimal(rate)))
    session.flush()


def add_rate(session, kind: str, valid_from: dt.date, rate: Decimal) -> Rate:
    """Record a rate from ``valid_from`` (one per kind and date)."""
    require(session.info["app"], session, "billing.settings")
    if kind not in ("ecb_refinancing", "legal"):
        raise ValidationError("must be ecb_refinancing or legal", record="rate", field="kind")
    if rate < 0 or rate > 100:
        raise ValidationError("must be between 0 and 100", record=f"rate {kind} {valid_from}", field="rate")
    if session.scalars(select(Rate).where(Rate.kind == kind, Rate.valid_from == valid_from)).first():
        raise ValidationError("a rate of this kind already starts that day", record=f"rate {kind} {valid_from}",
                              field="valid_from")
    row = Rate(kind=kind, valid_from=valid_from, rate=rate)
    session.add(row)
    session.flush()
    return row


class RateTable:
    """The rates loaded once (a reminder run asks for thousands of days)."""

    def __init__(self, session, margin: Decimal):
        self.margin = margin
        self.rates: dict[str, list[tuple[dt.date, Decimal]]] = {"ecb_refinancing": [], "legal": []}
        for kind, day, rate in session.execute(select(Rate.kind, Rate.valid_from, Rate.rate).order_by(Rate.valid_from)):
            self.rates[kind].append((day, rate))
        self._cache: dict[dt.date, Decimal] = {}
        self._days_cache: dict[tuple[dt.date, dt.date], Decimal] = {}

    def _in_force(self, kind: str, day: dt.date) -> Decimal:
        found = None
        for start, rate in self.rates[kind]:
            if start <= day:
                found = rate
            else:
                break
        if found is None:
            raise CrmError(f"rate {kind}: none known on {day.isoformat()} (add one with `crm rate add`)")
        return found

    def penalty_rate(self, day: dt.date) -> Decimal:
        """The late-payment penalty rate for ``day``'s half-year (percent a year)."""
        start = dt.date(day.year, 1 if day.month <= 6 else 7, 1)
        if start not in self._cache:
            ecb = self._in_force("ecb_refinancing", start) + self.margin
            floor = 3 * self._in_force("legal", start)
            self._cache[start] = max(ecb, floor)
        return self._cache[start]

    def interest(self, amount: Decimal, due_date: dt.date, today: dt.date) -> Decimal:
        """Late interest on ``amount`` from the day after ``due_date`` to ``today`` included."""
        if today <= due_date or amount <= 0:
            return Decimal("0.00")
        return round_money(amount * self.rate_days(due_date, today) / Decimal(36500))

    def rate_days(self, due_date: dt.date, today: dt.date) -> Decimal:
        """Sum over the days late of each day's rate (percent-days): interest = amount x this / 36,500.

        It depends on the due date only, so a run over thousands of invoices computes it once per
        due date (cached); the amount is multiplied in once and rounded once, as the law reads.
        """
        key = (due_date, today)
        found = self._days_cache.get(key)
        if found is None:
            found = Decimal(0)
            day = due_date + dt.timedelta(days=1)
            while day <= today:
                half_end = dt.date(day.year, 6, 30) if day.month <= 6 else dt.date(day.year, 12, 31)
                last = min(half_end, today)
                found += self.penalty_rate(day) * ((last - day).days + 1)
                day = last + dt.timedelta(days=1)
            self._days_cache[key] = found
        return found
