"""The FEC export (LPF art. A47 A-1): hand-computed entries, the format column by column, lettering.

The official description (BOI-CF-IOR-60-40-20, and the article A47 A-1's table) is written down
here as :data:`OFFICIAL`: the 18 columns in their order, each one's type and whether it may be
blank; :func:`check_format` checks every line of a file against it. The file is also balanced per
entry and in total, numbered on one continuous sequence, one line per account per entry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import pytest

pytestmark = pytest.mark.modules("billing")

#: (column, type, may be blank): the article A47 A-1's table, in its order
OFFICIAL = [
    ("JournalCode", "text", False), ("JournalLib", "text", False), ("EcritureNum", "text", False),
    ("EcritureDate", "date", False), ("CompteNum", "account", False), ("CompteLib", "text", False),
    ("CompAuxNum", "text", True), ("CompAuxLib", "text", True), ("PieceRef", "text", False),
    ("PieceDate", "date", False), ("EcritureLib", "text", False), ("Debit", "amount", False),
    ("Credit", "amount", False), ("EcritureLet", "text", True), ("DateLet", "date", True),
    ("ValidDate", "date", False), ("Montantdevise", "amount", True), ("Idevise", "text", True),
]
AMOUNT = re.compile(r"^\d+,\d{2}$")


def check_format(content: str) -> list[dict]:
    """Every line as a dict after checking it against :data:`OFFICIAL`; raises on the first deviation."""
    assert not content.startswith("\ufeff") and "\r" not in content
    lines = content.split("\n")
    assert lines[-1] == "" and lines[0].split("\t") == [name for name, _, _ in OFFICIAL]
    rows = []
    for number, line in enumerate(lines[1:-1], start=2):
        values = line.split("\t")
        assert len(values) == 18, f"line {number}: {len(values)} columns"
        for (name, kind, blank), value in zip(OFFICIAL, values):
            where = f"line {number} {name} {value!r}"
            if value == "":
                assert blank, where
                continue
            if kind == "date":
                assert re.fullmatch(r"\d{8}", value) and dt.datetime.strptime(value, "%Y%m%d"), where
            elif kind == "amount":
                assert AMOUNT.match(value), where
            elif kind == "account":
                assert re.fullmatch(r"\d{3}[0-9A-Z]*", value), where
        row = dict(zip([name for name, _, _ in OFFICIAL], values))
        assert (row["Debit"] == "0,00") != (row["Credit"] == "0,00"), f"line {number}: one side only"
        assert bool(row["CompAuxNum"]) == row["CompteNum"].startswith("411"), f"line {number}: auxiliary"
        assert bool(row["EcritureLet"]) == bool(row["DateLet"]), f"line {number}: lettering"
        rows.append(row)
    return rows


def cents(text: str) -> int:
    units, hundredths = text.split(",")
    return int(units) * 100 + int(hundredths)


def check_books(rows: list[dict]) -> dict[str, list[dict]]:
    """Balanced per entry and in total, numbered 1, 2, 3... in order, one line per account per entry,
    each journal chronological; the entries by number."""
    entries: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        entries[row["EcritureNum"]].append(row)
    assert [int(n) for n in entries] == list(range(1, len(entries) + 1))
    assert [int(row["EcritureNum"]) for row in rows] == sorted(int(row["EcritureNum"]) for row in rows)
    for number, lines in entries.items():
        assert sum(cents(r["Debit"]) for r in lines) == sum(cents(r["Credit"]) for r in lines), number
        accounts = [(r["CompteNum"], r["CompAuxNum"]) for r in lines]
        assert len(accounts) == len(set(accounts)), number
        assert len({(r["JournalCode"], r["EcritureDate"], r["PieceRef"]) for r in lines}) == 1, number
    assert sum(cents(r["Debit"]) for r in rows) == sum(cents(r["Credit"]) for r in rows)
    last: dict[str, str] = {}
    for lines in entries.values():
        journal, date = lines[0]["JournalCode"], lines[0]["EcritureDate"]
        assert date >= last.get(journal, ""), f"{journal} not chronological at {lines[0]['EcritureNum']}"
        last[journal] = date
    return entries


def _export(crm, tmp_path, start, end):
    result = crm("export", "fec", "--from", start, "--to", end, "-o", str(tmp_path), "--json").json
    content = open(result["file"], encoding="utf-8", newline="").read()
    return result, content


def test_an_invoice_its_payment_and_a_credit_note_hand_computed(books, crm, tmp_path):
    durand = books.customer("Durand SA", siren="552081317", vat_number="FR03552081317")
    brussels = books.customer("Brussels Trading SA", country="BE", vat_number="BE0403019261",
                              street="Rue Neuve 1", postal_code="1000", city="Bruxelles")
    # 2 x 50 at 20 % + 10 at 5.5 %: 110.00 + 20.00 + 0.55 = 130.55
    first = books.confirm("2026-03-02", durand, [("P20", "2", "50"), ("P55", "1", "10")])
    eu = books.confirm("2026-03-03", brussels, [("P20", "1", "300")])  # intra-EU supply: 300.00, no VAT
    books.pay("2026-03-10", "130.55", customer=str(durand), reference="VIR DURAND")
    note = crm("--today", "2026-03-12", "invoice", "credit", eu, "--json").json["number"]
    result, content = _export(crm, tmp_path, "2026-03-01", "2026-03-31")
    assert result["file"].endswith("/732829320FEC20260331.txt")
    entries = check_books(check_format(content))
    table = [[(r["JournalCode"], r["CompteNum"], r["CompAuxNum"], r["PieceRef"], r["Debit"], r["Credit"],
               r["EcritureLet"]) for r in lines] for lines in entries.values()]
    aux_durand, aux_brussels = f"C{durand:06d}", f"C{brussels:06d}"
    assert table == [
        [("VE", "411000", aux_durand, first, "130,55", "0,00", first),
         ("VE", "707000", "", first, "0,00", "110,00", ""),
         ("VE", "445712", "", first, "0,00", "20,00", ""),
         ("VE", "445713", "", first, "0,00", "0,55", "")],
        [("VE", "411000", aux_brussels, eu, "300,00", "0,00", eu),
         ("VE", "707100", "", eu, "0,00", "300,00", "")],
        [("VE", "411000", aux_brussels, note, "0,00", "300,00", eu),
         ("VE", "707100", "", note, "300,00", "0,00", "")],
        [("BQ", "512000", "", table[3][0][3], "130,55", "0,00", ""),
         ("BQ", "411000", aux_durand, table[3][0][3], "0,00", "130,55", first)],
    ]
    assert entries["1"][0]["DateLet"] == "20260310" and entries["4"][1]["DateLet"] == "20260310"
    assert entries["4"][0]["EcritureLib"] == "Règlement Durand SA VIR DURAND"
    assert result == {**result, "entries": 4, "lines": 10, "debit": "861,10", "credit": "861,10"}


def test_accounts_come_from_the_config(books, crm, tmp_path, workspace):
    from billing_support import set_billing_config

    set_billing_config(workspace, '[billing.accounts]\nsales_goods = "707010"\ncustomers = "411100"\n')
    durand = books.customer("Durand SA", siren="552081317")
    number = books.confirm("2026-03-02", durand, [("P20", "1", "100")])
    _, content = _export(crm, tmp_path, "2026-03-01", "2026-03-31")
    rows = check_format(content)
    assert [(r["CompteNum"], r["PieceRef"]) for r in rows] == [("411100", number), ("707010", number),
                                                              ("445712", number)]


def test_a_period_before_its_start_is_refused(crm, books):
    result = crm("export", "fec", "--from", "2026-03-31", "--to", "2026-03-01", expect=None)
    assert result.exit_code != 0 and "is before --from" in result.stderr


def test_the_90_day_demo_has_every_document_exactly_once_balanced(tmp_path_factory):
    """The demo's three months: every invoice, credit note and payment once, lettered, balanced."""
    import sqlite3

    from core.testing import CrmRunner, Workspace

    folder = tmp_path_factory.mktemp("demo") / "demo"
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    summary = crm("demo", str(folder), "--days", "90", "--json", expect=None)
    assert summary.exit_code == 0, summary
    start, end = summary.json["from"], summary.json["to"]
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    result = crm("--config", str(folder / "crm.toml"), "export", "fec", "--from", start, "--to", end,
                 "-o", str(folder), "--json").json
    rows = check_format(open(result["file"], encoding="utf-8", newline="").read())
    entries = check_books(rows)
    database = sqlite3.connect(folder / "crm.db")
    documents = sorted(n for (n,) in database.execute(
        "SELECT number FROM billing_invoice WHERE state <> 'draft' AND invoice_date BETWEEN ? AND ?", (start, end)))
    payments = sorted(f"REG{i}" for (i,) in database.execute(
        "SELECT id FROM billing_payment WHERE payment_date BETWEEN ? AND ?", (start, end)))
    assert documents and payments
    pieces = defaultdict(list)
    for number, lines in entries.items():
        pieces[lines[0]["JournalCode"]].append(lines[0]["PieceRef"])
    assert sorted(pieces["VE"]) == documents  # each exactly once
    assert sorted(p for p in pieces["BQ"] if p.startswith("REG")) == payments
    # every settled invoice is lettered with its number, and a payment or credit note carries the same letter
    settled = {n for (n,) in database.execute(
        "SELECT number FROM billing_invoice WHERE kind = 'invoice' AND residual = 0 AND state <> 'draft' "
        "AND invoice_date BETWEEN ? AND ? AND id IN (SELECT invoice_id FROM billing_allocation)", (start, end))}
    letters = defaultdict(int)
    for row in rows:
        if row["EcritureLet"]:
            letters[row["EcritureLet"]] += 1
    assert settled and all(letters[number] >= 2 for number in settled)


