"""Two months replayed day by day with ``--today``, on SQLite and PostgreSQL.

Invoices come from confirmed orders ("30 jours": confirmed 5 January, due 4 February). The daily
job runs every day except a ten-day outage (10-19 February). Payments arrive full, partial, and
after reminders; the reminders go out on the right days to the right people; aging is checked
against figures computed by hand.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

pytestmark = pytest.mark.modules("billing")

START, END = dt.date(2026, 1, 5), dt.date(2026, 3, 7)
OUTAGE = {dt.date(2026, 2, 10) + dt.timedelta(days=n) for n in range(10)}


def test_two_months_of_billing_and_reminders(books, crm):
    for name, kind, owner in (("Durand", "company", "bob"), ("Martin", "company", "alice"),
                              ("Petit", "company", "bob"), ("Jean Dupont", "person", "bob")):
        books.customer(name, kind=kind, salesperson=owner)
    orders = {  # day -> [(customer, quantity of P20 at 100.00 + 20 % VAT)]
        "2026-01-05": [("Durand", 1), ("Martin", 1), ("Petit", 3), ("Jean Dupont", 1)],
        "2026-01-12": [("Durand", 2)],
        "2026-03-01": [("Martin", 1)],
    }
    payments = {  # day -> [(customer, amount, reference)]
        "2026-02-06": [("Martin", "120.00", "VIR F2026-000002")],
        "2026-02-15": [("Petit", "100.00", "ACOMPTE")],
        "2026-02-25": [("Jean Dupont", "120.00", "CHQ 1234")],
    }
    log = []  # (day, customer or summary, subject start, recipients)
    seen = 0
    day = START
    while day <= END:
        crm.today = day
        for customer, quantity in orders.get(day.isoformat(), []):
            crm("order", "create", "--customer", customer, "--line", f"P20:{quantity}", "--confirm")
        for customer, amount, reference in payments.get(day.isoformat(), []):
            crm("payment", "add", "--customer", customer, "--amount", amount, "--reference", reference)
        if day not in OUTAGE:
            result = crm("jobs", "run", "--only", "billing.reminders", "--json").json
            assert result[0]["outcome"] in ("done", "skipped"), result
        for rid, recipients, subject, key in books.sql(
                "SELECT id, recipients, subject, dedup_key FROM core_notification WHERE id > :seen ORDER BY id",
                seen=seen):
            seen = rid
            log.append((day.isoformat(), subject.split(" : ")[0], key.split(":")[1], json.loads(recipients)))
        day += dt.timedelta(days=1)

    reminders = [(d, s, r) for d, s, kind, r in log if kind == "reminder"]
    assert reminders == [
        # 8 February: level 1, customers only (Martin paid on the 6th: nothing)
        ("2026-02-08", "Relance amiable", ["durand@client.fr"]),
        ("2026-02-08", "Relance amiable", ["petit@client.fr"]),
        ("2026-02-08", "Relance amiable", ["jean.dupont@client.fr"]),
        # 20 February, after the outage: level 2 (owner in copy); Durand's second invoice (due 11
        # February, level 1 missed on the 15th) is in the same single message
        ("2026-02-20", "Relance ferme", ["durand@client.fr", "bob@acme.fr"]),
        ("2026-02-20", "Relance ferme", ["petit@client.fr", "bob@acme.fr"]),
        ("2026-02-20", "Relance ferme", ["jean.dupont@client.fr", "bob@acme.fr"]),
        # 27 February: Durand's second invoice reaches level 2 (Dupont paid on the 25th)
        ("2026-02-27", "Relance ferme", ["durand@client.fr", "bob@acme.fr"]),
        # 7 March: formal notices by letter, with a copy to the owner
        ("2026-03-07", "Mise en demeure", ["Durand, 3 place Bellecour, 69002 Lyon"]),
        ("2026-03-07", "Copie", ["bob@acme.fr"]),
        ("2026-03-07", "Mise en demeure", ["Petit, 3 place Bellecour, 69002 Lyon"]),
        ("2026-03-07", "Copie", ["bob@acme.fr"]),
    ]
    summaries = sorted({d for d, _, kind, _ in log if kind == "summary"})
    assert summaries == ["2026-02-08", "2026-02-20", "2026-02-27", "2026-03-07"]
    closed = [(d, r) for d, _, kind, r in log if kind == "case-closed"]
    assert closed == [("2026-02-25", ["cora@acme.fr", "bob@acme.fr"])]
    # the levels of each invoice, with what the catch-up recorded
    assert books.reminders() == [
        ("F2026-000001", 1, "sent", "2026-02-08"), ("F2026-000003", 1, "sent", "2026-02-08"),
        ("F2026-000004", 1, "sent", "2026-02-08"),
        ("F2026-000001", 2, "sent", "2026-02-20"), ("F2026-000003", 2, "sent", "2026-02-20"),
        ("F2026-000004", 2, "sent", "2026-02-20"), ("F2026-000005", 1, "sent", "2026-02-20"),
        ("F2026-000005", 2, "sent", "2026-02-27"),
        ("F2026-000001", 3, "sent", "2026-03-07"), ("F2026-000003", 3, "sent", "2026-03-07")]
    # Petit's notice claims the open 260.00, not the 360.00 invoiced
    petit = next(m.text for m in books.outbox() if m.subject.startswith("Mise en demeure") and "Petit" in m.subject)
    assert "260,00" in petit and "restant dû sur 360,00" in petit
    cases = crm("reminders", "list", "--all", "--json").json
    assert {c["invoice"]: (c["level"], c["closed_on"]) for c in cases} == {
        "F2026-000001": (3, None), "F2026-000003": (3, None), "F2026-000005": (2, None),
        "F2026-000004": (2, "2026-02-25")}
    # aging on 7 March, by hand: Durand 120.00 due 4 Feb (31 days: 31-60) and 240.00 due 11 Feb
    # (24 days: 1-30); Petit 260.00 due 4 Feb (31-60); Martin 120.00 due 31 March (not due).
    # DSO = 740.00 open / 1,080.00 invoiced over 90 days x 90 = 61.7 days
    report = crm("aging", "--json").json
    rows = {r["customer"]: (r["not_due"], r["days_1_30"], r["days_31_60"], r["total"]) for r in report["customers"]}
    assert rows == {"Durand": ("0.00", "240.00", "120.00", "360.00"), "Martin": ("120.00", "0.00", "0.00", "120.00"),
                    "Petit": ("0.00", "0.00", "260.00", "260.00")}
    assert report["totals"] == {"not_due": "120.00", "days_1_30": "240.00", "days_31_60": "380.00",
                                "days_61_90": "0.00", "over_90": "0.00", "total": "740.00"}
    assert (report["sales"], report["dso"]) == ("1080.00", "61.7")
    overdue = crm("invoice", "list", "--overdue", "--json").json
    assert [(r["number"], r["days_late"], r["residual"]) for r in overdue] == [
        ("F2026-000001", 31, "120.00"), ("F2026-000003", 31, "260.00"), ("F2026-000005", 24, "240.00")]
