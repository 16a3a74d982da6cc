"""Refunds of customer credit: money paid back out of overpayments and unused credit notes, oldest
first, never more than the credit available on the refund's date; every cent stays explained
(payment = allocations + refunds + credit left). Through the CLI on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.modules("billing")


@pytest.fixture
def durand(books, crm):
    """Durand overpaid twice: 80.00 of credit on 10 January, 30.00 more on 20 January; Martin owes."""
    ids = {name: books.customer(name) for name in ("Durand", "Martin")}
    books.confirm("2026-01-05", ids["Martin"])
    mine = books.confirm("2026-01-05", ids["Durand"])  # 120.00
    crm.today = dt.date(2026, 1, 10)
    crm("payment", "add", "--amount", "200", "--invoice", mine)
    crm.today = dt.date(2026, 1, 20)
    crm("payment", "add", "--amount", "30", "--customer", "Durand", "--reference", "VIR DOUBLON")
    return ids


def test_refunding_more_than_the_credit_is_refused_and_nothing_is_written(durand, crm):
    crm.today = dt.date(2026, 2, 1)
    refused = crm("payment", "refund", "Durand", "110.01", expect=1)
    assert refused.stderr.strip().splitlines() == [
        "error: refund to Durand: amount: 110.01 asked, Durand has only 110.00 of credit available on 2026-02-01"]
    # the 30.00 of 20 January does not exist yet on 15 January
    early = crm("payment", "refund", "Durand", "90", "--date", "2026-01-15", expect=1)
    assert "Durand has only 80.00 of credit available on 2026-01-15" in early.stderr
    nobody = crm("payment", "refund", str(durand["Martin"]), "1", expect=1)
    assert "Martin has only 0.00 of credit available" in nobody.stderr
    assert "must be positive" in crm("payment", "refund", "Durand", "0", expect=1).stderr
    assert [r["kind"] for r in crm("payment", "list", "--json").json] == ["payment", "payment"]
    assert crm("payment", "credit", "--customer", "Durand", "--json").json[0]["available"] == "110.00"


def test_a_refund_draws_on_the_oldest_credit_first(durand, books, crm):
    crm.today = dt.date(2026, 2, 1)
    done = crm("payment", "refund", "Durand", "100.00", "--reference", "VIR REMB 1", "--json").json
    payments = {p["reference"]: p for p in crm("payment", "list", "--customer", "Durand", "--json").json
                if p["kind"] == "payment"}
    overpaid, double = payments[None]["id"], payments["VIR DOUBLON"]["id"]
    assert (done["amount"], done["date"], done["method"], done["reference"], done["credit_left"]) == (
        "100.00", "2026-02-01", "transfer", "VIR REMB 1", "10.00")
    assert done["sources"] == [{"payment": overpaid, "credit_note": None, "amount": "80.00"},
                               {"payment": double, "credit_note": None, "amount": "20.00"}]
    listed = crm("payment", "list", "--json").json
    assert [(r["kind"], r["date"], r["amount"]) for r in listed] == [
        ("refund", "2026-02-01", "100.00"), ("payment", "2026-01-20", "30.00"), ("payment", "2026-01-10", "200.00")]
    assert [(r["unallocated"], r["refunded"]) for r in listed[1:]] == [("10.00", "20.00"), ("0.00", "80.00")]
    text = crm("payment", "list").stdout
    assert "refund" in text and "-100.00" in text
    assert crm("payment", "credit", "--json").json == [
        {"customer": "Durand", "customer_id": durand["Durand"], "payments": "10.00", "credit_notes": "0.00",
         "refunded": "100.00", "available": "10.00"}]
    # the rest, then nothing more
    last = crm("payment", "refund", "Durand", "10", "--method", "cheque").stdout
    assert last.startswith("refund ") and "credit left 0.00" in last
    assert "has only 0.00 of credit available" in crm("payment", "refund", "Durand", "0.01", expect=1).stderr
    assert "nothing left to allocate" in crm("payment", "allocate", str(double), expect=1).stderr
    # every cent of each payment is explained: allocations + refunds + credit left
    assert books.sql("""
        SELECT p.id FROM billing_payment p
        WHERE p.amount <> p.unallocated
            + COALESCE((SELECT SUM(a.amount) FROM billing_allocation a WHERE a.payment_id = p.id), 0)
            + COALESCE((SELECT SUM(s.amount) FROM billing_refund_source s WHERE s.payment_id = p.id), 0)""") == []


def test_an_unused_credit_note_is_refunded_too(books, crm):
    customer = books.customer("Durand")
    number = books.confirm("2026-01-05", customer)  # 120.00
    crm.today = dt.date(2026, 1, 8)
    crm("payment", "add", "--amount", "120", "--invoice", number)
    note = crm("invoice", "credit", number, "--reason", "retour", "--json").json["number"]  # 120.00 of credit
    crm.today = dt.date(2026, 1, 9)
    crm("payment", "add", "--amount", "5", "--customer", "Durand")  # 5.00 more, newer
    done = crm("payment", "refund", "Durand", "121", "--json").json
    assert [(s["credit_note"], s["amount"]) for s in done["sources"]] == [(note, "120.00"), (None, "1.00")]
    assert done["credit_left"] == "4.00"
    shown = crm("invoice", "show", note, "--json").json
    assert (shown["settled"], shown["residual"]) == ("120.00", "0.00")
    credit = crm("payment", "credit", "--customer", "Durand", "--json").json
    assert credit == [{"customer": "Durand", "customer_id": customer, "payments": "4.00", "credit_notes": "0.00",
                       "refunded": "121.00", "available": "4.00"}]


def test_a_refund_changes_no_receivable(durand, crm):
    crm.today = dt.date(2026, 2, 1)
    before = crm("aging", "--json").json
    crm("payment", "refund", "Durand", "50")
    assert crm("aging", "--json").json == before


def test_the_list_reads_any_slice_in_the_order_of_the_whole(durand, books, crm):
    """``PaymentHistory`` (``crm payment list``, ``GET /api/v1/payments/``) reads only a slice's
    records; every slice is that slice of the whole list, the length counts both kinds."""
    from plugins.billing.payment_history import PaymentHistory

    crm.today = dt.date(2026, 2, 1)
    crm("payment", "refund", "Durand", "60.00")
    crm.today = dt.date(2026, 2, 2)
    crm("payment", "add", "--amount", "5", "--customer", "Martin")
    whole = crm("payment", "list", "--json").json
    assert [(r["kind"], r["date"]) for r in whole] == [
        ("payment", "2026-02-02"), ("refund", "2026-02-01"), ("payment", "2026-01-20"), ("payment", "2026-01-10")]
    with books.tx("2026-02-02") as session:
        history = PaymentHistory(session)
        assert len(history) == 4
        assert [history[n] for n in range(4)] == whole and history[-1] == whole[-1]
        for piece in (slice(0, 2), slice(1, 3), slice(3, 10), slice(5, 9), slice(-2, None), slice(None, None, 2)):
            assert history[piece] == whole[piece], piece
        with pytest.raises(IndexError):
            history[4]
        durands = PaymentHistory(session, "Durand")
        assert len(durands) == 3 and durands[0:3] == whole[1:]
