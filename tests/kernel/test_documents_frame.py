"""The kernel's part of documents: HTML laid out as a real PDF, and PDFs attached at delivery.

A stand-in document kind is given to the app (the modules' kinds are tested in their folders).
"""

import io
from email import policy
from email.parser import BytesParser

import pytest
from pypdf import PdfReader

from core.documents import Document, DocumentKind, html_to_pdf, kinds, render, write
from core.errors import NotFound
from core.delivery import deliver
from core.outbox import DocumentAttachment, Notification, notification_dict, notify


def _note(app, session, ref, locale):
    if ref == "404":
        raise NotFound(f"note {ref} not found")
    from core.rendering import environment

    html = environment(app, locale=locale).from_string(
        "<html><body><h1>{{ _('Plan') }} n° {{ ref }}</h1><p>{{ amount|money }}</p></body></html>").render(
        ref=ref, amount="1234.50")
    return Document(title=f"Note {ref}", filename=f"note-{ref}", html=html)


@pytest.fixture
def papered(app):
    kinds(app)["test.note"] = DocumentKind("test.note", "a note", _note)
    return app


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_html_becomes_a_pdf_a_person_can_read_back():
    pdf = html_to_pdf("<h1>Facture F2026-00042</h1><p>Total TTC : 1 234,50 €</p>")
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "Facture F2026-00042" in text and "1 234,50 €" in text


def test_an_archivable_variant_is_asked_by_name():
    pdf = html_to_pdf("<p>archive</p>", pdf_variant="pdf/a-3b")
    metadata = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert metadata is not None and "pdfaid" in str(metadata.rdf_root.toxml())


def test_a_document_is_rendered_in_the_language_asked_and_written_whole(papered, workspace):
    with papered.session() as session:
        assert "<h1>Prévisions n° 7</h1>" in render(papered, session, "test.note", 7).html
        assert "€1,234.50" in render(papered, session, "test.note", 7, locale="en_GB").html
        target = write(papered, session, "test.note", 7, output=workspace.folder)
        assert target == workspace.folder / "note-7.pdf"
        assert "Prévisions n° 7" in _text(target.read_bytes())
        assert not list(workspace.folder.glob("*.part"))
        with pytest.raises(NotFound, match="document kind 'nope' is not known .*test.note"):
            render(papered, session, "nope", 1)


def test_a_notification_stores_the_reference_and_delivery_attaches_the_pdf(papered, workspace):
    with papered.transaction() as session:
        notify(papered, session, recipients="anne@client.fr", subject="Votre note", text="Ci-joint.",
               attachments=[DocumentAttachment("test.note", "9")], dedup_key="note:9")
    with papered.transaction() as session:
        row = session.query(Notification).one()
        assert row.attachments == '[{"document": "test.note", "ref": "9"}]'  # a reference, not a PDF
        assert notification_dict(row)["attachments"] == ["test.note 9"]
    report = deliver(papered)
    assert report.sent == 1
    [eml] = (workspace.folder / "outbox").glob("*.eml")
    message = BytesParser(policy=policy.default).parse(eml.open("rb"))
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "note-9.pdf" and attachment.get_content_type() == "application/pdf"
    assert "Prévisions n° 9" in _text(attachment.get_content())


def test_a_document_that_cannot_be_rendered_fails_the_delivery_for_a_person_to_see(papered):
    with papered.transaction() as session:
        notify(papered, session, recipients="anne@client.fr", subject="Votre note", text="Ci-joint.",
               attachments=[DocumentAttachment("test.note", "404")])
    report = deliver(papered)
    assert report.sent == 0
    with papered.transaction() as session:
        row = session.query(Notification).one()
        assert row.state == "pending" and "attachment test.note 404: note 404 not found" in row.last_error

