"""The purchase order as the supplier receives it: an A4 PDF, in French and English, overridable.

Each PDF is read back with pypdf. The order: two products at two VAT rates, one priced to four
decimals; amounts computed by hand in ``ordered``.
"""

from __future__ import annotations

import io
import re
from email import policy
from email.parser import BytesParser

import pytest

pytestmark = pytest.mark.modules("procurement")


def pdf_text(content: bytes) -> str:
    """The text of every page, its spaces (no-break, narrow no-break) and line breaks made plain."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    assert content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " "))


@pytest.fixture
def ordered(workspace, crm):
    """A draft PO2026-000001 to Atelier Bois SARL, raised by the reorder run on 28 November 2026:

    - CH-01 chair, 20 % VAT: 3 in stock, rule 10/40 by 4 -> 37 -> 40 at 18.50 = 740.00 (lead 10 days);
    - PL-02 plank in metres, 5.5 % VAT: 2.5 in stock, rule 10/30 -> 27.5, raised to whole metres -> 28
      at 4.125 (from 20 m) = 115.50 (lead 5 days).
    Untaxed 855.50; VAT 148.00 + 6.35 (6.3525) = 154.35; total 1,009.85.
    """
    crm("company", "set", "--street", "12 rue des Tanneurs", "--postal-code", "69002", "--city", "Lyon")
    crm("partner", "add", "Atelier Bois SARL", "--supplier", "--no-customer", "--email", "commandes@bois.fr",
        "--street", "4 chemin des Scieries", "--postal-code", "88000", "--city", "Épinal",
        "--siren", "443061841", "--vat-number", "FR64443061841")
    crm("product", "add", "CH-01", "Chaise hêtre", "--price", "40")
    crm("product", "add", "PL-02", "Planche chêne", "--price", "9", "--vat-rate", "5.5", "--unit", "m")
    crm("supplier", "price", "add", "--supplier", "Atelier Bois SARL", "--sku", "CH-01", "--price", "18.50",
        "--lead-time", "10", "--preferred")
    crm("supplier", "price", "add", "--supplier", "Atelier Bois SARL", "--sku", "PL-02", "--price", "4.125",
        "--minimum", "20", "--lead-time", "5")
    crm("stock", "adjust", "CH-01", "3", "--reason", "inventory")
    crm("stock", "adjust", "PL-02", "2.5", "--reason", "inventory")
    crm("reorder", "rule", "add", "CH-01", "--min", "10", "--max", "40", "--multiple", "4")
    crm("reorder", "rule", "add", "PL-02", "--min", "10", "--max", "30")
    crm("reorder", "run")
    return crm


def test_the_purchase_order_in_french_has_both_parties_the_lines_and_the_totals(ordered, tmp_path):
    target = tmp_path / "po.pdf"
    assert ordered("po", "pdf", "PO2026-000001", "--output", str(target)).stdout.strip() == f"written to {target}"
    text = pdf_text(target.read_bytes())
    for expected in [
        "Bon de commande", "PO2026-000001", "Date de commande 28 novembre 2026",
        "BROUILLON : NON CONFIRMÉ",  # the banner and the boxes' titles are set in capitals
        # the buyer, with its identifiers, and the delivery address (the company's)
        "Entonnoir Test SAS", "RCS Lyon 732 829 320", "SAS au capital de 50 000,00 €", "Lyon, le ", "N° TVA FR44732829320", "ADRESSE DE LIVRAISON",
        "12 rue des Tanneurs", "69002 Lyon",
        # the supplier
        "FOURNISSEUR", "Atelier Bois SARL", "4 chemin des Scieries", "88000 Épinal", "SIREN 443061841",
        "N° TVA FR64443061841", "commandes@bois.fr",
        # the lines: quantity, unit price to its four decimals, VAT rate, amount, expected delivery
        "CH-01 Chaise hêtre 40 18,50 € 20 % 740,00 € 8 décembre 2026",
        "PL-02 Planche chêne 28 m 4,125 € 5,5 % 115,50 € 3 décembre 2026",
        # the totals, VAT per rate on the rate's total
        "Total HT 855,50 €", "TVA 20 % sur 740,00 € 148,00 €", "TVA 5,5 % sur 115,50 € 6,35 €",
        "Total TTC 1 009,85 €", "Page 1 sur 1",
    ]:
        assert expected in text, expected


def test_the_purchase_order_in_english_and_as_html(ordered, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = ordered("po", "pdf", "1", "--locale", "en_GB").stdout.strip()
    target = tmp_path / "purchase-order-PO2026-000001.pdf"  # named in the document's language, here by default
    assert written == f"written to {target}"
    text = pdf_text(target.read_bytes())
    for expected in ["Purchase order", "Order date 28 November 2026", "DRAFT: NOT CONFIRMED", "SUPPLIER",
                     "DELIVERY ADDRESS", "VAT number FR64443061841", "CH-01 Chaise hêtre 40 €18.50 20 % €740.00",
                     "PL-02 Planche chêne 28 m €4.125 5.5 % €115.50", "Total excl. VAT €855.50",
                     "VAT 5.5 % on €115.50 €6.35", "Total incl. VAT €1,009.85", "Page 1 of 1"]:
        assert expected in text, expected
    assert "Bon de commande" not in text

    folder = tmp_path / "out"
    folder.mkdir()
    ordered("po", "pdf", "PO2026-000001", "--html", "--output", str(folder))
    page = (folder / "bon-de-commande-PO2026-000001.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page and "size: A4" in page
    assert "<td>Chaise hêtre</td>" in page


def test_the_override_folder_comes_first_for_the_page_and_its_words(ordered, workspace, tmp_path):
    with open(workspace.config_path, "a", encoding="utf-8") as handle:
        handle.write('\n[templates]\nfolder = "custom"\n')
    own = workspace.folder / "custom" / "procurement"
    own.mkdir(parents=True)
    (own / "purchase_order.html").write_text(
        '{% extends "default:procurement/purchase_order.html" %}'
        '{% block notes %}<p>Conditions d\'achat : paiement à 45 jours fin de mois.</p>{% endblock %}',
        encoding="utf-8")
    (workspace.folder / "custom" / "i18n").mkdir()
    (workspace.folder / "custom" / "i18n" / "fr.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Purchase order"\nmsgstr "Commande fournisseur"\n', encoding="utf-8")
    target = tmp_path / "po.pdf"
    ordered("po", "pdf", "PO2026-000001", "--output", str(target))
    text = pdf_text(target.read_bytes())
    assert "Commande fournisseur" in text and "Bon de commande" not in text  # the business's word
    assert "Conditions d'achat : paiement à 45 jours fin de mois." in text  # the business's block
    assert "Merci de nous confirmer" not in text
    assert "Total TTC 1 009,85 €" in text and "FOURNISSEUR" in text  # the rest is the module's page


def test_printing_an_unknown_order_says_so(ordered):
    refused = ordered("po", "pdf", "PO9999", expect=1)
    assert refused.stderr.strip() == "error: purchase order PO9999: no such purchase order (see `crm po list`)"
    assert "--locale" in ordered("po", "pdf", "--help").stdout


def test_the_confirmation_mail_carries_the_pdf(ordered, workspace):
    """Needs services_purchase.confirm_purchase_order to attach DocumentAttachment("procurement.purchase_order")."""
    ordered("po", "confirm", "PO2026-000001")
    [sent] = [n for n in ordered("notifications", "list", "--json").json if n["subject"].startswith("Bon de commande PO2026-000001 — Entonnoir Test SAS")]
    assert sent["recipients"] == ["commandes@bois.fr"]
    assert sent["attachments"] == ["procurement.purchase_order 1"]  # only the reference is stored
    assert ordered("notifications", "deliver").stdout.startswith("sent ")
    [eml] = [p for p in (workspace.folder / "outbox").iterdir()
             if "Bon de commande" in BytesParser(policy=policy.default).parsebytes(p.read_bytes())["Subject"]]
    email = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert "Veuillez trouver ci-joint notre bon de commande PO2026-000001." in email.get_body(("plain",)).get_content()
    [attachment] = list(email.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content_type()) == (
        "bon-de-commande-PO2026-000001.pdf", "application/pdf")
    text = pdf_text(attachment.get_content())
    assert "Bon de commande" in text and "Atelier Bois SARL" in text and "Total TTC 1 009,85 €" in text
    assert "BROUILLON" not in text  # confirmed: no draft banner
