"""Printed documents: the invoice and credit note PDF with every mention French law asks, in French
and English, a business's own template, and the formal notice letter with the run's figures.

PDFs are read back with pypdf (blanks made single spaces: amounts print with no-break spaces).
"""

from __future__ import annotations

import pytest
from billing_support import deliver, pdf_text, set_billing_config, written

pytestmark = pytest.mark.modules("billing")

BANK = 'iban = "FR76 3000 6000 0112 3456 7890 189"\nbic = "AGRIFRPP"\nlegal_footer = "SAS au capital de 10 000 €"'


def _durand(books):
    return books.customer("Durand SA", siren="552081317", vat_number="FR03552081317", street="1 rue de la Paix",
                          postal_code="75002", city="Paris")


def _invoice(books):
    """F2026-000001 of 31 January 2026: four VAT rates (figures as in test_invoices), delivered 2 February."""
    number = books.confirm("2026-01-31", _durand(books), [("P20", "3", "33.33"), ("P55", "1", "10.05"),
                                                          ("P10", "2", "0.125"), ("P21", "1", "19.99")])
    deliver(books, "2026-02-02", number)
    return number


def test_invoice_pdf_carries_every_legal_mention_in_french(books, crm, workspace, tmp_path):
    set_billing_config(workspace, BANK)
    number = _invoice(books)
    path = written(crm("invoice", "pdf", number, "--output", str(tmp_path)))
    assert path.name == "facture-F2026-000001.pdf"
    text = pdf_text(path)
    for words in (
            "Facture N° F2026-000001",
            # seller and buyer, with SIREN and VAT numbers and the buyer's address
            "Entonnoir Test SAS", "SIREN : 732829320", "TVA intracommunautaire : FR44732829320",
            "Durand SA 1 rue de la Paix 75002 Paris SIREN : 552081317 TVA intracommunautaire : FR03552081317",
            # dates, order, delivery, category of operation
            "Date de facture 31 janvier 2026", "Commande SO2026-", "Date de livraison 2 février 2026",
            "Catégorie de l'opération livraison de biens", "Échéance 2 mars 2026",
            # lines with their VAT rate (a unit price keeps its own decimals)
            "Produit P20 (P20) 3 33,33 € 20 % 99,99 €", "Produit P10 (P10) 2 0,125 € 10 % 0,25 €",
            "Produit P55 (P55) 1 10,05 € 5,5 % 10,05 €",
            # VAT per rate, totals
            "20 % 99,99 € 20,00 €", "10 % 0,25 € 0,03 €", "5,5 % 10,05 € 0,55 €", "2,1 % 19,99 € 0,42 €",
            "Total HT 130,28 €", "Total TVA 21,00 €", "Total TTC 151,28 €",
            # due date, term, discount, penalties, indemnity, bank details
            "À régler au plus tard le 2 mars 2026", "Conditions de paiement : 30 jours",
            "Pas d'escompte pour paiement anticipé", "Pénalités de retard : taux annuel de 12,15 %",
            "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40,00 €",
            "IBAN FR76 3000 6000 0112 3456 7890 189 — BIC AGRIFRPP", "SAS au capital de 10 000 €"):
        assert words in text, words


def test_invoice_pdf_in_english_with_the_option_or_the_company_locale(books, crm, workspace, tmp_path):
    number = _invoice(books)
    text = pdf_text(written(crm("invoice", "pdf", number, "--output", str(tmp_path), "--locale", "en_GB")))
    for words in ("Invoice No. F2026-000001", "SIREN: 552081317", "EU VAT number: FR03552081317",
                  "Invoice date 31 January 2026", "Delivery date 2 February 2026",
                  "Category of operation delivery of goods", "Produit P10 (P10) 2 €0.125 10 % €0.25",
                  "5.5 % €10.05 €0.55", "Total excl. VAT €130.28", "Total VAT €21.00", "Total incl. VAT €151.28",
                  "To be paid by 2 March 2026", "No discount for early payment",
                  "Late-payment penalties: annual rate of 12.15 %",
                  "Fixed indemnity for recovery costs in case of late payment: €40.00"):
        assert words in text, words
    assert "Facture" not in text and "IBAN FR76 3000 6000 0112 3456 7890 189" in text  # the identity's bank details
    path = workspace.config_path
    path.write_text(path.read_text(encoding="utf-8").replace('locale = "fr_FR"', 'locale = "en_GB"'),
                    encoding="utf-8")
    page = written(crm("invoice", "pdf", number, "--html", "--output", str(tmp_path / "page.html")))
    assert '<html lang="en">' in page.read_text(encoding="utf-8")
    assert "Invoice No. F2026-000001" in page.read_text(encoding="utf-8")
    printed = crm("invoice", "show", number, "--print").stdout
    assert "INVOICE No. F2026-000001" in printed and "EU VAT number: FR03552081317" in printed
    assert "Total incl. VAT: €151.28" in printed and "Delivery date: 2 February 2026" in printed