def test_a_write_off_and_a_refund_hand_computed(books, crm, tmp_path):
    """130.00 paid on 130.55: 0.55 written off (658, OD); 50 overpaid later and refunded (BQ, reversed)."""
    durand = books.customer("Durand SA", siren="552081317")
    first = books.confirm("2026-03-02", durand, [("P20", "2", "50"), ("P55", "1", "10")])  # 130.55
    books.pay("2026-03-10", "130.00", invoice=first)
    crm("--today", "2026-03-11", "payment", "write-off", first, "--reason", "écart de 0,55")
    books.pay("2026-03-12", "50.00", customer=str(durand))  # nothing open: the customer's credit
    crm("--today", "2026-03-13", "payment", "refund", str(durand), "50.00")
    _, content = _export(crm, tmp_path, "2026-03-01", "2026-03-31")
    entries = check_books(check_format(content))
    table = [[(r["JournalCode"], r["CompteNum"], r["Debit"], r["Credit"], r["EcritureLet"]) for r in lines]
             for lines in entries.values()]
    assert table[1:] == [
        [("BQ", "512000", "130,00", "0,00", ""), ("BQ", "411000", "0,00", "130,00", first)],
        [("BQ", "512000", "50,00", "0,00", ""), ("BQ", "411000", "0,00", "50,00", "")],
        [("BQ", "411000", "50,00", "0,00", ""), ("BQ", "512000", "0,00", "50,00", "")],
        [("OD", "658000", "0,55", "0,00", ""), ("OD", "411000", "0,00", "0,55", first)],
    ]
    assert table[0][0] == ("VE", "411000", "130,55", "0,00", first)
