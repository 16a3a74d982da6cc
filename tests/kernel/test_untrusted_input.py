"""What a template, a name or an output path cannot do: PDF layout fetches only the template
folders' own files, names and text refuse control characters, `-o DIR/` makes a folder."""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.modules("funnel", "billing", "procurement")

CONFIDENTIAL = "root:x:0:0"  # the first line of /etc/passwd


def _invoice(crm):
    crm("partner", "add", "Dupont SA", "--siren", "552100554", "--street", "1 rue de la Paix",
        "--postal-code", "75002", "--city", "Paris")
    crm("product", "add", "WID-1", "Widget", "--price", "12.50")
    crm("stock", "adjust", "WID-1", "10", "--reason", "opening stock")
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:3", "--confirm")


def _override(workspace, head: str) -> None:
    folder = workspace.folder / "tpl" / "billing"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "invoice.html").write_text('{% extends "default:billing/invoice.html" %}{% block style %}'
                                         + head + "{% endblock %}", encoding="utf-8")
    text = workspace.config_path.read_text(encoding="utf-8")
    if "[templates]" not in text:
        workspace.config_path.write_text(text + '\n[templates]\nfolder = "tpl"\n', encoding="utf-8")


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    attached = [name for name in (reader.attachments or {})]
    return "\n".join(page.extract_text() for page in reader.pages) + "\n" + "\n".join(attached)


@pytest.mark.parametrize("head", [
    '</style><link rel="stylesheet" href="file:///etc/passwd"><style>',
    '</style><a rel="attachment" href="file:///etc/passwd">x</a><style>',
    '</style><img src="../../../../../../../../etc/passwd"><style>',
    '</style><img src="tpl/../../../../../../../../etc/passwd"><style>',
    '</style><style>@import url("http://127.0.0.1:9/steal.css");</style><style>',
    '</style><link rel="stylesheet" href="https://example.org/steal.css"><style>',
    '</style><img src="file://otherhost/etc/passwd"><style>',
    '</style><a rel="attachment" href="crm.toml">the config</a><style>',
    '</style><a rel="attachment" href="crm.db">the database</a><style>',
])
def test_a_template_cannot_reach_files_outside_the_template_folders(crm, workspace, tmp_path, monkeypatch, head):
    monkeypatch.chdir(tmp_path)
    _invoice(crm)
    _override(workspace, head)
    result = crm("invoice", "pdf", "1", expect=1)
    assert result.stderr.startswith("error: template asset ")
    assert result.stderr.strip().endswith("refused (a document may use only the files of the template folders "
                                          "and data: URLs)")
    assert list(tmp_path.glob("*.pdf")) == []


def test_a_template_may_use_its_own_folders_files(crm, workspace, tmp_path, monkeypatch):
    """The override folder's stylesheet is fetched (the page turns landscape A5); data: URLs too."""
    from pypdf import PdfReader

    monkeypatch.chdir(tmp_path)
    _invoice(crm)
    _override(workspace, '</style><link rel="stylesheet" href="tpl/billing/page.css">'
                         '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt=""><style>')
    (workspace.folder / "tpl" / "billing" / "page.css").write_text("@page { size: A5 landscape; }")
    path = tmp_path / crm("invoice", "pdf", "1").stdout.strip()
    box = PdfReader(io.BytesIO(path.read_bytes())).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 420)  # A5 landscape in points
    assert CONFIDENTIAL not in _pdf_text(path)


@pytest.mark.parametrize("name, code", [
    ("Dupont\r\nSA", "U+000D"), ("Dupont\nSA", "U+000A"), ("Dupont\tSA", "U+0009"), ("Dupont\x1b[31mSA", "U+001B"),
    ("Dupont \u202eAS", "U+202E"), ("Dupont \u2066SA\u2069", "U+2066"), ("Dupont\x85SA", "U+0085"),
])
def test_control_characters_are_refused_in_names_naming_the_field(crm, name, code):
    result = crm("partner", "add", name, expect=1)
    assert result.stderr.strip() == (f"error: partner {name!r}: name: must not contain control characters (found "
                                     f"{code}: line breaks, tabs, escapes and bidirectional marks are refused)")
    assert crm("partner", "list", "--json").json == []


@pytest.mark.parametrize("argv, field", [
    (["product", "add", "WID-2", "Lampe\u202e"], "name"),
    (["user", "add", "bob", "Bob\r\nMartin"], "name"),
    (["partner", "add", "Durand SA", "--city", "Paris\x07"], "city"),
    (["stock", "adjust", "WID-1", "1", "--reason", "broken\x1b"], "reason"),
    (["lead", "add", "Walk\u202e", "--email", "walk@lead.fr"], "name"),
    (["term", "create", "X\u2067", "--instalment", "days:30"], "code"),
    (["order", "create", "--customer", "Dupont SA", "--line", "WID-1:1", "--origin", "web\rshop"], "origin"),
])
def test_control_characters_are_refused_in_kernel_and_module_schemas(crm, argv, field):
    _invoice(crm)
    result = crm(*argv, expect=1)
    assert f"{field}: must not contain control characters" in result.stderr


def test_free_text_keeps_its_line_breaks_but_not_other_controls(crm):
    _invoice(crm)
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:1", "--note", "first line\nsecond line")
    refused = crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:1", "--note", "a\u202eb", expect=1)
    assert "note: must not contain control characters (found U+202E" in refused.stderr


def test_output_ending_with_a_slash_makes_the_folder(crm, workspace, tmp_path, monkeypatch):
    """`-o pdfs/` used to write a file named `pdfs` when the folder did not exist."""
    monkeypatch.chdir(tmp_path)
    _invoice(crm)
    crm("po", "list")
    assert crm("invoice", "pdf", "1", "-o", "pdfs/").stdout.strip() == "pdfs/facture-F2026-000001.pdf"
    assert crm("invoice", "facturx", "1", "-o", "factur-x/2026/").stdout.strip() == \
        "factur-x/2026/facture-F2026-000001-facturx.pdf"
    crm("export", "partners", "-o", "exports/")
    crm("documents", "print", "billing.invoice", "1", "-o", "printed/", "--jobs", "1")
    assert (tmp_path / "pdfs").is_dir() and (tmp_path / "factur-x" / "2026").is_dir()
    assert (tmp_path / "exports" / "partners.csv").read_text(encoding="utf-8").startswith("name,")
    assert [p.name for p in (tmp_path / "printed").iterdir()] == ["facture-F2026-000001.pdf"]
    # without the slash a missing name is a file, as before; an existing folder gets the file inside
    crm("invoice", "pdf", "1", "-o", "copy.pdf")
    crm("invoice", "pdf", "1", "-o", "pdfs")
    assert (tmp_path / "copy.pdf").is_file() and len(list((tmp_path / "pdfs").iterdir())) == 1
