"""The FEC export (LPF art. A47 A-1): hand-computed entries, the format column by column, lettering.

The official description (LPF art. A47 A-1 and BOI-CF-IOR-60-40-20) is written down here as
:data:`OFFICIAL`: the 18 columns in their order, each one's type and whether it may be blank;
:func:`check_format` checks a file's bytes against it and against the article's coding rules
(III: ISO 8859-15, records ended by a line end, one unequivocal field separator, the tab; the
BOI: a header line of the column names, dates YYYYMMDD, amounts with a decimal comma), and
:data:`FILE_NAME` the legal name ``<SIREN>FEC<YYYYMMDD>.txt``. The file is also balanced per entry
and in total, numbered on one continuous sequence, one line per account per entry, and carries
every invoice, credit note, payment, refund and write-off of the period exactly once
(:func:`check_every_document_once`).
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
FILE_NAME = re.compile(r"^\d{9}FEC(\d{8})\.txt$")


def check_format(raw: bytes) -> list[dict]:
    """Every line as a dict after checking the file's bytes against :data:`OFFICIAL` and the article's
    coding rules; raises on the first deviation."""
    content = raw.decode("iso-8859-15")  # A47 A-1 III 1°: ASCII, ISO 8859-15 or EBCDIC
    assert content.encode("iso-8859-15") == raw and not content.startswith("\ufeff") and "\r" not in content
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


def check_every_document_once(connection, entries: dict, start: str, end: str) -> None:
    """Every posted invoice and credit note, payment, refund and write-off dated in the period is
    one entry of its journal, exactly once, by its total; nothing else is."""
    from sqlalchemy import text

    def rows(sql):  # amounts are stored as integer cents
        return sorted((ref, int(amount)) for ref, amount in connection.execute(text(sql), {"start": start,
                                                                                            "end": end}))

    expected = {
        "VE": rows("SELECT number, total FROM billing_invoice WHERE state <> 'draft' "
                   "AND invoice_date BETWEEN :start AND :end"),
        "BQ": rows("SELECT 'REG' || CAST(id AS VARCHAR(20)), amount FROM billing_payment "
                   "WHERE payment_date BETWEEN :start AND :end UNION ALL "
                   "SELECT 'REMB' || CAST(id AS VARCHAR(20)), amount FROM billing_refund "
                   "WHERE refund_date BETWEEN :start AND :end"),
        "OD": rows("SELECT 'PERTE' || CAST(id AS VARCHAR(20)), amount FROM billing_write_off "
                   "WHERE write_off_date BETWEEN :start AND :end"),
    }
    found = defaultdict(list)
    for lines in entries.values():
        side = sum(cents(line["Debit"]) for line in lines)  # balanced: the entry's amount
        found[lines[0]["JournalCode"]].append((lines[0]["PieceRef"], side))
    for journal, pieces in expected.items():
        assert sorted(found[journal]) == pieces, journal
    assert set(found) <= set(expected)


def _export(crm, tmp_path, start, end):
    import os

    result = crm("export", "fec", "--from", start, "--to", end, "-o", str(tmp_path), "--json").json
    path = result["file"]
    assert FILE_NAME.match(os.path.basename(path)) and os.stat(path).st_mode & 0o777 == 0o600
    with open(path, "rb") as handle:
        return result, handle.read()


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
    """The demo's three months (invoices and the payments of camt statements): every document once,
    lettered, balanced."""
    from sqlalchemy import create_engine

    from core.testing import CrmRunner, Workspace

    folder = tmp_path_factory.mktemp("demo") / "demo"
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    summary = crm("demo", str(folder), "--days", "90", "--json", expect=None)
    assert summary.exit_code == 0, summary
    start, end = summary.json["from"], summary.json["to"]
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    result = crm("--config", str(folder / "crm.toml"), "export", "fec", "--from", start, "--to", end,
                 "-o", str(folder), "--json").json
    with open(result["file"], "rb") as handle:
        rows = check_format(handle.read())
    entries = check_books(rows)
    engine = create_engine(f"sqlite:///{folder / 'crm.db'}")
    with engine.connect() as connection:
        check_every_document_once(connection, entries, start, end)
        # every settled invoice is lettered with its number, and a payment or credit note carries the same letter
        settled = {n for (n,) in connection.exec_driver_sql(
            "SELECT number FROM billing_invoice WHERE kind = 'invoice' AND residual = 0 AND state <> 'draft' "
            "AND invoice_date BETWEEN ? AND ? AND id IN (SELECT invoice_id FROM billing_allocation)", (start, end))}
    engine.dispose()
    assert {lines[0]["JournalCode"] for lines in entries.values()} == {"VE", "BQ"}
    letters = defaultdict(int)
    for row in rows:
        if row["EcritureLet"]:
            letters[row["EcritureLet"]] += 1
    assert settled and all(letters[number] >= 2 for number in settled)


def test_a_month_replayed_has_every_document_exactly_once(books, crm, tmp_path):
    """March 2026 day by day: invoices (one of February paid in March), a partial and a full credit
    note, exact, grouped, short and over payments, a write-off and a refund; a payment of April. The
    FEC of March carries each document of March once, by its amount, and nothing else."""
    durand = books.customer("Durand SA", siren="552081317")
    brussels = books.customer("Brussels Trading SA", country="BE", vat_number="BE0403019261",
                              street="Rue Neuve 1", postal_code="1000", city="Bruxelles")
    lucja = books.customer("Łucja Wróbel", kind="person", country="PL", street="ul. Długa 5", postal_code="00-238",
                           city="Warszawa")
    february = books.confirm("2026-02-27", durand, [("P20", "1", "100")])  # 120.00, paid in March
    first = books.confirm("2026-03-02", durand, [("P20", "2", "50"), ("P55", "1", "10")])  # 130.55
    eu = books.confirm("2026-03-02", brussels, [("P20", "1", "300")])  # 300.00, intra-EU: no VAT
    distance = books.confirm("2026-03-03", lucja, [("P20", "1", "1000")])  # 1200.00, French VAT (below 10,000)
    crm.today = books.app("2026-03-04").today
    crm("invoice", "credit", first, "--line", "2:1")  # 10.55: the 5.5 % line
    crm.today = books.app("2026-03-05").today
    crm("invoice", "credit", eu)  # the whole 300.00
    coeur = books.customer("Cœur ½ Lune SARL")
    books.confirm("2026-03-06", coeur, [("P20", "1", "100")])  # 120.00, unpaid
    books.pay("2026-03-10", "240.00", customer=str(durand), reference=f"{february} {first}")  # grouped: 120 + 120
    books.pay("2026-03-12", "1199.40", invoice=distance)  # 0.60 short
    crm.today = books.app("2026-03-13").today
    crm("payment", "write-off", distance, "--reason", "frais bancaires")
    books.pay("2026-03-16", "50.00", customer=str(durand))  # nothing open: the customer's credit
    crm.today = books.app("2026-03-17").today
    crm("payment", "refund", str(durand), "50.00")
    books.pay("2026-04-02", "10.00", customer=str(durand))  # April: not in March's file
    result, raw = _export(crm, tmp_path, "2026-03-01", "2026-03-31")
    entries = check_books(check_format(raw))
    with books.app("2026-03-31").engine.connect() as connection:
        check_every_document_once(connection, entries, "2026-03-01", "2026-03-31")
    journals = [(lines[0]["JournalCode"], lines[0]["PieceRef"][:4]) for lines in entries.values()]
    assert [journal for journal, _ in journals] == ["VE"] * 6 + ["BQ"] * 4 + ["OD"]
    assert february not in {lines[0]["PieceRef"] for lines in entries.values()}
    # 6 sales entries of 4, 2, 3, 3, 2 and 3 lines (customer, revenue, VAT per rate), 4 bank and 1 OD of 2
    assert result["entries"] == 11 and result["lines"] == 4 + 2 + 3 + 3 + 2 + 3 + 4 * 2 + 2
    # ISO 8859-15: ó is one byte, œ its own (0xBD, Latin-1's ½), ½ spelt out, Ł (outside the set) written L
    assert b"Lucja Wr\xf3bel" in raw and "Łucja".encode("utf-8") not in raw
    assert b"C\xbdur 1/2 Lune SARL" in raw and "Cœur 1/2 Lune SARL" in raw.decode("iso-8859-15")
    # everything settled is lettered: the February invoice's payment, the distance sale's payment and write-off
    lettered = {(lines[0]["PieceRef"], line["EcritureLet"]) for lines in entries.values() for line in lines
                if line["EcritureLet"]}
    assert {letter for _, letter in lettered} == {february, first, eu, distance}


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


def test_a_day_reads_the_same_from_either_driver_and_is_formatted_once():
    from plugins.billing.fec import _Days

    days = _Days()
    assert days["2026-02-28"] == days[dt.date(2026, 2, 28)] == "20260228"
    assert days[dt.date(2024, 12, 31)] == "20241231" and len(days) == 3


def test_every_journal_reads_the_books_as_of_the_export_s_start(books, crm, tmp_path, monkeypatch):
    """A payment committed while the sales journal is being written is not in the bank journal: the
    file is the books of one instant. On PostgreSQL the bank journal is read on a second connection
    importing the first one's snapshot (sorted by the server while the sales are written); before,
    each journal's query took its own snapshot when it started. On SQLite the export's transaction
    holds the write lock, so no payment can be committed meanwhile."""
    from sqlalchemy import select

    from plugins.billing import fec
    from plugins.billing.models_payments import Payment

    durand = books.customer("Durand SA", siren="552081317")
    books.confirm("2026-03-02", durand, [("P20", "1", "100")])
    books.pay("2026-03-05", "40.00", customer=str(durand), reference="FIRST")
    sales, committed = fec._sales, []

    def sales_then_a_payment(connection, *args):
        sales(connection, *args)
        if connection.dialect.name == "postgresql":
            committed.append(books.pay("2026-03-06", "10.00", customer=str(durand), reference="DURING"))

    monkeypatch.setattr(fec, "_sales", sales_then_a_payment)
    _, content = _export(crm, tmp_path, "2026-03-01", "2026-03-31")
    bank = [r["EcritureLib"] for r in check_format(content) if r["JournalCode"] == "BQ" and r["CompteNum"] == "512000"]
    assert bank == ["Règlement Durand SA FIRST"]
    with books.app("2026-03-31").transaction() as session:
        references = session.scalars(select(Payment.reference).order_by(Payment.id)).all()
    assert references == (["FIRST", "DURING"] if committed else ["FIRST"])
