"""Exact column types: money, unit prices, quantities and rates never touch a float.

Values are :class:`~decimal.Decimal` in Python and scaled integers in the database (cents for
money), which SQLite and PostgreSQL both store and add up exactly, so ``SUM`` in a report is exact
on either database. A value with more decimals than the column keeps is refused, never rounded
behind the caller's back: rounding is a business rule and belongs to the service that applies it.
"""

from __future__ import annotations

from decimal import Decimal, ROUND_HALF_UP
from typing import Annotated

from sqlalchemy import BigInteger
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    """Round an amount to the cent, half away from zero (the commercial rule used on invoices)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class ScaledDecimal(TypeDecorator):
    """A Decimal stored as an integer count of 10**-scale units."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float) or isinstance(value, bool):
            raise TypeError(f"exact decimal expected, got {type(value).__name__} {value!r}")
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        if abs(value) >= Decimal(2**63).scaleb(-self.scale):  # beyond BIGINT (and quantize's precision)
            raise ValueError(f"{value} is too large for this column")
        exact = value.quantize(self._quantum)
        if exact != value:
            raise ValueError(f"{value} has more than {self.scale} decimals")
        return int(exact.scaleb(self.scale))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale).quantize(self._quantum)

    def coerce_compared_value(self, op, value):
        return self

    def __repr__(self) -> str:  # how Alembic writes the type into a migration
        return f"ScaledDecimal({self.scale})"


#: An amount in the company currency, to the cent.
Money = Annotated[Decimal, mapped_column(ScaledDecimal(2))]
#: A unit price, to 1/10,000 of the currency unit (catalogue prices such as 0.1234 €).
UnitPrice = Annotated[Decimal, mapped_column(ScaledDecimal(4))]
#: A quantity of a product, to the thousandth (kilograms, metres, hours).
Quantity = Annotated[Decimal, mapped_column(ScaledDecimal(3))]
#: A percentage such as a VAT rate (5.5) or a discount (12.5), to the hundredth.
Percent = Annotated[Decimal, mapped_column(ScaledDecimal(2))]
