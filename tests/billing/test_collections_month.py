"""A month of a collections clerk, replayed day by day with ``--today`` (issue 15, "Done when").

Five business customers on "30 jours" (P20 = 100.00 + 20 % VAT = 120.00 a unit); the collections
team is cora and dan (round-robin, in login order, one customer after the other). Every day from
15 February to 31 March 2026: the bank statement of the day (camt.053.001.08, as banks deliver it;
each entry with the bank's own reference, the debtor's name and the remittance text) is imported, the clerk
works the cases, and ``crm jobs run`` runs the reminders. Levels (default policy): 1 when today >
due + 3, 2 when > due + 15, 3 (formal notice, letter) when > due + 30. Rate of 2026: max(ECB 2.15 +
10, 3 x 2.76) = 12.15 %.

Invoices (invoice date -> due date):
  F1 Arnaud   120.00  20 Jan -> 19 Feb      F5 Dumas   600.00  31 Jan -> 2 Mar
  F2 Bernard  240.00  20 Jan -> 19 Feb      F6 Ernst   120.00   5 Feb -> 7 Mar
  F3 Colin    360.00  26 Jan -> 25 Feb      F7 Arnaud  240.00  10 Feb -> 12 Mar
  F4 Colin    120.00  26 Jan -> 25 Feb      F8 Ernst   240.00  12 Feb -> 14 Mar

The story: Arnaud promises and keeps it (paid exactly), then over-pays F7 (60.00 left as credit);
Bernard promises and breaks it, pays part (a transfer naming no invoice, matched by his name), gets
the formal notice and a penalty invoice, then pays F2 by transfer and the penalties by cheque; Colin
pays F3 and disputes F4, settled by a credit note; Dumas pays F5 in two transfers of the same amount
on the same day (duplicate-looking, both real), and that statement imported twice changes nothing;
Ernst pays F6 and F8 with one grouped transfer 0.60 short (bank charges): F8's 0.60 is written off at
import (under the 1.00 threshold).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from plugins.billing.camt_writer import camt053

pytestmark = pytest.mark.modules("billing")

START, END = dt.date(2026, 2, 15), dt.date(2026, 3, 31)
ORDERS = [("2026-01-20", "Arnaud SA", 1), ("2026-01-20", "Bernard SARL", 2), ("2026-01-26", "Colin SAS", 3),
          ("2026-01-26", "Colin SAS", 1), ("2026-01-31", "Dumas SA", 5), ("2026-02-05", "Ernst SARL", 1),
          ("2026-02-10", "Arnaud SA", 2), ("2026-02-12", "Ernst SARL", 2)]
BANK = {  # day -> entries of its statement (debtor's name, amount, remittance text)
    "2026-03-04": [("Arnaud SA", "120.00", "VIR ARNAUD F2026-000001")],  # exact, the promise kept
    "2026-03-05": [("Colin SAS", "360.00", "VIR COLIN F2026-000003")],  # exact
    "2026-03-09": [("Dumas SA", "300.00", "VIR DUMAS 1/2 F2026-000005"),  # duplicate-looking: both real
                   ("Dumas SA", "300.00", "VIR DUMAS 2/2 F2026-000005")],
    "2026-03-10": [("Bernard SARL", "100.00", "ACOMPTE")],  # partial, no number: by name, oldest due
    "2026-03-12": [("Ernst SARL", "359.40", "VIR ERNST F2026-000006 F2026-000008")],  # grouped, 0.60 short
    "2026-03-20": [("Arnaud SA", "300.00", "VIR ARNAUD F2026-000007")],  # over-payment: 60.00 credit
    "2026-03-27": [("Bernard SARL", "140.00", "VIR BERNARD F2026-000002")],  # the rest of F2
}


def test_a_month_of_collections(workspace, crm, books, tmp_path):
    crm("user", "add", "dan", "Dan Recouvrement", "--email", "dan@acme.fr", "--role", "collections")
    for name, owner in (("Arnaud SA", "bob"), ("Bernard SARL", "alice"), ("Colin SAS", "bob"), ("Dumas SA", "alice"),
                        ("Ernst SARL", "bob")):
        books.customer(name, salesperson=owner)
    for day, customer, quantity in ORDERS:
        crm.today = dt.date.fromisoformat(day)
        crm("order", "create", "--customer", customer, "--line", f"P20:{quantity}", "--confirm")
    bank = tmp_path / "bank"
    bank.mkdir()
    reminders, seen, day = [], 0, START
    while day <= END:
        crm.today, iso = day, day.isoformat()
        if iso in BANK:
            statement = bank / f"{iso}.xml"
            statement.write_bytes(camt053([{"ref": f"BQ-{iso}-{n}", "amount": amount, "date": iso, "name": name,
                                            "text": text} for n, (name, amount, text) in enumerate(BANK[iso], 1)],
                                          statement_id=f"RLV-{iso}", created=f"{iso}T18:00:00"))
            done = crm("payment", "import", str(statement), "--json").json
            assert (done["created"], done["unmatched"]) == (len(BANK[iso]), 0), done
        clerk(crm, iso, bank)
        result = crm("jobs", "run", "--only", "billing.reminders", "--json").json
        assert result[0]["outcome"] in ("done", "skipped"), result
        for rid, recipients, subject, key in books.sql(
                "SELECT id, recipients, subject, dedup_key FROM core_notification WHERE id > :seen ORDER BY id",
                seen=seen):
            seen = rid
            if key and key.startswith("billing:reminder:"):
                reminders.append((iso, subject.split(" : ")[0], json.loads(recipients)))
        day += dt.timedelta(days=1)

    assert reminders == [
        ("2026-02-23", "Relance amiable", ["arnaud.sa@client.fr"]),  # F1 (due 19 Feb, 23 > 19 + 3)
        ("2026-02-23", "Relance amiable", ["bernard.sarl@client.fr"]),  # F2
        ("2026-03-01", "Relance amiable", ["colin.sas@client.fr"]),  # F3 and F4 in one message
        ("2026-03-06", "Relance amiable", ["dumas.sa@client.fr"]),  # F5 (due 2 Mar)
        # Bernard's promise (6 March) is broken on the 7th: re-opened, level 2 (7 > 19 Feb + 15) that day
        ("2026-03-07", "Relance ferme", ["bernard.sarl@client.fr", "alice@acme.fr"]),
        ("2026-03-11", "Relance amiable", ["ernst.sarl@client.fr"]),  # F6 (due 7 Mar), paid on the 12th
        # 13 March: Colin's F4 would reach level 2, but it is disputed; F3 was paid on the 5th
        ("2026-03-16", "Relance amiable", ["arnaud.sa@client.fr"]),  # F7 (due 12 Mar)
        ("2026-03-22", "Mise en demeure", ["Bernard SARL, 3 place Bellecour, 69002 Lyon"]),  # the letter (22 > 19 Feb + 30)
        ("2026-03-22", "Copie", ["alice@acme.fr"]),
    ]
    # the formal notice claims interest on what is open that day: 140.00 x 12.15 x 31 days (20 Feb - 22 Mar)
    # = 52,731 / 36,500 = 1.4447 -> 1.44, and the 40.00 indemnity
    assert books.sql("SELECT i.number, r.amount_open, r.interest, r.indemnity FROM billing_reminder r JOIN "
                     "billing_invoice i ON i.id = r.invoice_id WHERE r.level = 3") == [("F2026-000002", 14000, 144, 4000)]
    broken = books.messages("billing:promise-broken:%")
    assert [(r, s) for r, s, _, _ in broken] == [
        (["dan@acme.fr", "alice@acme.fr"], "Promesse de paiement non tenue : facture F2026-000002 (Bernard SARL)")]

    crm.today = END
    cases = {c["case"]: c for c in crm("collections", "list", "--state", "closed", "--json").json}
    assert {n: (c["assignee"], c["closed_on"], c["closed_reason"]) for n, c in cases.items()} == {
        "F2026-000001": ("cora", "2026-03-04", "paid"),  # 23 Feb: Arnaud first -> cora, Bernard -> dan
        "F2026-000002": ("dan", "2026-03-27", "paid"),
        "F2026-000003": ("cora", "2026-03-05", "paid"),  # 1 Mar: third customer -> cora
        "F2026-000004": ("cora", "2026-03-16", "credited"),
        "F2026-000005": ("dan", "2026-03-09", "paid"),  # 6 Mar: fourth -> dan
        "F2026-000006": ("cora", "2026-03-12", "paid"),  # 11 Mar: fifth -> cora
        "F2026-000007": ("dan", "2026-03-20", "paid"),  # 16 Mar: Arnaud again, no open case: sixth turn -> dan
    }
    assert crm("collections", "list", "--json").json == []  # nothing left open
    history = [(h["date"], h["kind"], h.get("user")) for h in crm("collections", "show", "F2026-000002",
                                                                  "--json").json["history"]]
    assert history == [
        ("2026-02-23", "opened", None), ("2026-02-23", "assigned", None), ("2026-02-23", "reminder_sent", None),
        ("2026-02-25", "promised", "dan"), ("2026-03-07", "promise_broken", None),
        ("2026-03-07", "reminder_sent", None), ("2026-03-11", "note", "dan"), ("2026-03-22", "reminder_sent", None),
        ("2026-03-24", "note", "dan"), ("2026-03-27", "closed", None)]

    # the penalty invoice of 24 March: (19 Feb -> 10 Mar] 240.00 x 12.15 x 19 days = 55,404;
    # (10 -> 24 Mar] 140.00 x 12.15 x 14 days = 23,814; 79,218 / 36,500 = 2.1703 -> 2.17; + 40.00 = 42.17
    penalty = crm("invoice", "show", "PEN2026-000001", "--json").json
    assert (penalty["total"], penalty["total_tax"], penalty["state"]) == ("42.17", "0.00", "paid")

    # the money, customer by customer: every invoice settled, Arnaud keeps 300.00 - 240.00 = 60.00 of credit
    invoices = {i["number"]: (i["state"], i["residual"]) for i in crm("invoice", "list", "--json").json}
    assert invoices == {
        "F2026-000001": ("paid", "0.00"), "F2026-000002": ("paid", "0.00"), "F2026-000003": ("paid", "0.00"),
        "F2026-000004": ("credited", "0.00"), "F2026-000005": ("paid", "0.00"), "F2026-000006": ("paid", "0.00"),
        "F2026-000007": ("paid", "0.00"), "F2026-000008": ("paid", "0.00"), "PEN2026-000001": ("paid", "0.00"),
        "AV2026-000001": ("posted", "0.00")}  # the credit note of F4 (120.00), all used on it
    arnaud = crm("partner", "account", "arnaud", "--json").json["sections"]["billing"]
    # F1: 20 Jan -> 4 Mar = 43 days, F7: 10 Feb -> 20 Mar = 38 days: 40.5 -> 41; late 13 and 8 days: 10.5 -> 11
    assert {k: arnaud[k] for k in ("receivable", "credit", "balance", "overdue", "average_days_to_pay",
                                   "average_days_late")} == {
        "receivable": "0.00", "credit": "60.00", "balance": "-60.00", "overdue": "0.00", "average_days_to_pay": 41,
        "average_days_late": 11}
    # Dumas: two payments of 300.00, the statement imported again (on the 10th) created nothing
    assert [(p["amount"], p["allocations"][0]["amount"]) for p in crm("partner", "account", "dumas", "--json")
            .json["sections"]["billing"]["payments"]] == [("300.00", "300.00"), ("300.00", "300.00")]
    # nine payments: 120.00 + 360.00 + 300.00 + 300.00 + 100.00 + 359.40 + 300.00 + 140.00 + 42.17 = 2,021.57
    assert books.sql("SELECT COUNT(*), SUM(amount) FROM billing_payment") == [(9, 202157)]
    # Ernst's grouped transfer: F6 120.00 paid in full, F8 239.40 of 240.00; the 0.60 left is under the
    # 1.00 threshold and written off at import (F8 was never late: no case to close)
    assert [(w["invoice"], w["amount"]) for w in crm("payment", "write-offs", "--json").json] == [
        ("F2026-000008", "0.60")]
    assert books.sql("SELECT state FROM billing_collection_task") == []  # no case went as far as the hand-over


def clerk(crm, iso, bank):
    """What the collections clerk does that day (``--user`` says who)."""
    if iso == "2026-02-24":
        crm("collections", "note", "F2026-000001", "Appel : paiement prévu le 5 mars", "--user", "cora")
        crm("collections", "promise", "F2026-000001", "2026-03-05", "--user", "cora")
    elif iso == "2026-02-25":
        crm("collections", "promise", "F2026-000002", "2026-03-06", "--user", "dan")
    elif iso == "2026-03-03":
        crm("collections", "dispute", "F2026-000004", "--reason", "livraison incomplète", "--user", "cora")
    elif iso == "2026-03-10":  # the statement of the 9th imported again by mistake: nothing new
        again = crm("payment", "import", str(bank / "2026-03-09.xml"), "--json").json
        assert (again["created"], again["skipped"]) == (0, 2)
    elif iso == "2026-03-11":
        crm("collections", "note", "F2026-000002", "Acompte de 100 reçu, relance pour le solde", "--user", "dan")
    elif iso == "2026-03-16":  # the dispute is settled by crediting F4
        crm("invoice", "credit", "F2026-000004", "--reason", "livraison incomplète")
    elif iso == "2026-03-24":
        data = crm("invoice", "penalties", "F2026-000002", "--json").json
        assert (data["number"], data["interest"], data["indemnity"], data["total"]) == (
            "PEN2026-000001", "2.17", "40.00", "42.17")
        crm("collections", "note", "F2026-000002", f"Facture de pénalités {data['number']} émise", "--user", "dan")
    elif iso == "2026-03-27":  # the penalties arrive by cheque, typed by hand
        crm("payment", "add", "--amount", "42.17", "--customer", "Bernard SARL", "--invoice", "PEN2026-000001",
            "--method", "cheque")
