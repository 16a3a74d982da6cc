"""Printing many invoices (issue 22): read in bulk here, laid out by warm worker processes.

The PDFs the workers write are read back with ``pdftotext`` (poppler), as a person reads them; a
document that fails is named on a line of its own and leaves no file behind, not even a part.
"""

from __future__ import annotations

import pickle
import subprocess

import pytest

pytestmark = pytest.mark.modules("billing")


def pdftotext(path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.replace("\u202f", " ").replace("\xa0", " ").split())


def _invoices(books, count: int = 3) -> list[str]:
    durand = books.customer("Durand SA", siren="552081317", vat_number="FR03552081317", street="1 rue de la Paix",
                            postal_code="75002", city="Paris")
    return [books.confirm("2026-01-31", durand, [("P20", str(n), "10")]) for n in range(1, count + 1)]


def _override(workspace, style: str = "", body: str = "") -> None:
    """The workspace's own invoice template, extending the default one."""
    folder = workspace.folder / "tpl" / "billing"
    folder.mkdir(parents=True)
    (folder / "invoice.html").write_text(
        '{% extends "default:billing/invoice.html" %}\n'
        "{% block style %}" + style + "{% endblock %}\n{% block notes %}" + body + "{% endblock %}\n", encoding="utf-8")
    path = workspace.config_path
    path.write_text(path.read_text(encoding="utf-8") + '\n[templates]\nfolder = "tpl"\n', encoding="utf-8")


def test_the_workers_write_real_private_pdfs_of_each_invoice(books, crm, workspace):
    numbers = _invoices(books, 5)
    folder = workspace.folder / "pdf"
    printed = crm("documents", "print", "billing.invoice", *numbers, "-o", str(folder), "-j", "2", "--json").json
    assert printed["written"] == [str(folder / f"facture-{n}.pdf") for n in numbers]
    for n, total in zip(numbers, ("12,00 €", "24,00 €", "36,00 €", "48,00 €", "60,00 €")):
        text = pdftotext(folder / f"facture-{n}.pdf")
        assert f"Facture N° {n}" in text and f"Total TTC {total}" in text, n
        assert "Durand SA 1 rue de la Paix 75002 Paris" in text
        assert (folder / f"facture-{n}.pdf").stat().st_mode & 0o077 == 0  # private: the owner's only
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"facture-{n}.pdf" for n in numbers)


def test_a_document_that_fails_to_lay_out_is_named_and_nothing_is_left(books, crm, workspace):
    numbers = _invoices(books, 4)
    # the business's template breaks on one invoice only: the others lay out, the run still writes nothing
    _override(workspace, body='{% if invoice.number == "' + numbers[2] + '" %}{{ no_such_value }}{% endif %}')
    for jobs in ("1", "2"):
        target = workspace.folder / f"out{jobs}" / "pdf"
        failed = crm("documents", "print", "billing.invoice", *numbers, "-o", str(target), "-j", jobs, expect=1)
        assert failed.stderr.strip().splitlines() == [
            f"error: billing.invoice {numbers[2]}: template billing/invoice.html: 'no_such_value' is undefined"], jobs
        assert not (workspace.folder / f"out{jobs}").exists(), jobs  # no file, no part, not even the folder
    kept = workspace.folder / "kept"
    kept.mkdir()
    crm("documents", "print", "billing.invoice", *numbers, "-o", str(kept), "-j", "2", expect=1)
    assert list(kept.iterdir()) == []  # a folder that was there stays, empty: no hidden part files either


def test_every_reference_that_names_no_invoice_is_named_before_any_layout(books, crm, workspace):
    (number,) = _invoices(books, 1)
    failed = crm("documents", "print", "billing.invoice", "F2026-999998", number, "424242", "-o",
                 str(workspace.folder / "pdf"), "-j", "2", expect=1)
    assert failed.stderr.strip().splitlines() == [
        "error: invoice F2026-999998: no such invoice (see `crm invoice list`)",
        "error: invoice 424242: no such invoice (see `crm invoice list`)"]
    assert not (workspace.folder / "pdf").exists()


def test_pages_are_plain_data_read_in_bulk(app, books):
    """What the workers receive: no database row, only values (a worker never opens the database)."""
    from plugins.billing.documents import read_invoices

    numbers = _invoices(books, 3)
    with app.session() as session:
        pages = read_invoices(app, session, [numbers[1], "F2026-999999", numbers[0].lower()], None)
    assert [type(p).__name__ for p in pages] == ["Page", "NotFound", "Page"]
    copy = pickle.loads(pickle.dumps(pages[0]))  # crosses to a process that has no session
    assert copy.filename == f"facture-{numbers[1]}" and copy.locale == "fr_FR"
    assert copy.context["invoice"].number == numbers[1]
    assert [line.product.sku for line in copy.context["lines"]] == ["P20"]
    assert pages[2].context["invoice"].number == numbers[0]


def test_a_stylesheet_parsed_once_serves_only_the_pages_that_carry_it(app, books, workspace, tmp_path):
    """The parsed ``<style>`` sheets are kept per process; a page whose style differs gets its own."""
    from core import documents

    numbers = _invoices(books, 2)
    _override(workspace, style='h1::after { content: " / mark-{{ invoice.number }}"; }')
    from core.app import App
    from core.config import load_config

    fresh = App(load_config(workspace.config_path), today=app.today)
    texts = []
    with fresh.session() as session:
        for number in (*numbers, numbers[0]):
            path = documents.write(fresh, session, "billing.invoice", number, output=tmp_path / "x.pdf")
            texts.append(pdftotext(path))
    for number, text in zip((*numbers, numbers[0]), texts):
        assert f"/ mark-{number}" in text
        assert "Total TTC" in text and "Page 1 / 1" in text
    assert texts[0] == texts[2]  # the same sheet, parsed once, lays the same page out again


def test_the_factur_x_schema_is_compiled_once_and_still_checks(books):
    from core.errors import CrmError
    from plugins.billing.facturx import check_xml, schema

    assert schema() is schema()
    with pytest.raises(CrmError, match="invoice X: the Factur-X XML is not valid against the EN 16931 schema"):
        check_xml(b"<rsm:CrossIndustryInvoice xmlns:rsm='urn:un:unece:uncefact:data:standard:"
                  b"CrossIndustryInvoice:100'/>", "invoice X")
