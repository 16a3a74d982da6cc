"""Every mention of Code de commerce L441-9 and CGI art. 242 nonies A, on each kind of document.

Read back as a person reads them: the PDFs turned to text by ``pdftotext`` (poppler), the text
print of ``crm invoice show --print`` and the JSON of ``--json``. docs/billing.md lists each
mention and the article it comes from.
"""

from __future__ import annotations

import subprocess

import pytest
from billing_support import deliver, pdftotext, written

pytestmark = pytest.mark.modules("billing")

#: the seller (core.testing.TEST_COMPANY) as every document names it, in French
SELLER = ["Entonnoir Test SAS", "SAS au capital de 50 000,00 €", "RCS Lyon 732 829 320", "12 rue des Lilas",
          "69003 Lyon", "FR44732829320"]


@pytest.fixture
def sale(books, crm):
    """F2026-000001 of 31 January 2026 to Durand SA: goods and a service, one line discounted, two
    VAT rates, delivered elsewhere on 2 February; the company opted for VAT on debits."""
    from core.services.catalog import create_product

    with books.tx() as session:
        create_product(session, {"sku": "POSE", "name": "Pose (heure)", "list_price": "60", "kind": "service"})
    crm("company", "set", "--vat-on-debits")
    durand = books.customer("Durand SA", siren="552081317", vat_number="FR03552081317", street="1 rue de la Paix",
                            postal_code="75002", city="Paris")
    app = books.app("2026-01-31")
    from core.services.orders import confirm_order, create_order
    from sqlalchemy import text

    with app.transaction() as session:
        order = create_order(app, session, {
            "customer": str(durand), "delivery_street": "8 quai du Port", "delivery_postal_code": "13002",
            "delivery_city": "Marseille",
            "lines": [{"sku": "P20", "quantity": "3", "unit_price": "33.33", "discount": "10"},
                      {"sku": "P55", "quantity": "1", "unit_price": "10.05"},
                      {"sku": "POSE", "quantity": "2", "unit_price": "60"}]})
        confirm_order(app, session, order)
        number = session.execute(text("SELECT number FROM billing_invoice WHERE order_id = :o"),
                                 {"o": order.id}).scalar()
    deliver(books, "2026-02-02", number)
    return number


def test_the_invoice_pdf_text_and_json_carry_every_mention(sale, crm, tmp_path):
    text = pdftotext(written(crm("invoice", "pdf", sale, "--output", str(tmp_path))))
    printed = " ".join(crm("invoice", "show", sale, "--print").stdout.replace("\u202f", " ").replace("\xa0", " ")
                       .split())
    for words in [
        *SELLER,
        # the buyer: name, address, SIREN (the 2026 reform), VAT number
        "Durand SA", "1 rue de la Paix", "75002 Paris", "552081317", "FR03552081317",
        # number, issue date, date of the sale (delivery)
        "F2026-000001", "31 janvier 2026", "2 février 2026",
        # per line: description, quantity, unit price excl. VAT, discount, VAT rate
        "Produit P20", "33,33 €", "10 %", "20 %", "Pose (heure)", "60,00 €", "5,5 %",
        # totals per VAT rate and in all
        "89,99 €", "209,99 €", "42,00 €", "10,05 €", "0,55 €", "Total TTC",
        # the 2026 reform: delivery address when different, nature of the operation, VAT on debits
        "8 quai du Port", "13002 Marseille", "biens et services",
        "Option pour le paiement de la taxe d'après les débits",
        # payment: term, due date, early payment, penalties, the 40 € indemnity, bank, reference
        "30 jours", "2 mars 2026", "Pas d'escompte pour paiement anticipé", "taux annuel de 12,15 %", "40,00 €",
        "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP", "Référence à rappeler avec votre paiement : F2026-000001",
    ]:
        assert words in text, words
        if words not in ("Total TTC",):  # the text print words the totals its own way
            assert words in printed or words.replace(" €", " €") in printed, words
    mentions = crm("invoice", "show", sale, "--json").json["mentions"]
    assert (mentions["seller"]["legal_form"], mentions["seller"]["registration"], mentions["seller"]["share_capital"],
            mentions["seller"]["vat_on_debits"], mentions["seller"]["iban"]) == \
        ("SAS", "RCS Lyon 732 829 320", "50000.00", True, "FR7630006000011234567890189")
    assert (mentions["operation_category"], mentions["payment_reference"], mentions["buyer"]["siren"]) == \
        ("mixed", "F2026-000001", "552081317")
    assert mentions["delivery"]["address"] == "8 quai du Port\n13002 Marseille"


def test_a_posted_invoice_keeps_the_identity_it_was_posted_with(sale, crm, tmp_path):
    crm("company", "set", "--share-capital", "80000", "--street", "1 place Neuve")
    text = pdftotext(written(crm("invoice", "pdf", sale, "--output", str(tmp_path))))
    assert "50 000,00 €" in text and "12 rue des Lilas" in text and "80 000" not in text


