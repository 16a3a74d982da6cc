"""Bank statements in (issue 15): no payment lost, none counted twice; camt.053 001.02 and 001.08
matched by reference, remittance text, account or name; the rest listed as unmatched."""

from __future__ import annotations

from decimal import Decimal

import pytest
from billing_support import set_billing_config

from plugins.billing.bank import rf_reference
from plugins.billing.camt_writer import camt053

pytestmark = pytest.mark.modules("billing")
TODAY = "2026-02-27"
IBAN_MARTIN = "FR7610107001011234567890129"


@pytest.fixture
def app_today():
    import datetime as dt

    return dt.date.fromisoformat(TODAY)


def payments(books):
    """``[(amount, unallocated)]`` in cents (the scaled-integer columns, read raw)."""
    return books.sql("SELECT amount, unallocated FROM billing_payment ORDER BY id")


def test_two_identical_csv_lines_are_two_payments_and_a_second_import_creates_nothing(books, crm, tmp_path):
    books.customer("Durand")
    statement = tmp_path / "caisse.csv"
    statement.write_text("date;amount;customer;method;reference\n2026-02-10;20,00;Durand;cash;ESPECES\n"
                         "2026-02-10;20,00;Durand;cash;ESPECES\n", encoding="utf-8")
    first = crm("payment", "import", str(statement), "--json").json
    assert (first["created"], first["skipped"], first["amount"]) == (2, 0, "40.00")
    assert payments(books) == [(2000, 2000)] * 2  # nothing lost: 40.00 of credit
    again = crm("payment", "import", str(statement), "--json").json
    assert (again["created"], again["skipped"]) == (0, 2)
    assert crm("import", "payments", str(statement), "--json").json["created"] == 0
    assert len(payments(books)) == 2


@pytest.mark.parametrize("version", ["02", "08"])
def test_two_identical_camt_entries_are_two_payments_and_a_second_import_creates_nothing(books, crm, tmp_path,
                                                                                         version):
    customer = books.customer("Durand")
    number = books.confirm("2026-02-01", customer)  # 120.00
    same = {"amount": "20.00", "date": "2026-02-10", "name": "DURAND", "text": "ESPECES"}
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([same, same, {**same, "ref": "BQ-1"}, {**same, "ref": "BQ-2"}], version=version))
    first = crm("payment", "import", str(statement), "--json").json
    assert (first["format"], first["created"], first["amount"], first["matched_by"]) == (
        "camt053", 4, "80.00", {"name": 4})
    assert books.invoice(number).residual == Decimal("40.00")
    again = crm("payment", "import", str(statement), "--json").json
    assert (again["created"], again["skipped"]) == (0, 4)
    # the same entries with bank references, delivered again in another statement: still nothing
    other = tmp_path / "releve-bis.xml"
    other.write_bytes(camt053([{**same, "ref": "BQ-1"}, {**same, "ref": "BQ-2"}], version=version,
                              statement_id="STMT-2"))
    assert crm("payment", "import", str(other), "--json").json["created"] == 0
    assert books.invoice(number).residual == Decimal("40.00")


