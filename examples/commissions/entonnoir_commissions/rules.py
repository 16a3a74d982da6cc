"""The arithmetic of commissions, with no database: untaxed share, marginal tiers, reversal share.

Every amount is an exact :class:`~decimal.Decimal`, rounded half up to the cent only where a
figure is booked (``core.types.round_money``), never on a float.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from core.types import round_money

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def untaxed_share(collected_before: Decimal, amount: Decimal, total_untaxed: Decimal, total: Decimal) -> Decimal:
    """The untaxed part of ``amount`` received on an invoice (French practice: commission excludes VAT).

    The ratio is the invoice's own (untaxed total ÷ total incl. VAT, so an invoice mixing VAT
    rates is handled), applied to the running total collected and differenced, so the rounding of
    successive partial payments telescopes: payments that settle the whole invoice add up to its
    untaxed total to the cent.
    """
    if total <= 0:
        return ZERO
    after = round_money((collected_before + amount) * total_untaxed / total)
    before = round_money(collected_before * total_untaxed / total)
    return after - before


def bands(rate: Decimal, tiers: list[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal | None, Decimal]]:
    """``[(from, to or None, rate)]``: the plan's rate from 0, each tier's rate from its threshold up."""
    points = [(ZERO, rate)] + sorted((Decimal(t), Decimal(r)) for t, r in tiers)
    return [(start, points[i + 1][0] if i + 1 < len(points) else None, band_rate)
            for i, (start, band_rate) in enumerate(points)]


def split(already: Decimal, base: Decimal, rate: Decimal,
          tiers: list[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    """Cut ``base`` at the tier thresholds: ``[(portion, rate)]`` with portions adding up to ``base``.

    Marginal tiers (as income tax brackets): with 5 % up to 10,000 and 7 % above, a salesperson
    who has collected 9,000 this period and now collects 3,000 earns 5 % on 1,000 and 7 % on
    2,000. Only the euros above a threshold earn the higher rate, never the ones before it.
    ``already`` is what the salesperson collected (untaxed) earlier in the tier period.
    """
    start, end = already, already + base
    parts = []
    for low, high, band_rate in bands(rate, tiers):
        portion = (end if high is None else min(end, high)) - max(start, low)
        if portion > 0:
            parts.append((portion, band_rate))
    return parts


def commission(portion: Decimal, rate: Decimal) -> Decimal:
    """``portion × rate %``, rounded half up to the cent (once per ledger row)."""
    return round_money(portion * rate / HUNDRED)


def spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` shared in proportion to ``weights`` to the cent; the last share absorbs the rounding."""
    whole = sum(weights, ZERO)
    if whole == 0:
        return [ZERO for _ in weights]
    shares = [round_money(total * weight / whole) for weight in weights[:-1]]
    return shares + [total - sum(shares, ZERO)]


def refunded(credited: Decimal, open_before: Decimal) -> Decimal:
    """What a credit note gives back of money already collected (VAT included).

    Billing applies a credit note to what is still open on its invoice first; only the excess
    (the invoice was paid, in whole or in part) is money the customer gets back or keeps as credit.
    A credit note cancelling the unpaid rest of an invoice takes no commission back.
    """
    return max(ZERO, credited - max(ZERO, open_before))


def reversal_share(given_back: Decimal, collected: Decimal) -> Decimal:
    """The fraction of an invoice's commission a credit note takes back: given back ÷ collected, at most 1."""
    if collected <= 0 or given_back <= 0:
        return Decimal(0)
    return min(Decimal(1), given_back / collected)


def tier_period(day: dt.date, kind: str) -> tuple[dt.date, dt.date]:
    """The calendar month or quarter holding ``day``: what tier thresholds count collections over."""
    first_month = day.month if kind == "month" else 3 * ((day.month - 1) // 3) + 1
    last_month = first_month if kind == "month" else first_month + 2
    return (dt.date(day.year, first_month, 1),
            dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]))
