"""Collection cases, rule by rule (issue 15, item 4).

An invoice confirmed on 5 January 2026 with "30 jours" (1 x P20 at 100.00 + 20 % VAT = 120.00) is
due on 4 February; the default policy reaches level 1 on 8 February, 2 on 20 February, 3 (formal
notice) on 7 March, 4 (hand-over) on 22 March. The books have two sales people (bob, alice) and
one collections user (cora).
"""

from __future__ import annotations

import datetime as dt

import pytest
from billing_support import set_billing_config

pytestmark = pytest.mark.modules("billing")


def _case(crm, number):
    return crm("collections", "show", number, "--json").json


def _kinds(case):
    return [(h["date"], h["kind"]) for h in case["history"]]


def test_the_run_opens_a_case_assigned_to_the_collections_team_with_its_history(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 8)
    listed = crm("collections", "list", "--json").json
    assert [(c["case"], c["state"], c["assignee"], c["level"], c["days_late"], c["residual"]) for c in listed] == [
        (number, "open", "cora", 1, 4, "120.00")]
    assert _kinds(_case(crm, number)) == [("2026-02-08", "opened"), ("2026-02-08", "assigned"),
                                          ("2026-02-08", "reminder_sent")]


def test_round_robin_gives_each_customer_the_next_clerk_and_keeps_a_customers_cases_together(books, crm):
    from core.services.people import create_user

    with books.tx() as session:
        create_user(session, {"login": "dan", "name": "Dan Recouvrement", "email": "dan@acme.fr",
                              "role": "collections"})
    durand, martin, petit = (books.customer(n) for n in ("Durand", "Martin", "Petit"))
    first = books.confirm("2026-01-05", durand)
    second = books.confirm("2026-01-05", martin)
    third = books.confirm("2026-01-05", petit)
    books.run("2026-02-08")
    later = books.confirm("2026-01-12", durand)  # due 11 February, reminded on the 15th
    fourth = books.confirm("2026-01-12", books.customer("Roux"))
    books.run("2026-02-15")
    crm.today = dt.date(2026, 2, 15)
    assigned = {c["case"]: c["assignee"] for c in crm("collections", "list", "--json").json}
    # cora, dan, cora in customer order on the 8th; Durand's new case stays with cora; Roux is the 4th customer
    assert assigned == {first: "cora", second: "dan", third: "cora", later: "cora", fourth: "dan"}
    mine = crm("collections", "list", "--mine", "--json", "--user", "dan").json
    assert [c["case"] for c in mine] == [second, fourth]
    assert crm("collections", "list", "--mine", "--json").json == []  # --mine alone: the operator's, none


@pytest.mark.parametrize("rule, expected", [("salesperson", "alice"), ("user:bob", "bob")])
def test_assignment_by_salesperson_or_fixed_user(workspace, books, crm, rule, expected):
    set_billing_config(workspace, f'case_assignment = "{rule}"')
    number = books.confirm("2026-01-05", books.customer("Durand", salesperson="alice"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 8)
    assert _case(crm, number)["assignee"] == expected


def test_a_bad_assignment_rule_is_refused_naming_the_key(workspace, books, crm):
    set_billing_config(workspace, 'case_assignment = "everybody"')
    books.confirm("2026-01-05", books.customer("Durand"))
    refused = crm("--today", "2026-02-08", "reminders", "run", expect=1)
    assert "billing.case_assignment" in refused.stderr


def test_assign_and_note_are_kept_in_the_history_with_who_and_when(books, crm, monkeypatch):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 9)
    assert crm("collections", "assign", number, "bob", "--user", "cora").stdout.strip() == \
        f"case {number}: open, assigned to bob"
    monkeypatch.setenv("CRM_USER", "bob")  # says nothing any more: who acts is who runs crm (issue 18)
    crm.today = dt.date(2026, 2, 10)
    crm("collections", "note", number, "Called the accountant, invoice received", "--user", "bob")
    history = _case(crm, number)["history"]
    assert history[-2:] == [
        {"date": "2026-02-09", "kind": "assigned", "user": "cora", "text": None, "assignee": "bob"},
        {"date": "2026-02-10", "kind": "note", "user": "bob", "text": "Called the accountant, invoice received"}]
    assert "no such user" in crm("collections", "assign", number, "nobody", expect=1).stderr
    shown = crm("collections", "show", number).stdout
    assert "2026-02-10  note (bob)    Called the accountant, invoice received" in shown
    assert "bob" in crm("collections", "list").stdout