@pytest.mark.parametrize("version", ["02", "08"])
def test_camt_statement_exact_partial_grouped_over_duplicate_looking_and_unmatched(books, crm, tmp_path, version):
    martin = books.customer("Martin SARL")
    f1 = books.confirm("2026-01-05", martin, lines=(("P10", "1", "301.50"),))  # 331.65
    f2 = books.confirm("2026-01-06", martin)  # 120.00
    f3 = books.confirm("2026-01-07", martin)  # 120.00
    f4 = books.confirm("2026-01-08", martin, lines=(("P20", "1", "125"),))  # 150.00
    dupont = books.customer("Dupont SA")
    d1 = books.confirm("2026-01-09", dupont)  # 120.00
    d2 = books.confirm("2026-01-10", dupont)  # 120.00
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([
        # over: 481.65 with F1's RF reference: F1 331.65 paid, the 150.00 left to the oldest open: F2 120.00, F3 30.00
        {"ref": "E1", "amount": "481.65", "date": "2026-02-02", "name": "MARTIN SARL", "iban": IBAN_MARTIN,
         "structured": rf_reference(f1.replace("-", ""))},
        # partial by remittance text, then grouped: one transfer for two invoices
        {"ref": "E2", "amount": "50.00", "date": "2026-02-03", "name": "DUPONT", "text": f"ACOMPTE {d1}"},
        {"ref": "E3", "amount": "190.00", "date": "2026-02-04", "name": "DUPONT", "text": f"FACT {d1} {d2}"},
        # duplicate-looking: same amount, day and debtor, two bank references: two payments
        {"ref": "E4", "amount": "45.00", "date": "2026-02-05", "name": "X", "iban": IBAN_MARTIN},
        {"ref": "E5", "amount": "45.00", "date": "2026-02-05", "name": "X", "iban": IBAN_MARTIN},
        # nobody we know, and a debit (kept for the supplier side)
        {"ref": "E6", "amount": "99.00", "date": "2026-02-06", "name": "INCONNU", "text": "DON"},
        {"ref": "E7", "amount": "12.00", "date": "2026-02-06", "direction": "debit", "name": "BANQUE"},
    ], version=version))
    done = crm("payment", "import", str(statement), "--json").json
    assert (done["created"], done["unmatched"], done["debits"]) == (5, 1, 1)
    assert done["matched_by"] == {"reference": 1, "remittance": 2, "account": 2}
    state = {n: (books.invoice(n).state, str(books.invoice(n).residual)) for n in (f1, f2, f3, f4, d1, d2)}
    # E4 (45.00, F3 has 90.00 open: oldest first) and E5 (45.00 = F3's open amount) from the account E1 paid from
    assert state == {f1: ("paid", "0.00"), f2: ("paid", "0.00"), f3: ("paid", "0.00"), f4: ("posted", "150.00"),
                     d1: ("paid", "0.00"), d2: ("paid", "0.00")}
    assert books.sql("SELECT SUM(amount), SUM(unallocated) FROM billing_payment") == [(81165, 0)]
    assert books.sql("SELECT SUM(amount) FROM billing_allocation") == [(81165,)]
    unmatched = crm("payment", "unmatched", "--json").json
    assert [(u["amount"], u["counterparty"], u["remittance"]) for u in unmatched] == [("99.00", "INCONNU", "DON")]
    assert [u["direction"] for u in crm("payment", "unmatched", "--debits", "--json").json] == ["credit", "debit"]
    allocated = crm("payment", "allocate", "--line", str(unmatched[0]["line"]), "--invoice", f4, "--json").json
    assert (allocated["customer"]["name"], allocated["allocations"]) == (
        "Martin SARL", [{"invoice": f4, "amount": "99.00", "state": "partially_paid", "residual": "51.00"}])
    assert crm("payment", "unmatched", "--json").json == []
    assert "bank line" in crm("payment", "allocate", "--line", str(unmatched[0]["line"]), "--customer", "Dupont SA",
                              expect=1).stderr


def test_refused_camt_names_the_statement_entry_and_element_and_writes_nothing(books, crm, tmp_path):
    customer = books.customer("Durand")
    books.confirm("2026-02-01", customer)
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([{"ref": "OK-1", "amount": "120.00", "date": "2026-02-10", "name": "DURAND"},
                                   {"ref": "BAD-2", "amount": "12,50", "date": "2026-02-10", "name": "DURAND"}],
                                  statement_id="RLV-7"))
    refused = crm("payment", "import", str(statement), expect=1)
    assert "releve.xml: statement RLV-7, entry 2 (ref BAD-2): Amt:" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert books.sql("SELECT COUNT(*) FROM billing_bank_line") == [(0,)]
    assert books.sql("SELECT COUNT(*) FROM billing_payment") == [(0,)]
    later = tmp_path / "futur.xml"
    later.write_bytes(camt053([{"ref": "F-1", "amount": "1.00", "date": "2026-03-01"}], statement_id="RLV-8"))
    assert "statement RLV-8, entry 1 (ref F-1): BookgDt: 2026-03-01 is after the business date 2026-02-27" in \
        crm("payment", "import", str(later), expect=1).stderr
    absurd = tmp_path / "absurde.xml"
    absurd.write_bytes(camt053([{"ref": "D-1", "amount": "1.00", "date": "1900-01-01", "direction": "debit"}],
                               statement_id="RLV-9"))
    assert "statement RLV-9, entry 1 (ref D-1): BookgDt: 1900-01-01 is more than ten years before" in \
        crm("payment", "import", str(absurd), expect=1).stderr
    twice = tmp_path / "double.xml"
    twice.write_bytes(camt053([{"ref": "R", "amount": "1.00", "date": "2026-02-01"},
                               {"ref": "R", "amount": "2.00", "date": "2026-02-01"}]))
    assert "entry 2 (ref R): AcctSvcrRef: the same bank reference as entry 1" in \
        crm("payment", "import", str(twice), expect=1).stderr


