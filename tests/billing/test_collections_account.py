"""The customer's account and statement, and finding a partner by a part of its name (issue 15, item 6).

Martin SARL (bob's customer), with P20 at 100.00 + 20 % VAT, "30 jours":
- F2026-000001 (5 January, 120.00, due 4 February) paid on 25 January (20 days after its date);
- F2026-000002 (5 January, 240.00, due 4 February) reminded on 8 February, 50.00 paid on 10 February;
- F2026-000003 (2 February, 360.00, due 4 March);
- AV2026-000001 (11 February): half of F1's line credited after F1 was paid: 60.00 of credit.
"""

from __future__ import annotations

import datetime as dt

import pytest
from billing_support import pdf_text, written

pytestmark = pytest.mark.modules("billing", "funnel")


@pytest.fixture
def martin(books, crm):
    customer = books.customer("Martin SARL", siren="732829320")
    first = books.confirm("2026-01-05", customer)
    second = books.confirm("2026-01-05", customer, lines=(("P20", "2", "100"),))
    books.pay("2026-01-25", "120.00", invoice=first)
    books.confirm("2026-02-02", customer, lines=(("P20", "3", "100"),))
    books.run("2026-02-08")
    books.pay("2026-02-10", "50.00", customer="Martin SARL")
    crm.today = dt.date(2026, 2, 11)
    crm("invoice", "credit", first, "--line", "1:0.5", "--reason", "half returned")
    crm.today = dt.date(2026, 2, 12)
    crm("collections", "promise", second, "2026-02-28", "--amount", "100.00", "--user", "cora")
    crm("deal", "add", "Extension", "--customer", "Martin SARL", "--value", "1000", "--probability", "40",
        "--expected-close", "2026-03-31", "--user", "bob")
    crm("activity", "add", "call", "Relancer le devis", "--due", "2026-02-10", "--partner", "sarl", "--user", "bob")
    crm.today = dt.date(2026, 2, 15)
    return customer


def test_the_account_gathers_money_cases_deals_and_activities(martin, crm):
    data = crm("partner", "account", "martin sarl", "--json").json
    assert data["partner"]["name"] == "Martin SARL" and data["as_of"] == "2026-02-15"
    billing, funnel = data["sections"]["billing"], data["sections"]["funnel"]
    # receivable 190.00 (F2: 240.00 - 50.00) + 360.00 (F3) = 550.00; credit 60.00; balance 490.00
    assert {k: billing[k] for k in ("receivable", "credit", "balance", "overdue")} == {
        "receivable": "550.00", "credit": "60.00", "balance": "490.00", "overdue": "190.00"}
    assert [(i["number"], i["days_late"], i["level"], i["residual"]) for i in billing["open_invoices"]] == [
        ("F2026-000002", 11, 1, "190.00"), ("F2026-000003", 0, 0, "360.00")]
    assert [(p["date"], p["amount"], p["allocations"]) for p in billing["payments"]] == [
        ("2026-02-10", "50.00", [{"invoice": "F2026-000002", "amount": "50.00"}]),
        ("2026-01-25", "120.00", [{"invoice": "F2026-000001", "amount": "120.00"}])]
    assert [(c["case"], c["state"], c["assignee"]) for c in billing["cases"]] == [("F2026-000002", "promised", "cora")]
    assert billing["promises"] == [{"case": "F2026-000002", "promise_date": "2026-02-28", "amount": "100.00"}]
    # F1: 5 -> 25 January = 20 days to pay, 10 days before its due date
    assert (billing["average_days_to_pay"], billing["average_days_late"]) == (20, -10)
    assert [(d["name"], d["value"], d["weighted"]) for d in funnel["deals"]] == [("Extension", "1000.00", "400.00")]
    assert [(a["subject"], a["overdue"]) for a in funnel["activities"]] == [("Relancer le devis", True)]
    text = crm("partner", "account", "Martin SARL").stdout
    assert "== Billing ==" in text and "490.00" in text and "== Funnel ==" in text and "Extension" in text


def test_the_account_without_the_funnel_has_only_billing(workspace, books, crm):
    crm("modules", "disable", "funnel")
    books.customer("Durand")
    assert list(crm("partner", "account", "Durand", "--json").json["sections"]) == ["billing"]


def test_the_statement_pdf_prints_opening_movements_closing_and_overdue(martin, crm, tmp_path):
    path = written(crm("partner", "statement", "Martin SARL", "--from", "2026-02-01", "--to", "2026-02-15",
                       "--pdf", str(tmp_path)))
    assert path.name == f"releve-{martin}-2026-02-15.pdf"
    text = pdf_text(path)
    # opening 120.00 + 240.00 - 120.00 = 240.00; + 360.00 (F3) = 600.00; - 50.00 = 550.00; - 60.00 = 490.00
    for expected in ("Relevé de compte", "Martin SARL", "Solde d'ouverture 240,00 €",
                     "F2026-000003 360,00 € 600,00 €", "50,00 € 550,00 €", "AV2026-000001 60,00 € 490,00 €",
                     "Solde de clôture 360,00 € 110,00 € 490,00 €", "F2026-000002 04/02/2026 11 190,00 €",
                     "Total échu 190,00 €"):
        assert expected in text, expected
    english = pdf_text(written(crm("partner", "statement", "Martin SARL", "--from", "2026-02-01", "--locale", "en_GB",
                                   "--pdf", str(tmp_path / "en.pdf"))))
    assert "Statement of account" in english and "Opening balance" in english


def test_the_statement_is_sent_as_an_outbox_message_with_the_document_attached(books, martin, crm):
    result = crm("partner", "statement", "732829320", "--from", "2026-02-01", "--send")
    assert result.stdout.strip() == "statement of Martin SARL (2026-02-01 to 2026-02-15) queued for martin.sarl@client.fr"
    [message] = books.outbox("core:statement:%")
    assert message.recipients == ["martin.sarl@client.fr"]
    assert message.subject == "Relevé de compte — Martin SARL"
    assert "relevé de compte du 2026-02-01 au 2026-02-15" in message.text
    assert books.sql("SELECT attachments FROM core_notification WHERE dedup_key LIKE 'core:statement:%'") == [
        (f'[{{"document": "billing.statement", "ref": "{martin}:2026-02-01:2026-02-15"}}]',)]


def test_a_partner_is_found_by_id_siren_name_or_a_unique_part_of_it(books, crm):
    sarl = books.customer("Martin SARL", siren="732829320")
    fils = books.customer("Martin & Fils")
    roux = books.customer("Établissements Martinez")
    found = {ref: crm("partner", "show", ref, "--json").json["id"]
             for ref in (str(fils), "732 829 320", "MARTIN SARL", "sarl", "etablissements", "fils")}
    assert found == {str(fils): fils, "732 829 320": sarl, "MARTIN SARL": sarl, "sarl": sarl,
                     "etablissements": roux, "fils": fils}
    refused = crm("partner", "show", "martin", expect=1)
    # listed in name order, accents aside
    assert refused.stderr.strip() == (f"error: martin matches 3 partners: {roux} Établissements Martinez, "
                                      f"{fils} Martin & Fils, {sarl} Martin SARL (use the id)")
    assert "no such partner" in crm("partner", "show", "Dupuis", expect=1).stderr
    # every command taking a partner finds it the same way
    crm("order", "create", "--customer", "sarl", "--line", "P20:1", "--confirm")
    assert crm("invoice", "list", "--customer", "fils", "--json").json == []
    assert [i["customer"] for i in crm("invoice", "list", "--customer", "732829320", "--json").json] == ["Martin SARL"]
