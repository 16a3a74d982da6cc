"""Property tests of the bank import (issue 15): any statement imported twice gives the same payments
as imported once, and what is imported always adds up to the file's credits, whatever the lines
(identical ones included), the format (CSV or camt.053 001.02/001.08) and the invoices they name."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.billing.camt_writer import camt053

pytestmark = pytest.mark.modules("billing")
TODAY = dt.date(2026, 3, 31)
NAMES = ("Alpha SARL", "Beta SA", "Gamma SAS")


@pytest.fixture
def ledger(books):
    """Three customers with three invoices each (120.00), to be named or not by the lines."""
    customers = [books.customer(name) for name in NAMES]
    numbers = [books.confirm(f"2026-01-{day:02d}", customer) for day in (5, 6, 7) for customer in customers]
    return books, numbers


line = st.fixed_dictionaries({
    "cents": st.integers(min_value=1, max_value=50_000),
    "day": st.integers(min_value=1, max_value=28),
    "customer": st.sampled_from(NAMES),
    "invoice": st.one_of(st.none(), st.integers(min_value=0, max_value=8)),
    "bank_reference": st.booleans(),
    "debit": st.booleans(),
})
statements = st.lists(line, min_size=1, max_size=12).flatmap(
    # some lines repeated as they are: two identical payments the same day
    lambda lines: st.lists(st.sampled_from(lines), max_size=3).map(lambda again: lines + again))


def _write(tmp_path, lines, numbers, fmt: str) -> tuple:
    """The statement file and the sum of its credits."""
    tag = uuid.uuid4().hex[:10]
    total = sum(Decimal(l["cents"]) / 100 for l in lines if fmt == "csv" or not l["debit"])
    if fmt == "csv":  # a file is identified by its content: the same bytes are the same file, imported once
        rows = [f"date;amount;customer;reference;method\n2026-03-01;0.01;{NAMES[0]};{tag};cash"]
        total += Decimal("0.01")
        for l in lines:
            reference = f"VIR {numbers[l['invoice']]}" if l["invoice"] is not None else "VIR"
            rows.append(f"2026-03-{l['day']:02d};{Decimal(l['cents']) / 100:.2f};{l['customer']};{reference};transfer")
        path = tmp_path / f"{tag}.csv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return path, total
    entries = []
    for index, l in enumerate(lines):
        entries.append({"amount": f"{Decimal(l['cents']) / 100:.2f}", "date": f"2026-03-{l['day']:02d}",
                        "name": l["customer"].upper(), "direction": "debit" if l["debit"] else "credit",
                        "ref": f"{tag}-{index}" if l["bank_reference"] else None,
                        "text": f"FACTURE {numbers[l['invoice']]}" if l["invoice"] is not None else None})
    path = tmp_path / f"{tag}.xml"
    path.write_bytes(camt053(entries, version=fmt[-2:], statement_id=tag))
    return path, total


def _payments(books, statement: int) -> list:
    return books.sql("SELECT p.id, p.partner_id, p.amount, p.payment_date FROM billing_payment p "
                     "JOIN billing_bank_line l ON l.id = p.bank_line_id WHERE l.statement_id = :s ORDER BY p.id",
                     s=statement)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=statements, fmt=st.sampled_from(["csv", "camt02", "camt08"]))
def test_property_a_statement_imported_twice_is_imported_once_and_adds_up(ledger, tmp_path, lines, fmt):
    from plugins.billing.services_bank import import_bank_file

    books, numbers = ledger
    app = books.app(TODAY)
    path, total = _write(tmp_path, lines, numbers, fmt)
    before = books.sql("SELECT COUNT(*) FROM billing_payment")[0][0]
    first = import_bank_file(app, path)
    credits = [l for l in lines if not l["debit"]] if fmt != "csv" else [None, *lines]
    # no line lost, none merged: one payment per credit line, identical ones included
    assert first.payments == len(credits) == len(_payments(books, first.statement_id))
    assert Decimal(first.amount) == total
    assert sum(Decimal(a) / 100 for _, _, a, _ in _payments(books, first.statement_id)) == total
    second = import_bank_file(app, path)
    assert (second.payments, second.new, second.lines) == (0, 0, first.lines)
    assert books.sql("SELECT COUNT(*) FROM billing_payment")[0][0] == before + len(credits)
    # every cent explained: allocated + left as credit = received, and no invoice settled beyond its total
    assert books.sql("SELECT COUNT(*) FROM billing_invoice WHERE residual < 0 OR settled > total") == [(0,)]
    allocated = books.sql("SELECT COALESCE(SUM(a.amount), 0) FROM billing_allocation a "
                          "JOIN billing_payment p ON p.id = a.payment_id JOIN billing_bank_line l "
                          "ON l.id = p.bank_line_id WHERE l.statement_id = :s",
                          s=first.statement_id)[0][0]
    left = books.sql("SELECT COALESCE(SUM(p.unallocated), 0) FROM billing_payment p "
                     "JOIN billing_bank_line l ON l.id = p.bank_line_id WHERE l.statement_id = :s",
                     s=first.statement_id)[0][0]
    assert Decimal(allocated + left) / 100 == total