def test_leftover_goes_to_the_oldest_open_invoice_or_stays_credit(books, crm, workspace, tmp_path):
    martin = books.customer("Martin SARL")
    f1 = books.confirm("2026-01-05", martin, lines=(("P10", "1", "301.50"),))  # 331.65
    f4 = books.confirm("2026-01-08", martin, lines=(("P20", "1", "125"),))  # 150.00
    books.run("2026-02-10")  # both reminded
    statement = tmp_path / "bank.csv"
    statement.write_text(f"date,amount,reference\n2026-02-12,481.65,VIR MARTIN {f1}\n", encoding="utf-8")
    crm("payment", "import", str(statement))
    assert [books.invoice(n).state for n in (f1, f4)] == ["paid", "paid"]
    assert books.sql("SELECT COUNT(*) FROM billing_reminder_case WHERE closed_on IS NULL") == [(0,)]
    set_billing_config(workspace, 'overpayment = "credit"')
    f5 = books.confirm("2026-02-13", martin)
    f6 = books.confirm("2026-02-14", martin)
    kept = crm("payment", "add", "--amount", "150", "--invoice", f5, "--date", "2026-02-20", "--json").json
    assert kept["unallocated"] == "30.00" and books.invoice(f6).residual == Decimal("120.00")


def test_small_difference_written_off_at_import_and_by_hand(books, crm, tmp_path):
    customer = books.customer("Durand")
    f1 = books.confirm("2026-01-05", customer)
    f2 = books.confirm("2026-01-06", customer)
    f3 = books.confirm("2026-01-07", customer)
    books.run("2026-02-10")
    statement = tmp_path / "bank.csv"
    statement.write_text(f"date,amount,reference\n2026-02-12,119.50,VIR {f1}\n2026-02-12,100.00,VIR {f2}\n",
                         encoding="utf-8")
    assert crm("payment", "import", str(statement), "--json").json["write_offs"] == 1
    assert (books.invoice(f1).state, books.invoice(f2).residual) == ("paid", Decimal("20.00"))
    refused = crm("payment", "write-off", f2, "--reason", "geste", expect=1)
    assert "20.00 is open, more than the write-off threshold 1.00" in refused.stderr
    crm("payment", "add", "--amount", "119.20", "--invoice", f3, "--date", "2026-02-13")
    done = crm("payment", "write-off", f3, "--reason", "frais bancaires", "--json").json
    assert (done["amount"], done["state"], done["reason"]) == ("0.80", "paid", "frais bancaires")
    rows = crm("payment", "write-offs", "--json").json
    assert [(r["invoice"], r["amount"], r["source"]) for r in rows] == [
        (f3, "0.80", "crm payment write-off"), (f1, "0.50", "crm payment import bank.csv")]
    closed = books.sql("SELECT i.number, c.closed_reason FROM billing_reminder_case c JOIN billing_invoice i "
                       "ON i.id = c.invoice_id WHERE c.closed_on IS NOT NULL ORDER BY i.number")
    assert closed == [(f1, "written_off"), (f3, "written_off")]
    assert all("passé en perte" in body for *_, body in books.messages("billing:case-closed:%"))
    # every cent explained: allocations of payments and write-offs make the settled amounts
    assert books.sql("SELECT SUM(amount) FROM billing_allocation WHERE write_off_id IS NOT NULL") == [(130,)]


def test_dates_and_numbers_that_mean_one_thing(books, crm, tmp_path):
    customer = books.customer("Durand")
    number = books.confirm("2026-02-05", customer)
    for day, message in (("1900-01-01", "out of range"),  # the kernel's dates run from 2000 to 2099
                         ("2016-02-26", "more than ten years before the business date"),
                         ("2099-12-31", "is after the business date 2026-02-27"),
                         ("2026-02-28", "is after the business date 2026-02-27")):
        assert message in crm("payment", "add", "--amount", "10", "--customer", "Durand", "--date", day,
                              expect=1).stderr
    assert f"2026-02-01 is before invoice {number}'s date 2026-02-05" in crm(
        "payment", "add", "--amount", "10", "--invoice", number, "--date", "2026-02-01", expect=1).stderr
    ambiguous = tmp_path / "bank.csv"
    ambiguous.write_text("date;amount;customer\n2026-02-10;1,234;Durand\n", encoding="utf-8")
    refused = crm("payment", "import", str(ambiguous), expect=1)
    assert "bank.csv: line 2: amount: '1,234' is ambiguous" in refused.stderr
    assert "at most 2 decimals" in crm("payment", "import", str(ambiguous), "--decimal-separator", ",",
                                       expect=1).stderr
    early = tmp_path / "early.csv"
    early.write_text(f"date;amount;invoice\n2026-02-01;10,00;{number}\n", encoding="utf-8")
    assert f"line 2: date: 2026-02-01 is before invoice {number}'s date" in crm(
        "payment", "import", str(early), expect=1).stderr
    english = crm("payment", "import", str(ambiguous), "--decimal-separator", ".", "--json").json
    assert english["amount"] == "1234.00"
    assert books.sql("SELECT COUNT(*) FROM billing_payment") == [(1,)]


