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
        self._to_units, self._from_units = _converters(scale)

    def process_bind_param(self, value, dialect):
        return self._to_units(value)

    def process_result_value(self, value, dialect):
        return self._from_units(value)

    # the converters themselves, without TypeDecorator's wrapper around the two methods above
    # (a 100,000-line bank import reads 600,000 amounts)
    def bind_processor(self, dialect):
        if self.impl_instance.dialect_impl(dialect).bind_processor(dialect) is not None:
            return super().bind_processor(dialect)  # a driver that converts integers itself
        return self._to_units

    def result_processor(self, dialect, coltype):
        if self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype) is not None:
            return super().result_processor(dialect, coltype)
        return self._from_units

    def coerce_compared_value(self, op, value):
        return self

    def __repr__(self) -> str:  # how Alembic writes the type into a migration
        return f"ScaledDecimal({self.scale})"


def _converters(scale: int):
    """``(to_units, from_units)``: a Decimal to its integer count of 10**-scale units (refusing a
    float, a value with more decimals, or one beyond BIGINT) and back (exactly ``scale`` decimals)."""
    quantum, limit = Decimal(1).scaleb(-scale), Decimal(2**63).scaleb(-scale)

    def to_units(value):
        if value is None:
            return None
        if type(value) is not Decimal:
            if isinstance(value, float) or isinstance(value, bool):
                raise TypeError(f"exact decimal expected, got {type(value).__name__} {value!r}")
            value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        if abs(value) >= limit:  # beyond BIGINT (and quantize's precision)
            raise ValueError(f"{value} is too large for this column")
        exact = value.quantize(quantum)
        if exact != value:
            raise ValueError(f"{value} has more than {scale} decimals")
        return int(exact.scaleb(scale))

    def from_units(value):  # an integer's exponent is 0: scaled, it has exactly ``scale`` decimals
        return None if value is None else Decimal(int(value)).scaleb(-scale)

    return to_units, from_units


#: An amount in the company currency, to the cent.
Money = Annotated[Decimal, mapped_column(ScaledDecimal(2))]
#: A unit price, to 1/10,000 of the currency unit (catalogue prices such as 0.1234 €).
UnitPrice = Annotated[Decimal, mapped_column(ScaledDecimal(4))]
#: A quantity of a product, to the thousandth (kilograms, metres, hours).
Quantity = Annotated[Decimal, mapped_column(ScaledDecimal(3))]
#: A percentage such as a VAT rate (5.5) or a discount (12.5), to the hundredth.
Percent = Annotated[Decimal, mapped_column(ScaledDecimal(2))]
