"""The reminder run, rule by rule (issue 5 and DESIGN.md "Billing").

An invoice confirmed on 5 January with "30 jours" is due on 4 February; with the default policy
level 1 (3 days) is reached on 8 February, level 2 (15) on 20 February, level 3 (30) on
7 March, level 4 (45) on 22 March.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.modules("billing")


def test_overdue_means_after_the_due_date_and_levels_after_their_delay(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    assert books.invoice(number).due_date == dt.date(2026, 2, 4)
    crm.today = dt.date(2026, 2, 4)
    assert crm("invoice", "list", "--overdue", "--json").json == []  # the due date itself is not late
    crm.today = dt.date(2026, 2, 5)
    assert [r["number"] for r in crm("invoice", "list", "--overdue", "--json").json] == [number]
    for day in ("2026-02-04", "2026-02-05", "2026-02-07"):
        assert books.run(day).customers == 0, day
    assert books.run("2026-02-08").sent == {1: 1}
    for day in ("2026-02-09", "2026-02-19"):
        assert books.run(day).customers == 0
    assert books.run("2026-02-20").sent == {2: 1}
    assert books.run("2026-03-07").sent == {3: 1}
    assert books.run("2026-03-22").sent == {4: 1}
    assert books.run("2026-04-30").customers == 0  # no level 5
    assert [(l, s, d) for _, l, s, d in books.reminders()] == [
        (1, "sent", "2026-02-08"), (2, "sent", "2026-02-20"), (3, "sent", "2026-03-07"), (4, "sent", "2026-03-22")]


def test_each_level_goes_out_once_even_when_the_run_is_repeated(books, crm):
    books.confirm("2026-01-05", books.customer("Durand"))
    first = crm("--today", "2026-02-08", "reminders", "run", "--json").json
    again = crm("--today", "2026-02-08", "reminders", "run", "--json").json
    later = crm("--today", "2026-02-09", "reminders", "run", "--json").json
    assert (first["level_1"], again["reminders"], later["reminders"]) == (1, 0, 0)
    assert len(books.messages()) == 1
    # the daily job: one slot per day, and the run inside finds nothing more either
    jobs = crm("--today", "2026-02-08", "jobs", "run", "--only", "billing.reminders", "--json", expect=None)
    assert jobs.exit_code == 0, jobs
    assert len(books.messages()) == 1
    assert books.sql("SELECT COUNT(*) FROM billing_reminder") == [(1,)]


def test_a_crash_mid_run_leaves_nothing_and_the_next_run_sends_once(books, monkeypatch):
    books.confirm("2026-01-05", books.customer("Durand"))
    from plugins.billing import services_reminder_messages

    monkeypatch.setattr(services_reminder_messages.Composer, "finish", lambda self: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        books.run("2026-02-08")
    assert books.reminders() == [] and books.messages() == []
    monkeypatch.undo()
    assert books.run("2026-02-08").sent == {1: 1}
    assert len(books.messages()) == 1


def test_catch_up_after_an_outage_sends_only_the_highest_level_and_records_the_skipped(books):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    report = books.run("2026-03-10")  # nothing ran since the due date: level 3 is due, 1 and 2 are skipped
    assert (report.sent, report.skipped) == ({3: 1}, 2)
    assert books.reminders() == [(number, 1, "skipped", "2026-03-10"), (number, 2, "skipped", "2026-03-10"),
                                 (number, 3, "sent", "2026-03-10")]
    ((_, subject, channel, _),) = [m for m in books.messages() if not m[1].startswith("Copie")]
    assert subject.startswith("Mise en demeure") and channel == "letter"


def test_one_message_per_customer_listing_all_their_overdue_invoices(books):
    durand, martin = books.customer("Durand"), books.customer("Martin", salesperson="alice")
    old = books.confirm("2026-01-05", durand)  # due 4 Feb: level 2 on 20 Feb
    other = books.confirm("2026-01-05", martin)
    new = books.confirm("2026-01-16", durand)  # due 15 Feb: level 1 on 19 Feb, level 2 only on 3 March
    books.run("2026-02-08")
    report = books.run("2026-02-20")
    assert report.sent == {1: 1, 2: 2} and report.customers == 2
    assert len(books.messages()) == 4  # 8 February: one each; 20 February: one each
    messages = books.messages()[-2:]
    by_customer = {m[1].split("(")[-1].rstrip(")"): m for m in messages}
    recipients, subject, channel, body = by_customer["Durand"]
    assert subject.startswith("Relance ferme : 2 factures") and old in body and new in body
    assert recipients == ["durand@client.fr", "bob@acme.fr"]  # level 2: the sales owner in copy
    assert by_customer["Martin"][0] == ["martin@client.fr", "alice@acme.fr"] and other in by_customer["Martin"][3]


def test_paid_credited_disputed_and_blocked_invoices_get_nothing_partly_paid_the_open_amount(books, crm):
    names = ["Paid", "Credited", "Disputed", "Blocked", "Partial"]
    ids = {name: books.customer(name) for name in names}
    numbers = {name: books.confirm("2026-01-05", ids[name]) for name in names}
    books.pay("2026-02-07", "120.00", customer=str(ids["Paid"]))
    crm("invoice", "credit", numbers["Credited"])
    crm("invoice", "dispute", numbers["Disputed"], "--reason", "livraison incomplète")
    crm("invoice", "block", numbers["Blocked"], "--reason", "échéancier accordé")
    books.pay("2026-02-07", "45.50", customer=str(ids["Partial"]))
    report = books.run("2026-02-08")
    assert [m["customer"] for m in report.messages] == ["Partial"]
    assert report.messages[0]["invoices"][0]["open"] == "74,50\xa0€"
    assert "74,50" in books.messages()[0][3] and "sur 120,00" in books.messages()[0][3]
    assert books.sql("SELECT amount_open FROM billing_reminder") == [(7450,)]
    crm("invoice", "release", numbers["Disputed"])
    assert [m["customer"] for m in books.run("2026-02-09").messages] == ["Disputed"]


def test_internal_summary_once_per_run_to_each_owner_and_collections(books):
    books.confirm("2026-01-05", books.customer("Durand"))
    books.confirm("2026-01-05", books.customer("Dupond"))
    books.confirm("2026-01-05", books.customer("Martin", salesperson="alice"))
    books.run("2026-02-08")
    books.run("2026-02-08")
    summaries = books.messages("billing:summary:%")
    assert sorted(tuple(r) for r, *_ in summaries) == [("alice@acme.fr",), ("bob@acme.fr",), ("cora@acme.fr",)]
    bob = next(m for m in summaries if m[0] == ["bob@acme.fr"])
    assert "Durand" in bob[3] and "Dupond" in bob[3] and "Martin" not in bob[3]
    cora = next(m for m in summaries if m[0] == ["cora@acme.fr"])
    assert "niveau 1 (Relance amiable) : 3 client(s), 3 facture(s), 360,00" in cora[3]


def test_formal_notice_interest_to_the_day_with_dated_rates_and_indemnity_for_businesses(books, crm):
    company = books.customer("Durand")
    person = books.customer("Jean Dupont", kind="person")
    books.confirm("2026-04-30", company, [("P20", "10", "100")])  # 1,200.00 due 30 May 2026
    books.confirm("2026-04-30", person, [("P20", "10", "100")])
    # a new ECB rate from 1 July 2026: the second half-year's days are at 3.00 + 10 = 13 %
    crm("rate", "add", "ecb_refinancing", "2026-06-20", "3.00")
    report = books.run("2026-07-10")  # 41 days late: 31 days in June at 12.15 %, 10 days in July at 13 %
    assert report.sent == {3: 2}
    expected = (Decimal("1200") * Decimal("12.15") * 31 / 36500
                + Decimal("1200") * Decimal("13") * 10 / 36500).quantize(Decimal("0.01"))
    assert expected == Decimal("16.66")
    rows = books.sql("SELECT p.name, r.interest, r.indemnity FROM billing_reminder r JOIN core_partner p "
                     "ON p.id = r.partner_id WHERE r.status = 'sent' ORDER BY p.name")
    assert rows == [("Durand", 1666, 4000), ("Jean Dupont", 1666, None)]
    letter = next(m for m in books.messages() if m[2] == "letter" and "Durand" in m[1])
    assert "MISE EN DEMEURE" in letter[3] and "16,66" in letter[3] and "40,00" in letter[3]
    assert "1\u202f256,66" in letter[3]  # total claimed
    person_letter = next(m for m in books.messages() if m[2] == "letter" and "Dupont" in m[1])
    assert "40,00" not in person_letter[3]


def test_the_floor_of_three_times_the_legal_rate(books):
    from plugins.billing.services_rates import RateTable

    with books.tx() as session:
        from plugins.billing.services_rates import add_rate

        add_rate(session, "ecb_refinancing", dt.date(2027, 1, 1), Decimal("0.00"))
        add_rate(session, "legal", dt.date(2027, 1, 1), Decimal("4.00"))
        table = RateTable(session, Decimal("10"))
        assert table.penalty_rate(dt.date(2027, 3, 1)) == Decimal("12.00")  # 3 x 4 beats 0 + 10
        assert table.penalty_rate(dt.date(2026, 3, 1)) == Decimal("12.15")
        assert table.penalty_rate(dt.date(2026, 7, 1)) == Decimal("12.15")


def test_handover_creates_a_collection_task_and_notifies_collections(books, crm):
    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.run("2026-03-22")
    tasks = crm("reminders", "tasks", "--json").json
    assert [t["customer"] for t in tasks] == ["Durand"] and number in tasks[0]["summary"]
    handover = [m for m in books.messages() if m[1].startswith("Transmission au recouvrement")]
    assert [m[0] for m in handover] == [["bob@acme.fr", "cora@acme.fr"]]
    cases = crm("--today", "2026-03-22", "reminders", "list", "--json").json
    assert (cases[0]["level"], cases[0]["handed_over_on"], cases[0]["days_late"]) == (4, "2026-03-22", 46)


def test_customer_without_email_gets_a_letter_and_dry_run_writes_nothing(books, crm):
    books.confirm("2026-01-05", books.customer("Sans Mail", email=None, street="2 rue Y", postal_code="69001",
                                                city="Lyon"))
    dry = crm("--today", "2026-02-08", "reminders", "run", "--dry-run").stdout
    assert "would send to 1 customer(s)" in dry and "Sans Mail: level 1 by letter" in dry
    assert books.reminders() == [] and books.messages() == []
    crm("--today", "2026-02-08", "reminders", "run")
    ((recipients, _, channel, _),) = books.messages()
    assert (recipients, channel) == (["Sans Mail, 2 rue Y, 69001 Lyon"], "letter")


def test_policy_is_editable_and_checked(books, crm):
    assert [l["delay_days"] for l in crm("reminders", "level", "list", "--json").json] == [3, 15, 30, 45]
    crm("reminders", "level", "set", "1", "--delay", "5")
    bad = crm("reminders", "level", "set", "2", "--delay", "4", expect=1)
    assert "level 2 (4 days) must come later than level 1 (5 days)" in bad.stderr
    assert "'fax' is not one of" in crm("reminders", "level", "set", "2", "--channel", "fax", expect=2).stderr
    assert "without a hole" in crm("reminders", "level", "remove", "2", expect=1).stderr
    crm("reminders", "level", "remove", "4")
    number = books.confirm("2026-01-05", books.customer("Durand"))
    assert books.run("2026-02-09").customers == 0  # 5 days now
    assert books.run("2026-02-10").sent == {1: 1}
    assert books.run("2026-05-01").sent == {3: 1}
    assert number


def test_policy_from_the_config_file(tmp_path, monkeypatch):
    from core.app import App
    from core.config import load_config
    from core.lifecycle import enable_module, init_workspace

    folder = tmp_path / "configured"
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    app = init_workspace(folder, name="Conf SAS")
    app.close()
    path = folder / "crm.toml"
    path.write_text(path.read_text() + '\n[[billing.reminder_levels]]\nname = "Un"\ndelay_days = 2\n'
                    '[[billing.reminder_levels]]\nname = "Deux"\ndelay_days = 9\nrecipients = "customer,owner"\n')
    app = enable_module(App(load_config(path)), "billing")
    from plugins.billing.services_reminder_levels import levels

    with app.transaction() as session:
        assert [(l.level, l.name, l.delay_days, l.recipients) for l in levels(session)] == [
            (1, "Un", 2, "customer"), (2, "Deux", 9, "customer,owner")]
    app.close()


def test_messages_store_a_template_and_data_and_are_worded_at_delivery(books):
    import json

    number = books.confirm("2026-01-05", books.customer("Durand"))
    books.pay("2026-02-07", "45.50", customer="Durand")
    books.run("2026-02-08")
    ((template, context, body),) = books.sql("SELECT template, context, body_text FROM core_notification "
                                             "WHERE dedup_key LIKE 'billing:reminder:%'")
    data = json.loads(context)
    assert (template, body) == ("billing/reminder_friendly", "")  # nothing worded by the run
    assert data["today"] == "2026-02-08" and data["total_open"] == "74.50"
    assert data["invoices"] == [{"number": number, "invoice_date": "2026-01-05", "due_date": "2026-02-04",
                                 "days_late": 4, "total": "120.00", "open": "74.50"}]
    (message,) = books.outbox()
    assert f"- Facture {number} du 5 janvier 2026, échue le 4 février 2026 (4 jours de retard) : " \
           "74,50\xa0€ restant dû sur 120,00\xa0€\n" in message.text
    assert ", le 8 février 2026\n\nBonjour Durand," in message.text and "Total restant dû : 74,50\xa0€" in message.text
    assert f"<tr><td>{number}</td><td>5 janvier 2026</td><td>4 février 2026</td><td>4</td>" \
           "<td>74,50\xa0€</td></tr>" in message.html


def test_the_context_lists_the_invoices_oldest_due_first_and_escapes_what_the_customer_typed(books):
    import json

    from core.models import Partner
    from plugins.billing.services_terms import get_term, set_partner_term

    name = 'Café "Le Zinc" \\ Fils'
    customer = books.customer(name, email="zinc@client.fr", street="3 allée de l'Été", postal_code="42000",
                              city="Saint-Étienne", term="60J")
    later = books.confirm("2026-01-03", customer)  # due 4 March
    with books.tx() as session:
        set_partner_term(session, session.get(Partner, customer), get_term(session, "30J"))
    earlier = books.confirm("2026-01-10", customer)  # written second, due first (9 February)
    books.run("2026-03-27")  # 46 and 23 days late: level 4 for one, so the customer's level is 4
    ((recipients, context, dedup_key),) = books.sql("SELECT recipients, context, dedup_key FROM core_notification "
                                                   "WHERE dedup_key LIKE 'billing:reminder:%'")
    data = json.loads(context)
    assert data["customer"] == {"name": name, "email": "zinc@client.fr", "street": "3 allée de l'Été",
                                "postal_code": "42000", "city": "Saint-Étienne"}
    assert [(i["number"], i["days_late"]) for i in data["invoices"]] == [(earlier, 46), (later, 23)]
    assert data["level"] == {"level": 4, "name": "Transmission au recouvrement", "handover": True}
    assert (data["business"], data["interest"], data["indemnity"]) == (True, True, True)
    assert data["total_indemnity"] == "80.00" and all(i["indemnity"] == "40.00" for i in data["invoices"])
    assert json.loads(recipients) == ["bob@acme.fr", "cora@acme.fr"]  # level 4 goes to collections and the owner
    first_id = books.sql("SELECT MIN(id) FROM billing_invoice")[0][0]
    assert dedup_key == f"billing:reminder:{customer}:2026-03-27:L4:{first_id}"


def test_a_letter_is_addressed_with_the_parts_of_the_address_the_customer_has(books):
    from sqlalchemy import text

    ville, nom = books.customer("Ville Seule", email=None, city="Lyon"), books.customer("Nom Seul", email=None)
    books.confirm("2026-01-05", ville)
    books.confirm("2026-01-05", nom)
    with books.tx() as session:  # addresses lost after invoicing (an invoice needs one): the letter uses what is left
        session.execute(text("UPDATE core_partner SET street = NULL, postal_code = NULL WHERE id = :id"), {"id": ville})
        session.execute(text("UPDATE core_partner SET street = NULL, postal_code = NULL, city = NULL WHERE id = :id"),
                        {"id": nom})
    books.run("2026-03-07")  # the formal notice: a letter, and the owner's copy by e-mail
    letters = sorted(m[0] for m in books.messages() if m[2] == "letter")
    assert letters == [["Nom Seul"], ["Ville Seule, Lyon"]]
    copies = [m for m in books.messages() if m[1].startswith("Copie : Mise en demeure : 1 facture en retard")]
    assert [m[0] for m in copies] == [["bob@acme.fr"], ["bob@acme.fr"]]


def test_the_report_counts_what_the_run_wrote_and_a_second_run_writes_nothing(books):
    for name in ("Durand", "Dupond"):
        books.confirm("2026-01-05", books.customer(name))
    first = books.run("2026-03-07")  # two letters, two copies, the owner's summary and collections'
    assert first.notifications == len(books.messages("%")) == 6
    assert books.run("2026-03-07").notifications == 0 and len(books.messages("%")) == 6


def test_interest_on_days_without_a_known_rate_stops_the_run_and_names_the_rate_to_add(books):
    from sqlalchemy import text

    from core.errors import CrmError

    books.confirm("2026-01-05", books.customer("Durand"))  # due 4 February
    with books.tx() as session:  # as if none had ever been recorded
        session.execute(text("DELETE FROM billing_rate WHERE kind = 'ecb_refinancing'"))
    with pytest.raises(CrmError, match="rate ecb_refinancing: none known on 2026-01-01"):
        books.run("2026-03-10")  # the formal notice claims interest from 5 February
    assert books.reminders() == [] and books.messages("%") == []



def _plain(text: str) -> str:
    """Money as typed: the narrow and ordinary no-break spaces of French amounts made plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_an_invoice_paid_in_instalments_is_reminded_of_what_is_overdue_with_interest_per_instalment(books, crm):
    """1,200.00 in two instalments, 600.00 due 4 February and 600.00 due 6 March (a "50-50" term).

    Durand pays nothing, Martin pays 300.00 on 1 February: on 8 February only the first instalment
    is overdue (Durand 600.00, Martin 300.00); on 10 March both are, the first 34 days late and the
    second 4 days, each earning interest from its own due date (12.15 % in 2026-H1).
    """
    crm("term", "create", "50-50", "--instalment", "50:days:30", "--instalment", "days:60")
    durand, martin = books.customer("Durand", term="50-50"), books.customer("Martin", term="50-50")
    first = books.confirm("2026-01-05", durand, [("P20", "10", "100")])
    second = books.confirm("2026-01-05", martin, [("P20", "10", "100")])
    assert [(str(day), cents) for day, cents in books.sql(
        "SELECT due_date, amount FROM billing_invoice_due WHERE invoice_id = 1 ORDER BY sequence")] == [
        ("2026-02-04", 60000), ("2026-03-06", 60000)]
    books.pay("2026-02-01", "300", customer=str(martin), reference=second)
    report = books.run("2026-02-08")
    assert {m["customer"]: (m["total_open"], [_plain(i["open"]) for i in m["invoices"]])
            for m in report.messages} == {"Durand": ("600.00", ["600,00 €"]), "Martin": ("300.00", ["300,00 €"])}
    assert books.sql("SELECT invoice_id, amount_open FROM billing_reminder WHERE status = 'sent' ORDER BY 1") == [
        (1, 60000), (2, 30000)]
    durand_mail = _plain(next(m for m in books.messages() if "(Durand)" in m[1])[3])
    assert (f"Facture {first} du 5 janvier 2026, échue le 4 février 2026 (4 jours de retard) : 600,00 € "
            "restant dû sur 1 200,00 €, 600,00 € à échoir") in durand_mail
    assert "Total restant dû : 600,00 €" in durand_mail

    books.run("2026-03-10")  # formal notice: both instalments overdue
    durand_interest = (Decimal("600") * Decimal("12.15") * 34 / 36500
                       + Decimal("600") * Decimal("12.15") * 4 / 36500).quantize(Decimal("0.01"))
    martin_interest = (Decimal("300") * Decimal("12.15") * 34 / 36500
                       + Decimal("600") * Decimal("12.15") * 4 / 36500).quantize(Decimal("0.01"))
    assert (durand_interest, martin_interest) == (Decimal("7.59"), Decimal("4.19"))
    assert books.sql("SELECT invoice_id, amount_open, interest FROM billing_reminder "
                     "WHERE status = 'sent' AND level = 3 ORDER BY 1") == [(1, 120000, 759), (2, 90000, 419)]
    letter = _plain(next(m for m in books.messages() if m[2] == "letter" and "(Martin)" in m[1])[3])
    assert f"{second} du 5 janvier 2026, échue le 4 février 2026 (34 jours de retard) : 900,00 € restant dû sur " \
           "1 200,00 €, intérêts de retard 4,19 €" in letter and "à échoir" not in letter
    assert "Total réclamé : 944,19 €" in letter  # 900.00 + 4.19 + the 40.00 indemnity


def test_an_instalment_invoice_whose_overdue_instalments_are_paid_gets_no_reminder(books, crm):
    crm("term", "create", "30-70", "--instalment", "30:days:30", "--instalment", "days:60")
    durand = books.customer("Durand", term="30-70")
    number = books.confirm("2026-01-05", durand, [("P20", "10", "100")])  # 360.00 due 4 Feb, 840.00 on 6 Mar
    books.pay("2026-02-04", "360", customer=str(durand), reference=number)  # the first instalment, on time
    assert books.invoice(number).due_date == dt.date(2026, 3, 6)
    assert books.run("2026-02-20").customers == 0  # nothing overdue: the rest falls due on 6 March
    report = books.run("2026-03-10")
    assert report.sent == {1: 1} and report.messages[0]["total_open"] == "840.00"