def test_skip_invalid_writes_the_good_lines_and_lists_the_others_with_their_reason(books, crm, tmp_path):
    customer = books.customer("Durand")
    number = books.confirm("2026-02-01", customer)
    statement = tmp_path / "bank.csv"
    statement.write_text(f"date;amount;customer;invoice\n2026-02-10;100,00;Durand;{number}\n"
                         f"2026-02-10;5,00;Personne;\n2026-02-10;7,00;Durand;F2026-999999\n"
                         f"2026-02-10;1,234;Durand;\n", encoding="utf-8")
    refused = crm("payment", "import", str(statement), expect=1)
    assert "line 5: amount: '1,234' is ambiguous" in refused.stderr and books.sql(
        "SELECT COUNT(*) FROM billing_bank_line") == [(0,)]
    done = crm("payment", "import", str(statement), "--skip-invalid", "--json").json
    assert (done["created"], done["amount"], done["allocated"], done["rejected"]) == (1, "100.00", "100.00", 3)
    assert [(e["line"], e["field"]) for e in done["errors"]] == [(3, "customer"), (4, "invoice"), (5, "amount")]
    rejects = (tmp_path / "bank.rejected.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "line,date,amount,customer,invoice,error" and len(rejects) == 4
    assert books.invoice(number).residual == Decimal("20.00")
    # the rejected lines were not kept: fixed and imported again, they are new lines
    assert books.sql("SELECT COUNT(*) FROM billing_bank_line") == [(1,)]


def test_amounts_written_with_a_comma_and_three_digits_are_ambiguous():
    from marshmallow import ValidationError as SchemaError

    from core.schemas import Exact, decimal_separator

    field = Exact(2)
    assert [field.deserialize(text) for text in ("12,50", "1 234,50", "1\u202f234,5", "0,10", "1234")] == [
        Decimal("12.50"), Decimal("1234.50"), Decimal("1234.50"), Decimal("0.10"), Decimal("1234.00")]
    for text in ("1,234", "-12,500", "999,999"):
        with pytest.raises(SchemaError, match="ambiguous"):
            field.deserialize(text)
    with decimal_separator("."):
        assert field.deserialize("1,234") == Decimal("1234.00")
        assert field.deserialize("1,234.50") == Decimal("1234.50")
    with decimal_separator(","):
        assert field.deserialize("1.234,50") == Decimal("1234.50")
        with pytest.raises(SchemaError, match="at most 2 decimals"):
            field.deserialize("1,234")
    assert Exact(4).deserialize("0,001") == Decimal("0.0010")  # no thousands start with 0: not ambiguous


def test_a_bank_line_within_the_discount_window_earns_the_early_payment_discount(books, crm, tmp_path):
    """The customer's lines go through `payment add`'s path: the discount credit note is posted."""
    crm("term", "create", "ESC2", "--instalment", "days:30", "--discount", "2", "--discount-days", "10")
    durand = books.customer("Durand", term="ESC2")
    plain = books.customer("Petit")
    number = books.confirm("2026-02-10", durand, lines=(("P20", "1", "100"), ("P55", "1", "50")))  # 172.75
    other = books.confirm("2026-02-10", plain)  # 120.00, no discount offered
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([{"ref": "D1", "amount": "169.29", "date": "2026-02-20", "text": f"FACT {number}"},
                                   {"ref": "D2", "amount": "120.00", "date": "2026-02-20", "text": f"FACT {other}"}]))
    done = crm("payment", "import", str(statement), "--json").json
    assert (done["created"], done["amount"], done["allocated"]) == (2, "289.29", "289.29")
    assert [books.invoice(n).state for n in (number, other)] == ["paid", "paid"]
    assert books.sql("SELECT total FROM billing_invoice WHERE kind = 'credit_note'") == [(346,)]  # 3.46


