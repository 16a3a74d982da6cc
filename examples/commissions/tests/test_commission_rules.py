"""The arithmetic of commissions, rule by rule and edge by edge (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from entonnoir_commissions import rules

TIERS = [(D("10000"), D("7"))]  # 5 % up to 10,000, 7 % above


def test_untaxed_share_of_a_payment_uses_the_invoices_own_ratio():
    # 1,200.00 incl. 20 % VAT: 1,000.00 untaxed; half of it paid is 500.00 untaxed
    assert rules.untaxed_share(D("0"), D("600.00"), D("1000.00"), D("1200.00")) == D("500.00")
    # mixed rates: 100 at 20 % + 100 at 5.5 % = 200.00 untaxed, 225.50 incl. VAT
    assert rules.untaxed_share(D("0"), D("225.50"), D("200.00"), D("225.50")) == D("200.00")


def test_partial_payments_add_up_to_the_untaxed_total_to_the_cent():
    # 100.00 incl. VAT (83.33 untaxed) paid in three thirds: rounding each third alone would give
    # 27.77 + 27.77 + 27.78 = 83.32; rounding the running total gives 27.77, 55.55 - 27.77, 83.33 - 55.55
    shares, before = [], D("0")
    for amount in (D("33.33"), D("33.33"), D("33.34")):
        shares.append(rules.untaxed_share(before, amount, D("83.33"), D("100.00")))
        before += amount
    assert shares == [D("27.77"), D("27.78"), D("27.78")] and sum(shares) == D("83.33")


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=8),
       st.sampled_from([D("20"), D("10"), D("5.5"), D("2.1"), D("0")]))
def test_any_split_of_a_payment_in_full_gives_the_untaxed_total(cents, vat):
    amounts = [D(c).scaleb(-2) for c in cents]
    total = sum(amounts)
    untaxed = (total / (1 + vat / 100)).quantize(D("0.01"))
    before, base = D("0"), D("0")
    for amount in amounts:
        base += rules.untaxed_share(before, amount, untaxed, total)
        before += amount
    assert base == untaxed


def test_marginal_tiers_pay_the_higher_rate_only_above_the_threshold():
    assert rules.split(D("0"), D("4000"), D("5"), TIERS) == [(D("4000"), D("5"))]
    # 9,000 already collected this month, 3,000 more: 1,000 at 5 %, 2,000 at 7 %
    assert rules.split(D("9000"), D("3000"), D("5"), TIERS) == [(D("1000"), D("5")), (D("2000"), D("7"))]
    # the threshold itself: the first 10,000 are at 5 %, the next euro at 7 %
    assert rules.split(D("6000"), D("4000"), D("5"), TIERS) == [(D("4000"), D("5"))]
    assert rules.split(D("10000"), D("1"), D("5"), TIERS) == [(D("1"), D("7"))]
    # three bands crossed by one payment
    tiers = [(D("20000"), D("9")), (D("10000"), D("7"))]
    assert rules.split(D("5000"), D("20000"), D("5"), tiers) == [
        (D("5000"), D("5")), (D("10000"), D("7")), (D("5000"), D("9"))]


@given(st.integers(min_value=0, max_value=10**8), st.integers(min_value=1, max_value=10**8))
def test_tier_portions_always_add_up_to_the_base(already, base):
    already, base = D(already).scaleb(-2), D(base).scaleb(-2)
    parts = rules.split(already, base, D("5"), [(D("10000"), D("7")), (D("50000"), D("10"))])
    assert sum(portion for portion, _ in parts) == base
    assert all(portion > 0 for portion, _ in parts)


def test_commission_is_rounded_half_up_to_the_cent():
    assert rules.commission(D("1000.00"), D("5")) == D("50.00")
    assert rules.commission(D("0.10"), D("5")) == D("0.01")  # 0.005 -> 0.01
    assert rules.commission(D("0.09"), D("5")) == D("0.00")  # 0.0045 -> 0.00


def test_spread_keeps_the_total_and_the_last_share_absorbs_the_rounding():
    assert rules.spread(D("100.00"), [D("1"), D("1"), D("1")]) == [D("33.33"), D("33.33"), D("33.34")]
    assert rules.spread(D("1200.00"), [D("1000")]) == [D("1200.00")]


def test_a_credit_note_gives_back_only_what_exceeds_the_open_amount():
    assert rules.refunded(D("600.00"), D("600.00")) == D("0.00")     # cancels the unpaid rest
    assert rules.refunded(D("1200.00"), D("600.00")) == D("600.00")  # half of it was paid
    assert rules.refunded(D("2400.00"), D("0.00")) == D("2400.00")   # paid in full
    assert rules.reversal_share(D("600.00"), D("600.00")) == 1
    assert rules.reversal_share(D("2400.00"), D("7200.00")) == D(1) / D(3)
    assert rules.reversal_share(D("900.00"), D("600.00")) == 1       # never more than all of it
    assert rules.reversal_share(D("100.00"), D("0.00")) == 0


def test_tier_periods_are_calendar_months_and_quarters():
    assert rules.tier_period(dt.date(2028, 2, 29), "month") == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert rules.tier_period(dt.date(2026, 11, 30), "quarter") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert rules.tier_period(dt.date(2027, 1, 1), "quarter") == (dt.date(2027, 1, 1), dt.date(2027, 3, 31))