def test_credit_note_heading_names_the_invoice_it_credits(books, crm, tmp_path):
    number = _invoice(books)
    credit = crm("invoice", "credit", number, "--line", "1:1", "--reason", "article cassé", "--json").json
    text = pdf_text(written(crm("invoice", "pdf", credit["number"], "--output", str(tmp_path))))
    assert "Avoir N° AV2026-000001" in text and "Facture N°" not in text
    assert "Avoir sur la facture F2026-000001 du 31 janvier 2026 — article cassé" in text
    assert "Total TTC 40,00 €" in text and "Pénalités de retard" not in text
    english = pdf_text(written(crm("invoice", "pdf", "AV2026-000001", "--locale", "en_GB",
                                   "--output", str(tmp_path))))
    assert "Credit note No. AV2026-000001" in english and "Credits invoice F2026-000001 of 31 January 2026" in english
    assert (tmp_path / "credit-note-AV2026-000001.pdf").is_file()


def test_consumers_get_no_recovery_indemnity_mention_and_drafts_print_as_drafts(books, crm, workspace, tmp_path):
    person = books.customer("Jean Dupont", kind="person", street="3 rue B", postal_code="69003", city="Lyon")
    number = books.confirm("2026-01-05", person)
    text = pdf_text(written(crm("invoice", "pdf", number, "--output", str(tmp_path))))
    assert "Pénalités de retard" in text and "Indemnité forfaitaire" not in text
    draft = crm("invoice", "create", "--customer", "Jean Dupont", "--line", "P20:1", "--json").json
    text = pdf_text(written(crm("invoice", "pdf", str(draft["id"]), "--output", str(tmp_path))))
    assert "Facture (brouillon)" in text
    assert (tmp_path / f"facture-brouillon-{draft['id']}.pdf").is_file()
    assert "no such invoice" in crm("invoice", "pdf", "F2099-000001", expect=1).stderr


def test_the_business_template_extends_the_default_one(books, crm, workspace, tmp_path):
    folder = workspace.folder / "overrides" / "billing"
    folder.mkdir(parents=True)
    (folder / "invoice.html").write_text(
        '{% extends "default:billing/invoice.html" %}\n'
        '{% block notes %}<p class="thanks">{{ _("Thank you for your order") }}, {{ buyer.name }} !</p>{% endblock %}\n',
        encoding="utf-8")
    (workspace.folder / "overrides" / "i18n").mkdir()
    (workspace.folder / "overrides" / "i18n" / "fr.po").write_text(
        'msgid "Thank you for your order"\nmsgstr "Merci de votre commande"\n', encoding="utf-8")
    path = workspace.config_path
    path.write_text(path.read_text(encoding="utf-8") + '\n[templates]\nfolder = "overrides"\n', encoding="utf-8")
    number = _invoice(books)
    text = pdf_text(written(crm("invoice", "pdf", number, "--output", str(tmp_path))))
    assert "Merci de votre commande, Durand SA !" in text
    assert "Facture N° F2026-000001" in text and "Total TTC 151,28 €" in text  # the rest is the default page


# --- the formal notice --------------------------------------------------------------------------

