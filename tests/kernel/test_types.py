"""Exact money: Decimals stored as scaled integers, refused rather than rounded, exact SUM in SQL."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import StatementError
from sqlalchemy.dialects import postgresql, sqlite

from core.types import CENT, ScaledDecimal, round_money

MONEY = ScaledDecimal(2)
QUANTITY = ScaledDecimal(3)
PRICE = ScaledDecimal(4)
DIALECTS = [sqlite.dialect(), postgresql.dialect()]
LIMIT = Decimal(10) ** 12


def bind(kind, value):
    return kind.process_bind_param(value, DIALECTS[0])


def result(kind, value):
    return kind.process_result_value(value, DIALECTS[0])


# --- pure ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, stored", [
    (Decimal("12.50"), 1250), (Decimal("12.5"), 1250), (Decimal("0.01"), 1), (Decimal("-0.01"), -1),
    (Decimal("0"), 0), (7, 700), ("3.10", 310), (Decimal("1E+2"), 10000),
    (Decimal("999999999999.99"), 99999999999999), (Decimal("-999999999999.99"), -99999999999999),
])
def test_money_is_stored_in_cents(value, stored):
    assert bind(MONEY, value) == stored
    assert isinstance(bind(MONEY, value), int)


@pytest.mark.parametrize("stored, value", [(1250, "12.50"), (-1, "-0.01"), (0, "0.00"), (10**15, "10000000000000.00")])
def test_money_reads_back_as_a_decimal_with_two_places(stored, value):
    out = result(MONEY, stored)
    assert isinstance(out, Decimal) and str(out) == value


def test_none_passes_through():
    assert bind(MONEY, None) is None and result(MONEY, None) is None


@pytest.mark.parametrize("value", [0.1, 12.5, 1.0, True])
def test_floats_are_refused(value):
    with pytest.raises(TypeError, match="exact decimal expected"):
        bind(MONEY, value)


@pytest.mark.parametrize("kind, value", [(MONEY, Decimal("0.001")), (MONEY, Decimal("12.345")),
                                         (MONEY, Decimal("-0.005")), (QUANTITY, Decimal("1.0001")),
                                         (PRICE, Decimal("0.12345"))])
def test_more_decimals_than_the_scale_are_refused_not_rounded(kind, value):
    with pytest.raises(ValueError, match=f"more than {kind.scale} decimals"):
        bind(kind, value)


def test_trailing_zeros_beyond_the_scale_are_fine():
    assert bind(MONEY, Decimal("12.5000000")) == 1250
    assert bind(PRICE, Decimal("0.1234")) == 1234


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_refused(value):
    with pytest.raises(ValueError, match="not a finite number"):
        bind(MONEY, value)


def test_repr_is_what_alembic_writes():
    assert repr(ScaledDecimal(4)) == "ScaledDecimal(4)"


@pytest.mark.parametrize("value, rounded", [
    ("2.675", "2.68"), ("-2.675", "-2.68"), ("2.665", "2.67"), ("2.674999", "2.67"), ("0.005", "0.01"),
    ("-0.005", "-0.01"), ("0.004", "0.00"), ("1.10", "1.10"), ("12", "12.00"),
])
def test_round_money_half_away_from_zero(value, rounded):
    out = round_money(Decimal(value))
    assert str(out) == rounded and out.as_tuple().exponent == -2


def test_round_money_of_binary_unfriendly_value():
    # 1.005 is 1.00499999... as a float: a Decimal from text must still round up
    assert round_money(Decimal("1.005")) == Decimal("1.01")


amounts = st.decimals(min_value=-LIMIT, max_value=LIMIT, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(amounts)
def test_property_money_round_trips_exactly(value):
    for dialect in DIALECTS:
        stored = MONEY.process_bind_param(value, dialect)
        assert isinstance(stored, int)
        back = MONEY.process_result_value(stored, dialect)
        assert back == value and back.as_tuple().exponent == -2


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-LIMIT, max_value=LIMIT, places=4, allow_nan=False, allow_infinity=False))
def test_property_money_refuses_or_keeps_exactly(value):
    if value == value.quantize(CENT):
        assert result(MONEY, bind(MONEY, value)) == value
    else:
        with pytest.raises(ValueError):
            bind(MONEY, value)


# --- database round trip (SQLite and PostgreSQL) -------------------------------------------------

@pytest.fixture
def amounts_table(app):
    metadata = MetaData()
    table = Table("test_types_amounts", metadata, Column("id", Integer, primary_key=True),
                  Column("amount", ScaledDecimal(2)), Column("quantity", ScaledDecimal(3)))
    metadata.create_all(app.engine)
    yield table
    metadata.drop_all(app.engine)


VALUES = [Decimal("0.01"), Decimal("-0.01"), Decimal("12.50"), Decimal("-2.68"), Decimal("999999999999.99"),
          Decimal("-999999999999.99"), Decimal("0")]


def test_database_round_trip_is_exact(app, amounts_table):
    with app.engine.begin() as connection:
        connection.execute(insert(amounts_table), [{"amount": v, "quantity": Decimal("1.001")} for v in VALUES])
    with app.engine.connect() as connection:
        rows = connection.execute(select(amounts_table.c.amount, amounts_table.c.quantity)
                                  .order_by(amounts_table.c.id)).all()
        raw = connection.execute(select(amounts_table.c.amount.cast(BigInteger))
                                 .order_by(amounts_table.c.id)).scalars().all()
    assert [r.amount for r in rows] == VALUES
    assert all(isinstance(r.amount, Decimal) and isinstance(r.quantity, Decimal) for r in rows)
    assert {r.quantity for r in rows} == {Decimal("1.001")}
    assert raw[:3] == [1, -1, 1250]  # stored as integer cents


def test_statements_convert_and_refuse_as_the_type_does(app, amounts_table):
    """The processors a statement uses are the type's own rule: exact decimals back, each with the
    column's scale, and a float or a value with too many decimals refused before the database."""
    with app.engine.begin() as connection:
        connection.execute(insert(amounts_table), [{"amount": Decimal("3"), "quantity": 2}])
    with app.engine.connect() as connection:
        amount, quantity = connection.execute(select(amounts_table.c.amount, amounts_table.c.quantity)).one()
    assert (str(amount), str(quantity)) == ("3.00", "2.000")
    for bad, error in ((1.5, "exact decimal expected"), (Decimal("1.005"), "more than 2 decimals"),
                       (Decimal("Infinity"), "not a finite number")):
        with pytest.raises(StatementError, match=error), app.engine.begin() as connection:
            connection.execute(insert(amounts_table), [{"amount": bad}])
    with app.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(amounts_table)).scalar() == 1