def test_a_credit_note_cites_its_invoice_and_says_whole_or_part(sale, crm, tmp_path):
    part = crm("invoice", "credit", sale, "--line", "3:1", "--json").json["number"]
    text = pdftotext(written(crm("invoice", "pdf", part, "--output", str(tmp_path))))
    for words in [*SELLER, "Avoir", part, "F2026-000001 du 31 janvier 2026",
                  "Annule partiellement la facture F2026-000001", "552081317", "20 %"]:
        assert words in text, words
    assert crm("invoice", "show", part, "--json").json["mentions"]["cancels"] == "part"
    rest = crm("invoice", "credit", sale, "--json").json["number"]
    assert crm("invoice", "show", rest, "--json").json["mentions"]["cancels"] == "part"  # the rest, not the whole
    whole = crm("invoice", "credit", crm("invoice", "create", "--customer", "Durand SA", "--line", "P20:1", "--post",
                                         "--json").json["number"], "--json").json["number"]
    text = pdftotext(written(crm("invoice", "pdf", whole, "--output", str(tmp_path))))
    assert "Annule intégralement la facture F2026-000002" in text


def test_a_customer_reads_in_their_language_and_never_a_french_term_label(sale, crm, tmp_path):
    durand = crm("partner", "show", "Durand SA", "--json").json["id"]
    crm("partner", "edit", str(durand), "--language", "en")
    path = written(crm("invoice", "pdf", sale, "--output", str(tmp_path)))  # no --locale: the customer's
    assert path.name == "invoice-F2026-000001.pdf"
    text = pdftotext(path)
    for words in ("Invoice No. F2026-000001", "SAS with a share capital of €50,000.00", "Payment terms: 30 days",
                  "No discount for early payment", "Reference to quote with your payment: F2026-000001",
                  "Option for paying VAT on debits"):
        assert words in text, words
    assert "30 jours" not in text and "30J" not in text and "Facture" not in text
    # staff keep the company's language when they ask for it
    assert "Facture" in pdftotext(written(crm("invoice", "pdf", sale, "--locale", "fr_FR",
                                              "--output", str(tmp_path / "fr.pdf"))))


def test_the_letter_printed_again_has_the_pages_of_the_letter_sent(books, crm, workspace, tmp_path):
    """The formal notice: the sender's full identity, the place and date, "copies enclosed" before the
    signature, then the invoices; `crm reminders letter` gives the same pages as the letter posted."""
    durand = books.customer("Durand")
    first = books.confirm("2026-01-05", durand)
    books.confirm("2026-01-16", durand, [("P20", "2", "100")])
    books.run("2026-03-10")  # level 3: the formal notice, by letter, enclosing both invoices
    crm("notifications", "deliver")
    (sent,) = (workspace.folder / "letters").glob("*.pdf")
    again = written(crm("reminders", "letter", first, "--output", str(tmp_path)))
    from pypdf import PdfReader

    assert len(PdfReader(str(again)).pages) == len(PdfReader(str(sent)).pages) >= 3
    text, sent_text = pdftotext(again), pdftotext(sent)
    assert text == sent_text
    for words in [*SELLER, "contact@entonnoir-test.fr", "Lyon, le 10 mars 2026", "Durand"]:
        assert words in text, words
    enclosed = text.index("Vous trouverez ci-joint une copie de chaque facture.")
    signature = text.index("Veuillez agréer, Madame, Monsieur, nos salutations distinguées.")
    assert enclosed < signature < text.index("Facture N° F2026-000001") < text.index("Facture N° F2026-000002")


def test_reminders_reach_each_customer_in_their_language(books, crm, workspace):
    """An English-speaking customer's reminder (subject, text, the invoice attached) is in English; a
    French one's in French; what staff read (the summary) stays in the company's language."""
    import email
    from email import policy

    smith = books.customer("Smith Ltd", email="accounts@smith.co.uk")
    crm("partner", "edit", str(smith), "--language", "en")
    durand = books.customer("Durand")
    english, french = books.confirm("2026-01-05", smith), books.confirm("2026-01-05", durand)
    books.run("2026-02-10")  # the friendly reminder, by e-mail, the invoices attached
    crm("notifications", "deliver")
    mails = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
             for p in sorted((workspace.folder / "outbox").iterdir())]
    (to_smith,) = [m for m in mails if "accounts@smith.co.uk" in m["To"]]
    (to_durand,) = [m for m in mails if "durand@client.fr" in m["To"]]
    assert to_smith["Subject"] == "Friendly reminder: 1 overdue invoice (Smith Ltd)"
    assert to_durand["Subject"].startswith("Relance amiable : 1 facture en retard (Durand)")
    assert "Dear Smith Ltd," in to_smith.get_body(("plain",)).get_content()
    assert "Bonjour Durand," in to_durand.get_body(("plain",)).get_content()
    assert [a.get_filename() for a in to_smith.iter_attachments()] == [f"invoice-{english}.pdf"]
    assert [a.get_filename() for a in to_durand.iter_attachments()] == [f"facture-{french}.pdf"]
    summaries = [m["Subject"] for m in mails if m["Subject"].startswith("Relances du")]
    assert summaries  # staff read the run's summary in the company's language


def test_the_logo_is_printed_on_the_invoice(sale, crm, tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    logo = tmp_path / "logo-source.png"  # a 2 x 2 red PNG
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    crm("company", "set", "--logo", str(logo))
    draft = crm("invoice", "create", "--customer", "Durand SA", "--line", "P20:1", "--json").json
    path = written(crm("invoice", "pdf", str(draft["id"]), "--output", str(tmp_path / "out.pdf")))
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert len(images.strip().splitlines()) == 3  # the header, the rule, one image: the logo
    before = subprocess.run(["pdfimages", "-list", str(written(crm("invoice", "pdf", sale, "--output",
                                                                   str(tmp_path / "old.pdf"))))],
                            capture_output=True, text=True, check=True).stdout
    assert len(before.strip().splitlines()) == 2  # posted before the logo: it keeps the identity it had