def _formal_notices(books, crm):
    """Durand (business) and Dupont (consumer) at level 3 on 10 July 2026, as in test_reminders."""
    company, person = _durand(books), books.customer("Jean Dupont", kind="person", street="3 rue B",
                                                     postal_code="69003", city="Lyon")
    books.confirm("2026-04-30", company, [("P20", "10", "100")])  # F2026-000001: 1,200.00 due 30 May 2026
    books.confirm("2026-04-30", person, [("P20", "10", "100")])   # F2026-000002
    crm("rate", "add", "ecb_refinancing", "2026-06-20", "3.00")
    books.run("2026-07-10")


def test_formal_notice_letter_shows_the_run_figures(books, crm, tmp_path):
    _formal_notices(books, crm)
    path = written(crm("reminders", "letter", "F2026-000001", "--output", str(tmp_path)))
    text = pdf_text(path)
    for words in ("Entonnoir Test SAS", "Durand SA 1 rue de la Paix 75002 Paris", "Lyon, le 10 juillet 2026",
                  "LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION", "MISE EN DEMEURE",
                  # interest to the day as the run computed it (see test_reminders), 40 € for a business
                  "F2026-000001 30 avril 2026 30 mai 2026 41 1 200,00 € 1 200,00 € 16,66 € 40,00 €",
                  "Total restant dû 1 200,00 €", "Intérêts de retard 16,66 €",
                  "Indemnité forfaitaire pour frais de recouvrement 40,00 €", "Total réclamé 1 256,66 €",
                  "nous vous mettons en demeure de nous régler la somme de 1 256,66 € sous huit jours"):
        assert words in text, words
    # the same letter by its notification id; the copy to the owner is not the letter
    (letter_id,) = books.sql("SELECT id FROM core_notification WHERE channel = 'letter' AND subject LIKE '%Durand%'")[0]
    again = written(crm("reminders", "letter", str(letter_id), "--output", str(tmp_path / "again.pdf")))
    assert pdf_text(again) == text
    consumer = pdf_text(written(crm("reminders", "letter", "F2026-000002", "--locale", "en_GB",
                                    "--output", str(tmp_path))))
    assert "FORMAL NOTICE" in consumer and "Total claimed €1,216.66" in consumer and "40.00" not in consumer
    assert "Jean Dupont 3 rue B 69003 Lyon" in consumer and "Lyon, 10 July 2026" in consumer


def test_a_letter_is_only_for_a_formal_notice(books, crm):
    books.confirm("2026-01-05", _durand(books))
    assert "no formal notice was sent" in crm("reminders", "letter", "F2026-000001", expect=1).stderr
    books.run("2026-02-08")  # level 1, a friendly e-mail
    (message_id,) = books.sql("SELECT id FROM core_notification WHERE dedup_key LIKE 'billing:reminder:%'")[0]
    error = crm("reminders", "letter", str(message_id), expect=1).stderr
    assert f"notification {message_id} is not a formal notice" in error


def test_the_letter_channel_writes_the_pdf_beside_the_text(books, crm, workspace):
    _formal_notices(books, crm)
    crm("notifications", "deliver")
    folder = workspace.folder / "letters"
    pdfs, texts = sorted(folder.glob("*.pdf")), sorted(folder.glob("*.txt"))
    assert len(pdfs) == 2 and [p.stem for p in pdfs] == [t.stem for t in texts]
    letters = {path.stem: pdf_text(path) for path in pdfs}
    durand = next(text for text in letters.values() if "Durand SA" in text)
    assert "MISE EN DEMEURE" in durand and "Total réclamé 1 256,66 €" in durand
    assert "MISE EN DEMEURE DE PAYER" in texts[0].read_text(encoding="utf-8")


def test_a_message_attaches_the_invoice_rendered_at_delivery(books, crm, workspace):
    import email

    from core.outbox import DocumentAttachment, notify

    number = _invoice(books)
    with books.tx() as session:
        notify(books.app("2026-01-05"), session, recipients=["durand@client.fr"], subject=f"Votre facture {number}",
               text="Ci-joint.", attachments=[DocumentAttachment("billing.invoice", number)])
    delivered = crm("notifications", "deliver").stdout
    assert delivered.startswith("sent 1,"), crm("notifications", "list", "--json").stdout
    (eml,) = (workspace.folder / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes())
    (part,) = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert part.get_filename() == "facture-F2026-000001.pdf" and part.get_payload(decode=True).startswith(b"%PDF")