def test_sum_in_sql_is_exact(app, amounts_table):
    with app.engine.begin() as connection:
        connection.execute(insert(amounts_table), [{"amount": Decimal("0.10")} for _ in range(10)])
        connection.execute(insert(amounts_table), [{"amount": Decimal("0.01")} for _ in range(3)])
    with app.engine.connect() as connection:
        total = connection.execute(select(func.sum(amounts_table.c.amount))).scalar()
        raw = connection.execute(select(func.sum(amounts_table.c.amount.cast(BigInteger)))).scalar()
    assert int(raw) == 103
    assert total == Decimal("1.03") and isinstance(total, Decimal)


def test_comparison_binds_through_the_type(app, amounts_table):
    with app.engine.begin() as connection:
        connection.execute(insert(amounts_table), [{"amount": v} for v in VALUES])
    with app.engine.connect() as connection:
        found = connection.execute(select(amounts_table.c.amount)
                                   .where(amounts_table.c.amount > Decimal("12.49"))
                                   .order_by(amounts_table.c.amount)).scalars().all()
    assert found == [Decimal("12.50"), Decimal("999999999999.99")]


def test_refused_value_writes_nothing(app, amounts_table):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError):
        with app.engine.begin() as connection:
            connection.execute(insert(amounts_table), [{"amount": Decimal("1.00")}])
            connection.execute(insert(amounts_table), [{"amount": Decimal("1.005")}])
    with app.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(amounts_table)).scalar() == 0


def test_order_totals_sum_exactly_in_the_kernel_tables(app, factory):
    from core.models import SalesOrder

    product = factory.product(list_price="0.10")
    customer = factory.partner()
    for _ in range(10):
        factory.order(customer, [{"sku": product.sku, "quantity": "1"}])
    with app.transaction() as session:
        untaxed = session.scalar(select(func.sum(SalesOrder.total_untaxed)))
        total = session.scalar(select(func.sum(SalesOrder.total)))
    # SUM over a Money column keeps the column's type: integer cents added by the database, read as Decimal
    assert untaxed == Decimal("1.00") and isinstance(untaxed, Decimal)
    assert total == Decimal("1.20")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(amounts, min_size=1, max_size=5))
def test_property_small_database_round_trip(app, amounts_table, values):
    with app.engine.begin() as connection:
        connection.execute(amounts_table.delete())
        connection.execute(insert(amounts_table), [{"amount": v} for v in values])
    with app.engine.connect() as connection:
        back = connection.execute(select(amounts_table.c.amount).order_by(amounts_table.c.id)).scalars().all()
    assert back == values


@pytest.mark.parametrize("value", [Decimal("92233720368547758.08"), Decimal("-92233720368547758.09"),
                                   Decimal("1E+40"), Decimal("12345678901234567890123456789")])
def test_values_beyond_a_64_bit_integer_are_refused(value):
    with pytest.raises(ValueError, match="too large"):
        bind(MONEY, value)


def test_largest_storable_value():
    assert bind(MONEY, Decimal("92233720368547758.07")) == 2**63 - 1
    assert bind(MONEY, Decimal("-92233720368547758.07")) == -(2**63 - 1)
