"""Penalty invoices (issue 15, item 5): amounts by hand, the PEN series, never twice for a period.

The rate of 2026 (both halves) is max(ECB 2.15 + 10, 3 x legal 2.76 = 8.28) = 12.15 % a year.
Durand's invoice F2026-000001 (120.00, "30 jours") is due on 4 February 2026; the formal notice
(level 3) goes out on 7 March, 31 days late (24 days of February after the 4th + 7 of March).
"""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.modules("billing")


def _to_formal_notice(books, customer="Durand", kind="company", **values):
    number = books.confirm("2026-01-05", books.customer(customer, kind=kind, **values))
    for day in ("2026-02-08", "2026-02-20", "2026-03-07"):
        books.run(day)
    return number


def test_penalties_before_the_formal_notice_are_refused(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-20")  # level 2 only
    refused = crm("--today", "2026-02-21", "invoice", "penalties", number, expect=1)
    assert f"invoice {number}: its collection case has not reached the formal notice (level 3; reached: 2)" \
        in refused.stderr
    assert books.sql("SELECT COUNT(*) FROM billing_invoice WHERE number LIKE 'PEN%'") == [(0,)]


def test_interest_and_indemnity_invoiced_as_the_formal_notice_claimed_then_only_what_accrued_since(books, crm):
    number = _to_formal_notice(books)
    crm.today = dt.date(2026, 3, 7)
    first = crm("invoice", "penalties", number, "--json").json
    # 120.00 x 12.15 x 31 / 36,500 = 45,198 / 36,500 = 1.2383 -> 1.24; + 40.00 indemnity (a company)
    assert {k: first[k] for k in ("number", "interest_from", "interest_to", "days", "interest", "indemnity",
                                  "total", "due_date")} == {
        "number": "PEN2026-000001", "interest_from": "2026-02-04", "interest_to": "2026-03-07", "days": 31,
        "interest": "1.24", "indemnity": "40.00", "total": "41.24", "due_date": "2026-03-07"}
    # the same figure the formal notice claimed that day (the run's computation, not a second one)
    assert books.sql("SELECT interest, indemnity FROM billing_reminder WHERE level = 3") == [(124, 4000)]
    shown = crm("invoice", "show", "PEN2026-000001", "--json").json
    assert (shown["total_tax"], shown["total"], shown["state"]) == ("0.00", "41.24", "posted")
    assert shown["note"] == ("Pénalités de retard et indemnité forfaitaire pour frais de recouvrement "
                             "(art. L441-10 du Code de commerce), non soumises à la TVA")
    assert [(l["description"], l["vat_rate"]) for l in shown["lines"]] == [
        (f"Intérêts de retard, facture {number}, du 2026-02-04 au 2026-03-07 (31 jours)", "0.00"),
        (f"Indemnité forfaitaire pour frais de recouvrement, facture {number}", "0.00")]
    # the same day again: nothing accrued since, nothing written, no number taken
    again = crm("invoice", "penalties", number, expect=1)
    assert f"invoice {number}: no penalty accrued since 2026-03-07" in again.stderr
    # paid in two halves: 60.00 on 17 March, 60.00 on 27 March; interest stops on the 27th
    books.pay("2026-03-17", "60.00", invoice=number)
    books.pay("2026-03-27", "60.00", invoice=number)
    crm.today = dt.date(2026, 4, 2)
    second = crm("invoice", "penalties", number, "--json").json
    # (7 -> 17 March] 120.00 x 12.15 x 10 = 14,580; (17 -> 27 March] 60.00 x 12.15 x 10 = 7,290;
    # 21,870 / 36,500 = 0.5992 -> 0.60; the indemnity was invoiced already
    assert {k: second[k] for k in ("number", "interest_from", "interest_to", "interest", "indemnity", "total")} == {
        "number": "PEN2026-000002", "interest_from": "2026-03-07", "interest_to": "2026-03-27", "interest": "0.60",
        "indemnity": "0.00", "total": "0.60"}
    assert "no penalty accrued since 2026-03-27" in crm("invoice", "penalties", number, expect=1).stderr
    # the ordinary series goes on without a gap
    assert books.sql("SELECT series, last_value FROM billing_sequence ORDER BY series") == [
        ("F2026", 1), ("PEN2026", 2)]


def test_no_indemnity_for_a_consumer_and_no_penalty_on_a_penalty_invoice(books, crm):
    number = _to_formal_notice(books, "Jean Dupont", kind="person")
    crm.today = dt.date(2026, 3, 7)
    data = crm("invoice", "penalties", number, "--json").json
    assert (data["interest"], data["indemnity"], data["total"]) == ("1.24", "0.00", "1.24")
    refused = crm("invoice", "penalties", data["number"], expect=1)
    assert "is a penalty invoice" in refused.stderr


def test_interest_per_instalment_equals_the_formal_notice_of_an_invoice_paid_in_instalments(books, crm):
    # 240.00 with "30-60": 120.00 due 4 February, 120.00 due 6 March; formal notice for the first on 7 March
    number = books.confirm("2026-01-05", books.customer("Durand", term="30-60"), lines=(("P20", "2", "100"),))
    for day in ("2026-02-08", "2026-02-20", "2026-03-07"):
        books.run(day)
    crm.today = dt.date(2026, 3, 7)
    data = crm("invoice", "penalties", number, "--json").json
    # 120.00 x 12.15 x 31 = 45,198 (first) + 120.00 x 12.15 x 1 = 1,458 (second, 1 day late) = 46,656
    # / 36,500 = 1.2782 -> 1.28
    assert data["interest"] == "1.28"
    assert books.sql("SELECT interest FROM billing_reminder WHERE level = 3") == [(128,)]


def test_two_customers_penalty_invoices_share_one_gapless_series(books, crm):
    first = _to_formal_notice(books, "Durand")
    second = books.confirm("2026-01-05", books.customer("Martin"))
    books.run("2026-03-07")
    crm.today = dt.date(2026, 3, 9)
    numbers = [crm("invoice", "penalties", ref, "--json").json["number"] for ref in (second, first)]
    assert numbers == ["PEN2026-000001", "PEN2026-000002"]