# --- printing many ------------------------------------------------------------------------------

def test_printing_many_invoices_on_two_processes_writes_each_once(books, crm, workspace):
    durand = _durand(books)
    numbers = [books.confirm("2026-01-31", durand, [("P20", str(n), "10")]) for n in (1, 2, 3)]
    (first_id,) = books.sql("SELECT id FROM billing_invoice WHERE number = :n", n=numbers[0])[0]
    # numbers and an id, one named twice, laid out by two worker processes
    refs = [numbers[0], numbers[1], numbers[2], str(first_id)]
    folder = workspace.folder / "pdf" / "2026"
    printed = crm("documents", "print", "billing.invoice", *refs, "-o", str(folder), "-j", "2", "--json").json
    assert printed["written"] == [str(folder / f"facture-{n}.pdf") for n in [*numbers, numbers[0]]]
    assert sorted(p.name for p in folder.iterdir()) == [f"facture-{n}.pdf" for n in numbers]  # no staging left
    for n, total in zip(numbers, ("12,00 €", "24,00 €", "36,00 €")):
        assert f"Total TTC {total}" in pdf_text(folder / f"facture-{n}.pdf")


def test_a_reference_that_cannot_be_printed_leaves_nothing_behind(books, crm, workspace):
    number = books.confirm("2026-01-31", _durand(books))
    for jobs in ("1", "2"):
        refused = crm("documents", "print", "billing.invoice", number, "F2026-999999", "-o",
                      str(workspace.folder / "new" / "pdf"), "-j", jobs, expect=1)
        assert refused.stderr.strip() == "error: invoice F2026-999999: no such invoice (see `crm invoice list`)", jobs
        assert not (workspace.folder / "new").exists(), jobs  # not even the folder it made
    (workspace.folder / "kept").mkdir()
    crm("documents", "print", "billing.invoice", "F2026-999999", number, "-o", str(workspace.folder / "kept"),
        "-j", "2", expect=1)
    assert list((workspace.folder / "kept").iterdir()) == []  # a folder that was there stays, empty


def test_the_invoice_prints_the_delivery_address_only_when_it_differs(books, crm, tmp_path):
    durand = _durand(books)
    elsewhere = books.confirm("2026-01-31", durand, delivery_street="Quai 4, zone portuaire",
                              delivery_postal_code="13002", delivery_city="Marseille")
    text = pdf_text(written(crm("invoice", "pdf", elsewhere, "--output", str(tmp_path))))
    assert "Durand SA 1 rue de la Paix 75002 Paris SIREN : 552081317" in text
    assert "ADRESSE DE LIVRAISON Quai 4, zone portuaire 13002 Marseille" in text  # a heading in capitals
    abroad = books.confirm("2026-01-31", durand, delivery_street="Rue Neuve 1", delivery_city="Bruxelles",
                           delivery_country="BE")
    english = pdf_text(written(crm("invoice", "pdf", abroad, "--output", str(tmp_path), "--locale", "en_GB")))
    assert "DELIVERY ADDRESS Rue Neuve 1 Bruxelles Belgium" in english
    assert "Adresse de livraison : Rue Neuve 1, Bruxelles, Belgique" in crm("invoice", "show", abroad, "--print").stdout
    assert crm("invoice", "show", abroad, "--json").json["mentions"]["delivery"] == {
        "address": "Rue Neuve 1\nBruxelles", "country": "BE"}
    # the customer's own address given again is no other place: nothing printed
    same = books.confirm("2026-01-31", durand, delivery_street="1 rue de la Paix", delivery_postal_code="75002",
                         delivery_city="Paris")
    assert "ADRESSE DE LIVRAISON" not in pdf_text(written(crm("invoice", "pdf", same, "--output", str(tmp_path))))