def test_payment_recorded_listeners_hear_each_imported_payment_and_what_it_cleared(books, tmp_path):
    from core.hookspecs import hookimpl
    from plugins.billing.services_bank import import_bank_file

    heard = []

    class Listener:
        @hookimpl
        def payment_recorded(self, app, session, payment, allocations, cleared):
            heard.append((str(payment.amount), [(i.number, str(a)) for i, a in allocations],
                          [i.number for i in cleared]))

    customer = books.customer("Durand")
    f1, f2 = books.confirm("2026-02-01", customer), books.confirm("2026-02-02", customer)
    app = books.app(TODAY)
    app.pm.register(Listener())
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([{"ref": "L1", "amount": "50.00", "date": "2026-02-10", "text": f"FACT {f1}"},
                                   {"ref": "L2", "amount": "70.00", "date": "2026-02-11", "text": f"FACT {f1}"},
                                   {"ref": "L3", "amount": "119.50", "date": "2026-02-12", "text": f"FACT {f2}"}]))
    assert import_bank_file(app, statement).write_offs == 1
    assert heard == [("50.00", [(f1, "50.00")], []), ("70.00", [(f1, "70.00")], [f1]),
                     ("119.50", [(f2, "119.50")], [])]  # the write-off, not the payment, cleared F2


def test_each_line_goes_in_with_the_customer_of_the_first_invoice_it_names_that_exists(books, crm, tmp_path):
    """The numbers a statement names are looked up before its lines are written: the first one found
    gives the customer (an unknown number before it is passed over), a line naming only unknown
    numbers is matched another way or stays unmatched, a debit is nobody's payment, and a CSV
    ``customer`` column says whose a line is whatever its reference names."""
    martin, dupont = books.customer("Martin SARL"), books.customer("Dupont SA")
    m1 = books.confirm("2026-01-05", martin)  # 120.00
    d1 = books.confirm("2026-01-09", dupont)  # 120.00
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([
        {"ref": "E1", "amount": "20.00", "date": "2026-02-02", "name": "X", "text": f"F2026-999999 {d1} {m1}"},
        {"ref": "E2", "amount": "30.00", "date": "2026-02-03", "name": "MARTIN SARL", "text": "F2026-999998"},
        {"ref": "E3", "amount": "40.00", "date": "2026-02-04", "name": "Y", "text": "F2026-999997"},
        {"ref": "E4", "amount": "50.00", "date": "2026-02-05", "direction": "debit", "name": "Z", "text": m1},
    ]))
    done = crm("payment", "import", str(statement), "--json").json
    assert (done["created"], done["unmatched"], done["debits"]) == (2, 1, 1)
    lines = books.sql("SELECT bank_reference, partner_id, matched_by, state FROM billing_bank_line ORDER BY id")
    assert lines == [("E1", dupont, "remittance", "paid"), ("E2", martin, "name", "paid"),
                     ("E3", None, None, "unmatched"), ("E4", None, None, "debit")]
    named = books.sql("SELECT r.number, r.invoice_id IS NOT NULL FROM billing_bank_line_invoice r "
                      "JOIN billing_bank_line l ON l.id = r.line_id WHERE l.bank_reference = 'E1' ORDER BY r.sequence")
    assert named == [("F2026-999999", False), (d1, True), (m1, True)]
    export = tmp_path / "banque.csv"
    export.write_text(f"date;amount;customer;reference\n2026-02-10;10,00;Martin SARL;VIR {d1}\n", encoding="utf-8")
    assert crm("payment", "import", str(export), "--json").json["matched_by"] == {"customer": 1}
    assert books.sql("SELECT partner_id, matched_by FROM billing_bank_line WHERE bank_reference IS NULL "
                     "AND direction = 'credit' AND line_key LIKE 'csv:%'") == [(martin, "customer")]


def test_the_bank_import_settles_with_the_bulk_page_cache(books, crm, tmp_path, monkeypatch):
    from core.dbutil import BULK_PAGE_CACHE_KIB
    from plugins.billing import settlement

    customer = books.customer("Durand")
    number = books.confirm("2026-02-01", customer)  # 120.00
    seen, settle = [], settlement.settle

    def watched(app, session, *args, **kwargs):
        seen.append(session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
                    if app.dialect == "sqlite" else app.dialect)
        return settle(app, session, *args, **kwargs)

    monkeypatch.setattr(settlement, "settle", watched)
    statement = tmp_path / "releve.xml"
    statement.write_bytes(camt053([{"amount": "120.00", "date": "2026-02-10", "name": "DURAND", "text": number}]))
    assert crm("payment", "import", str(statement), "--json").json["created"] == 1
    assert books.invoice(number).residual == Decimal("0.00")
    assert seen in ([-BULK_PAGE_CACHE_KIB], ["postgresql"])  # PostgreSQL has no such setting to raise