def test_a_promise_suspends_escalation_until_its_date_then_a_broken_one_reopens_and_notifies(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand", salesperson="alice"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 10)
    crm("collections", "promise", number, "2026-02-25", "--user", "cora")
    assert _case(crm, number)["state"] == "promised"
    # level 2 is due from 20 February: not while the promise holds (25th included)
    for day in ("2026-02-20", "2026-02-24", "2026-02-25"):
        assert books.run(day).customers == 0, day
    report = books.run("2026-02-26")
    assert (report.promises_broken, report.sent) == (1, {2: 1})  # re-opened and reminded the same day
    crm.today = dt.date(2026, 2, 26)
    case = _case(crm, number)
    assert (case["state"], case["promise_date"]) == ("open", None)
    assert ("2026-02-26", "promise_broken") in _kinds(case)
    told = books.messages("billing:promise-broken:%")
    assert [(r, s) for r, s, _, _ in told] == [
        (["cora@acme.fr", "alice@acme.fr"], f"Promesse de paiement non tenue : facture {number} (Durand)")]
    assert "il reste 120,00" in told[0][3]
    books.run("2026-02-27")
    assert len(books.messages("billing:promise-broken:%")) == 1  # told once


def test_a_promise_kept_by_a_part_payment_resumes_reminders_for_the_rest_without_a_notice(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 10)
    crm("collections", "promise", number, "2026-02-20", "--amount", "50.00")
    assert _case(crm, number)["promise_amount"] == "50.00"
    books.pay("2026-02-18", "50.00", customer="Durand")
    report = books.run("2026-02-21")
    assert (report.promises_kept, report.promises_broken, report.sent) == (1, 0, {2: 1})
    assert books.messages("billing:promise-broken:%") == []
    crm.today = dt.date(2026, 2, 21)
    assert ("2026-02-21", "promise_kept") in _kinds(_case(crm, number))


def test_a_promise_in_the_past_or_above_what_is_open_is_refused(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 10)
    assert "before today" in crm("collections", "promise", number, "2026-02-09", expect=1).stderr
    assert "120.00 is open" in crm("collections", "promise", number, "2026-02-20", "--amount", "120.01",
                                   expect=1).stderr
    assert _case(crm, number)["state"] == "open"


def test_a_disputed_case_is_skipped_by_the_run_until_resumed(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 10)
    crm("collections", "dispute", number, "--reason", "goods damaged")
    assert [c["case"] for c in crm("collections", "list", "--state", "disputed", "--json").json] == [number]
    assert crm("collections", "list", "--state", "open", "--json").json == []
    assert books.run("2026-02-20").customers == 0
    assert crm("invoice", "show", number, "--json").json["hold"] == "disputed"  # one fact: the invoice's hold
    crm.today = dt.date(2026, 2, 22)
    crm("collections", "resume", number, "--note", "photos show no damage")
    assert books.run("2026-02-22").sent == {2: 1}


def test_payment_closes_the_case_and_the_collection_task(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    for day in ("2026-02-08", "2026-03-22"):
        books.run(day)
    assert books.sql("SELECT state, summary FROM billing_collection_task") == [("open", f"Recouvrer 120,00\xa0€ : {number}")]
    books.pay("2026-03-25", "120.00", customer="Durand")
    crm.today = dt.date(2026, 3, 25)
    case = crm("collections", "list", "--state", "closed", "--json").json[0]
    assert (case["case"], case["closed_on"], case["closed_reason"]) == (number, "2026-03-25", "paid")
    assert books.sql("SELECT state FROM billing_collection_task") == [("closed",)]
    assert _case(crm, number)["history"][-1] == {"date": "2026-03-25", "kind": "closed", "user": None,
                                                 "text": "paid in full"}


def test_a_task_stays_open_while_another_handed_over_case_of_the_customer_is_open(books):
    durand = books.customer("Durand")
    first, second = books.confirm("2026-01-05", durand), books.confirm("2026-01-05", durand)
    books.run("2026-03-22")
    books.pay("2026-03-25", "120.00", invoice=first)
    assert books.sql("SELECT state FROM billing_collection_task") == [("open",)]
    books.pay("2026-03-26", "120.00", invoice=second)
    assert books.sql("SELECT state FROM billing_collection_task") == [("closed",)]


def test_a_credit_note_closes_the_case(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 12)
    crm("invoice", "credit", number, "--reason", "returned")
    case = crm("collections", "list", "--state", "closed", "--json").json[0]
    assert (case["closed_reason"], case["state"]) == ("credited", "closed")


def test_closing_by_hand_needs_a_reason_stops_reminders_and_reopen_resumes_them(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-02-08")
    crm.today = dt.date(2026, 2, 10)
    assert crm("collections", "close", number, expect=2).exit_code == 2  # --reason is required
    crm("collections", "close", number, "--reason", "handed to the lawyer")
    assert books.run("2026-02-20").customers == 0
    assert "is closed" in crm("collections", "promise", number, "2026-02-28", expect=1).stderr
    crm.today = dt.date(2026, 2, 21)
    crm("collections", "reopen", number, "--reason", "lawyer gave it back")
    assert books.run("2026-02-21").sent == {2: 1}
    assert [k for _, k in _kinds(_case(crm, number))][-3:] == ["closed", "reopened", "reminder_sent"]


def test_a_clerk_opens_a_case_for_an_overdue_invoice_not_reminded_yet_but_not_before_due(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    crm.today = dt.date(2026, 2, 4)
    assert "not overdue" in crm("collections", "note", number, "called", expect=1).stderr
    crm.today = dt.date(2026, 2, 5)
    crm("collections", "note", number, "called, will pay", "--user", "cora")
    case = _case(crm, number)
    assert (case["state"], case["level"], case["assignee"]) == ("open", 0, "cora")
    assert [(h["kind"], h["user"]) for h in case["history"]] == [("opened", "cora"), ("assigned", None),
                                                                 ("note", "cora")]
    assert books.run("2026-02-08").sent == {1: 1}  # the reminder run goes on with the same case
    assert "no such invoice" in crm("collections", "show", "F2026-999999", expect=1).stderr
