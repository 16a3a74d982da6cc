"""Payment terms: due dates on month edges, both readings of 45 days end of month, instalments,
the French legal maximum, the customer's default term."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from plugins.billing.services_terms import BUILT_IN, due_date_for, end_of_month, exceeds_legal_maximum, schedule

D = dt.date.fromisoformat


def due(term: str, invoice_date: str) -> str:
    (_, lines) = BUILT_IN[term]
    return schedule(Decimal("100.00"), D(invoice_date), lines)[-1][0].isoformat()


@pytest.mark.parametrize("invoice_date, expected", [
    ("2026-01-31", {"30J": "2026-03-02", "60J": "2026-04-01", "30FDM": "2026-03-31", "45FDM": "2026-03-31",
                    "FDM45": "2026-03-17", "IMMEDIATE": "2026-01-31"}),
    ("2028-01-31", {"30J": "2028-03-01", "30FDM": "2028-03-31", "45FDM": "2028-03-31", "FDM45": "2028-03-16"}),
    ("2026-02-28", {"30J": "2026-03-30", "30FDM": "2026-03-31", "45FDM": "2026-04-30", "FDM45": "2026-04-14",
                    "60J": "2026-04-29"}),
    ("2028-02-28", {"30J": "2028-03-29", "FDM45": "2028-04-14", "45FDM": "2028-04-30"}),
    ("2028-02-29", {"30J": "2028-03-30", "30FDM": "2028-03-31", "45FDM": "2028-04-30", "FDM45": "2028-04-14"}),
    ("2026-12-30", {"30J": "2027-01-29", "30FDM": "2027-01-31", "45FDM": "2027-02-28", "FDM45": "2027-02-14",
                    "60J": "2027-02-28"}),
    ("2026-12-31", {"30J": "2027-01-30", "30FDM": "2027-01-31", "45FDM": "2027-02-28", "FDM45": "2027-02-14",
                    "60J": "2027-03-01"}),
    ("2027-12-31", {"45FDM": "2028-02-29", "FDM45": "2028-02-14"}),
])
def test_due_dates_on_month_edges(invoice_date, expected):
    assert {term: due(term, invoice_date) for term in expected} == expected


def test_the_two_readings_of_45_days_end_of_month_differ_and_have_distinct_names():
    # 15 January: + 45 days = 1 March -> end of March; end of January + 45 days = 17 March
    assert due("45FDM", "2026-01-15") == "2026-03-31"
    assert due("FDM45", "2026-01-15") == "2026-03-17"
    assert BUILT_IN["45FDM"][0] != BUILT_IN["FDM45"][0]


def test_end_of_month_of_every_month_length():
    assert [end_of_month(D(f"2028-{m:02d}-15")).day for m in range(1, 13)] == [31, 29, 31, 30, 31, 30, 31, 31, 30,
                                                                              31, 30, 31]
    assert end_of_month(D("2026-02-01")) == D("2026-02-28")


def test_instalments_the_last_absorbs_the_rounding():
    lines = [(Decimal("33.33"), "days", 0), (Decimal("33.33"), "days", 30), (None, "days", 60)]
    parts = schedule(Decimal("100.01"), D("2026-01-31"), lines)
    assert [(d.isoformat(), str(a)) for d, a in parts] == [
        ("2026-01-31", "33.33"), ("2026-03-02", "33.33"), ("2026-04-01", "33.35")]
    assert sum(a for _, a in parts) == Decimal("100.01")
    half = schedule(Decimal("0.03"), D("2026-01-01"), [(Decimal("50"), "days", 30), (None, "days", 60)])
    assert [str(a) for _, a in half] == ["0.02", "0.01"]  # 0.015 rounds half up; the balance takes the rest


def test_legal_maximum():
    assert exceeds_legal_maximum([(None, "days", 60)]) is None
    assert exceeds_legal_maximum([(None, "days_end_of_month", 45)]) is None
    assert exceeds_legal_maximum([(None, "end_of_month_days", 45)]) is None
    assert exceeds_legal_maximum([(None, "days", 61)]) is not None
    assert exceeds_legal_maximum([(None, "days_end_of_month", 60)]) is not None
    assert exceeds_legal_maximum([(Decimal(50), "days", 30), (None, "days", 90)]) is not None
    assert due_date_for(D("2026-03-31"), "immediate", 0) == D("2026-03-31")


pytestmark_db = pytest.mark.modules("billing")


@pytestmark_db
def test_term_beyond_the_legal_maximum_is_refused_unless_overridden(crm):
    refused = crm("term", "create", "90J", "--instalment", "days:90", expect=1)
    assert "exceeds the French B2B legal maximum" in refused.stderr
    assert "term 90J" in refused.stderr and "--beyond-legal-maximum" in refused.stderr
    made = crm("term", "create", "90J", "--instalment", "days:90", "--beyond-legal-maximum", "--json").json
    assert made["beyond_legal_maximum"] is True
    split = crm("term", "create", "40-60", "--instalment", "40:days:30", "--instalment", "days_end_of_month:45",
                "--json").json
    assert split["description"] == "40 % 30 days, balance 45 days end of month"
    bad = crm("term", "create", "X", "--instalment", "100:days:30", "--instalment", "days:40", expect=1)
    assert "term X: lines:" in bad.stderr
    rows = crm("term", "due", "30-60", "--date", "2026-01-31", "--total", "100.01", "--json").json
    assert rows == [{"due_date": "2026-03-02", "amount": "50.01"}, {"due_date": "2026-04-01", "amount": "50.00"}]


@pytestmark_db
def test_customer_default_term_is_used_for_its_invoices(books, crm):
    with_term = books.customer("Durand", term="45FDM")
    default = books.customer("Martin")
    crm("term", "assign", "Martin", "FDM45")
    first = books.invoice(books.confirm("2026-01-15", with_term))
    second = books.invoice(books.confirm("2026-01-15", default))
    assert (first.term.code, first.due_date) == ("45FDM", D("2026-03-31"))
    assert (second.term.code, second.due_date) == ("FDM45", D("2026-03-17"))
    assert crm("term", "assign", "Martin", "NOPE", expect=1).stderr.startswith("error: term 'NOPE': no such")


@pytest.mark.parametrize("instalments, total", [
    (["60:days:30", "50:days:60"], "110"),
    (["60:days:30", "30:days:60"], "90"),
    (["50:days:30"], "50"),
    (["33.33:days:0", "33.33:days:30", "33.33:days:60"], "99.99"),
])
@pytestmark_db
def test_instalment_shares_must_add_up_to_exactly_100(crm, instalments, total):
    """110 % used to be silently reworded into a 40 % balance: now the term is refused."""
    argv = [arg for instalment in instalments for arg in ("--instalment", instalment)]
    refused = crm("term", "create", "SPLIT", *argv, expect=1)
    assert refused.stderr.strip() == (f"error: term SPLIT: lines: the instalments add up to {total} %: they must "
                                      f"add up to exactly 100 % (or leave the last share out: it takes the balance)")
    assert "SPLIT" not in crm("term", "list").stdout


@pytest.mark.parametrize("instalments, shares", [
    (["60:days:30", "40:days:60"], ["60.00", "40.00"]),
    (["60:days:30", "days:60"], ["60.00", "40.00"]),
    (["100:days:30"], ["100.00"]),
    (["33.33:days:0", "33.33:days:30", "33.34:days:60"], ["33.33", "33.33", "33.34"]),
])
@pytestmark_db
def test_instalments_adding_up_to_100_or_with_a_balance_are_accepted(crm, instalments, shares):
    argv = [arg for instalment in instalments for arg in ("--instalment", instalment)]
    crm("term", "create", "SPLIT", *argv)
    due = crm("term", "due", "SPLIT", "--total", "100.00", "--json").json
    assert [row["amount"] for row in due] == shares
