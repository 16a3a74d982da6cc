"""Reminders carry their documents: a PDF of each overdue invoice (issue 7).

The run stores only references (``billing.invoice`` and the invoice number); the PDFs are laid
out when the message is delivered. The default policy attaches the invoices to the three
messages to the customer (friendly, firm, formal notice), not to the hand-over to collections;
``crm reminders level set N --no-attach-invoices`` turns it off for a level.
"""

from __future__ import annotations

import email
import json
from email import policy

import pytest
from alembic import command
from billing_support import pdf_text

from core.migrate import alembic_config

pytestmark = pytest.mark.modules("billing")


def _eml(workspace, subject_part: str):
    """The delivered e-mail whose subject contains ``subject_part``."""
    found = [m for m in (email.message_from_bytes(p.read_bytes(), policy=policy.default)
                         for p in (workspace.folder / "outbox").glob("*.eml")) if subject_part in m["Subject"]]
    assert len(found) == 1, [m["Subject"] for m in found]
    return found[0]


def _two_overdue(books):
    """Durand owes F2026-000002 (due 15 Feb, 2 x 100 + VAT) and F2026-000001 (due 4 Feb, 100 + VAT)."""
    durand = books.customer("Durand")
    first = books.confirm("2026-01-05", durand)
    second = books.confirm("2026-01-16", durand, [("P20", "2", "100")])
    return first, second


def test_the_friendly_reminder_attaches_each_overdue_invoice_rendered_at_delivery(books, crm, workspace):
    first, second = _two_overdue(books)
    books.run("2026-02-19")  # level 1 for both
    [listed] = [n for n in crm("notifications", "list", "--json").json if n["subject"].startswith("Relance amiable")]
    # oldest due first, and only the references are stored: no PDF is laid out by the run
    assert listed["attachments"] == [f"billing.invoice {first}", f"billing.invoice {second}"]
    (stored,) = books.sql("SELECT attachments FROM core_notification WHERE id = :id", id=listed["id"])[0]
    assert json.loads(stored) == [{"document": "billing.invoice", "ref": first},
                                  {"document": "billing.invoice", "ref": second}]
    assert crm("notifications", "deliver").stdout.startswith("sent 3,")  # with the summaries to bob and collections
    mail = _eml(workspace, "Relance amiable")
    assert "Vous trouverez ci-joint une copie de chaque facture." in mail.get_body(("plain",)).get_content()
    assert "Vous trouverez ci-joint une copie de chaque facture." in mail.get_body(("html",)).get_content()
    attachments = list(mail.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        (f"facture-{first}.pdf", "application/pdf"), (f"facture-{second}.pdf", "application/pdf")]
    texts = [pdf_text(a.get_content()) for a in attachments]
    assert f"Facture N° {first}" in texts[0] and "Total TTC 120,00 €" in texts[0]
    assert f"Facture N° {second}" in texts[1] and "Total TTC 240,00 €" in texts[1]


def test_a_level_without_attachments_sends_the_bare_message(books, crm, workspace):
    _two_overdue(books)
    crm("reminders", "level", "set", "1", "--no-attach-invoices")
    levels = {row["level"]: row["attach_invoices"] for row in crm("reminders", "level", "list", "--json").json}
    assert levels == {1: False, 2: True, 3: True, 4: False}
    books.run("2026-02-19")
    [listed] = [n for n in crm("notifications", "list", "--json").json if n["subject"].startswith("Relance amiable")]
    assert listed["attachments"] == []
    crm("notifications", "deliver")
    mail = _eml(workspace, "Relance amiable")
    assert list(mail.iter_attachments()) == []
    assert "ci-joint" not in mail.get_body(("plain",)).get_content()


def test_the_formal_notice_letter_encloses_the_invoices_and_the_handover_attaches_nothing(books, crm, workspace):
    first, second = _two_overdue(books)
    books.run("2026-03-10")  # F2026-000001 reaches level 3 (30 days): the letter lists both invoices
    crm("notifications", "deliver")
    (letter,) = (workspace.folder / "letters").glob("*.pdf")
    from pypdf import PdfReader

    pages = [" ".join(page.extract_text().split()) for page in PdfReader(str(letter)).pages]
    assert "MISE EN DEMEURE" in pages[0] and "Vous trouverez ci-joint une copie de chaque facture." in " ".join(pages)
    assert f"Facture N° {first}" in pages[-2] and f"Facture N° {second}" in pages[-1]
    # the owner's e-mail copy of the letter carries the same invoices
    copy = _eml(workspace, "Copie : Mise en demeure")
    assert [a.get_filename() for a in copy.iter_attachments()] == [f"facture-{first}.pdf", f"facture-{second}.pdf"]
    books.run("2026-03-22")  # level 4: the hand-over to collections, internal
    [handover] = [n for n in crm("notifications", "list", "--json").json
                  if n["subject"].startswith("Transmission au recouvrement")]
    assert handover["attachments"] == []


def test_the_migration_attaches_invoices_on_the_levels_that_write_to_the_customer(books, crm, app):
    crm("reminders", "level", "set", "2", "--no-attach-invoices")
    with app.engine.begin() as connection:
        command.downgrade(alembic_config(app, connection), "billing_0002")
    with app.engine.begin() as connection:
        command.upgrade(alembic_config(app, connection), "billing@head")
    levels = {row["level"]: row["attach_invoices"] for row in crm("reminders", "level", "list", "--json").json}
    assert levels == {1: True, 2: True, 3: True, 4: False}  # level 4 goes to collections and the owner only


def test_in_english_and_in_the_business_wording_chosen_at_delivery(books, crm, workspace):
    first, second = _two_overdue(books)
    books.run("2026-02-19")  # written in French times; worded and laid out when delivered
    path = workspace.config_path
    folder = workspace.folder / "overrides" / "billing"
    folder.mkdir(parents=True)
    (folder / "reminder_lines.txt").write_text(
        '{% for invoice in invoices %}* {{ invoice.number }}: {{ invoice.open | money }}\n{% endfor %}',
        encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace('locale = "fr_FR"', 'locale = "en_GB"')
                    + '\n[templates]\nfolder = "overrides"\n', encoding="utf-8")
    crm("notifications", "deliver")
    mail = _eml(workspace, "Relance amiable")
    body = mail.get_body(("plain",)).get_content()
    assert "Dear Durand," in body and "A copy of each invoice is attached." in body
    assert f"* {first}: €120.00\n* {second}: €240.00\n" in body  # the business's lines, the module's letter
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"invoice-{first}.pdf", f"invoice-{second}.pdf"]
    assert f"Invoice No. {first}" in pdf_text(attachments[0].get_content())
