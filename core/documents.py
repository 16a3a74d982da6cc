"""Printable documents: one record rendered as HTML by its module, turned into PDF here.

A module declares its kinds with ``register_documents`` (``billing.invoice``, ``procurement.purchase_order``...).
Each kind renders a record as a complete HTML page through the one template environment, so a
business's override folder changes the PDF as well as the page. The kernel owns the HTML→PDF
step (WeasyPrint: real layout, embedded fonts, PDF/A when asked) and the attachments of
notifications: a notification names its documents by kind and reference and they are rendered
when it is delivered, so a job writing thousands of messages never renders a PDF itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from core.errors import CrmError, NotFound


@dataclass
class Document:
    """One rendered document: what a person reads, and the file name it is saved under."""

    title: str
    filename: str  # without extension: "facture-F2026-00042"
    html: str


@dataclass
class Page:
    """A document read from the database and ready to lay out: the template, its language and a
    context of plain values (numbers, dates, text, dicts and lists of them), so it crosses to a
    worker process and is rendered there without a database."""

    template: str
    locale: str
    title: str
    filename: str
    context: dict


@dataclass
class DocumentKind:
    """A kind of document a module can print.

    :param render: ``render(app, session, ref, locale) -> Document``; ``ref`` is the text the
        user typed or the notification stored (an id or a number); raises :class:`NotFound`.
    :param reader_locale: optional ``reader_locale(app, session, ref) -> str | None``: the locale
        of the person the document is for (a customer's, a supplier's), used when none is asked.
    :param read: optional ``read(app, session, refs, locale) -> list[Page | CrmError]``, one item per
        reference, in order: the documents of many records read in a few set-based queries (``locale``
        None: each reader's own). Printing many uses it to read everything in one place and lay the
        pages out in worker processes that never touch the database.
    """

    name: str
    summary: str
    render: Callable
    reader_locale: Callable | None = None
    read: Callable | None = None


def kinds(app) -> dict[str, DocumentKind]:
    """Every document kind of the enabled modules (gathered once per app)."""
    cache = app.__dict__
    if "_document_kinds" not in cache:
        cache["_document_kinds"] = app.gather("register_documents", DocumentKind, "document kind")
    return cache["_document_kinds"]


def render(app, session, kind: str, ref, *, locale: str | None = None) -> Document:
    """Render document ``kind`` for record ``ref`` as HTML, in ``locale`` (by default its reader's:
    the customer's or supplier's language, else the company's)."""
    known = kinds(app)
    if kind not in known:
        raise NotFound(f"document kind {kind!r} is not known (enabled modules offer: "
                       f"{', '.join(sorted(known)) or 'none'})")
    chosen = known[kind]
    if chosen.read is not None:  # the kind reads its reader's locale with the record: one read
        (page,) = chosen.read(app, session, [str(ref)], locale)
        if isinstance(page, Exception):
            raise page
        return compose(app, page)
    if locale is None and chosen.reader_locale is not None:
        locale = chosen.reader_locale(app, session, str(ref))
    return chosen.render(app, session, str(ref), locale or app.config.company.locale)


def compose(app, page: Page) -> Document:
    """The HTML of ``page``: its template rendered in its language (no database needed)."""
    from core.rendering import render as render_template

    html = render_template(app, page.template, locale=page.locale, title=page.title, **page.context)
    return Document(title=page.title, filename=page.filename, html=html)


def weasyprint():
    """The ``weasyprint`` module, imported with its native libraries found as the last process found them.

    WeasyPrint opens Pango, HarfBuzz and Fontconfig by trying several names for each; cffi looks
    up each name it cannot open as it is with ``ctypes.util.find_library``, which on Linux runs
    ``ldconfig``, then ``gcc`` and ``ld`` for a name that is not there: 22 look-ups, 0.18 s of
    every process that prints. The answers (a file name, or none) are kept between processes
    (:mod:`core.memo`) while the system's library cache (``/etc/ld.so.cache``) and
    ``LD_LIBRARY_PATH`` are unchanged, and stand in for ``find_library`` only during the import.
    Every use of WeasyPrint here comes through this function first.
    """
    import sys

    module = sys.modules.get("weasyprint")
    if module is not None:
        return module
    import ctypes.util
    import os

    from core import memo

    key = ("find_library", sys.platform, os.environ.get("LD_LIBRARY_PATH"))
    sources = memo.stamps(["/etc/ld.so.cache"])
    kept = memo.load("libraries", key)
    known = dict(kept["found"]) if kept is not None and kept["sources"] == sources else {}
    found = dict(known)
    look_up = ctypes.util.find_library

    def find_library(name):
        if name not in found:
            found[name] = look_up(name)
        return found[name]

    ctypes.util.find_library = find_library
    try:
        import weasyprint as module
    finally:
        ctypes.util.find_library = look_up
    if found != known:
        memo.store("libraries", key, {"found": found, "sources": sources})
    return module


def html_to_pdf(html: str, *, app=None, base_url: str | Path | None = None, pdf_variant: str | None = None,
                attachments: list | None = None, metadata: dict | None = None) -> bytes:
    """Lay ``html`` out as a PDF (A4 unless the page's CSS says otherwise).

    The page may use the files of the template folders (the modules' and, with ``app``, the
    workspace's override folder; relative URLs resolve against the workspace's folder) and
    ``data:`` URLs, nothing else: a template asking for ``file:///etc/passwd`` or a network URL
    stops the layout with an error naming the URL (an admin edits the override templates; the
    PDF goes to customers).

    :param pdf_variant: e.g. ``"pdf/a-3b"`` for an archivable PDF (Factur-X requires PDF/A-3).
    :param attachments: ``weasyprint.Attachment`` files embedded in the PDF.
    :param metadata: fields of the PDF's metadata set over what the page's ``<title>`` and
        ``<meta>`` give (WeasyPrint's ``DocumentMetadata``: ``authors``, ``description``,
        ``keywords``, ``lang``, ``xmp_metadata`` (RDF blocks added to the XMP packet)...).
    """
    import logging

    from core.rendering import asset_folders

    HTML = weasyprint().HTML

    # WeasyPrint logs every CSS property it ignores at WARNING; a template is not a bug report.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    options = {"pdf_variant": pdf_variant} if pdf_variant else {}
    if attachments:
        options["attachments"] = attachments
    if base_url is None and app is not None:
        base_url = app.config.folder
    folders = tuple(asset_folders(app)) if app is not None else ()
    fetcher = _asset_fetcher(folders)
    base = str(base_url) if base_url else None
    try:
        page = HTML(string=html, base_url=base, url_fetcher=fetcher)
        if not metadata:
            return page.write_pdf(font_config=_font_config(), stylesheets=_shared_stylesheets(page, base, folders),
                                  cache=_IMAGES, finisher=_distinct_associated_files, **options)
        document = page.render(font_config=_font_config(), stylesheets=_shared_stylesheets(page, base, folders),
                               cache=_IMAGES, **options)
        for name, value in metadata.items():
            setattr(document.metadata, name, value)
        return document.write_pdf(finisher=_distinct_associated_files, **options)
    except _refused_class() as exc:
        raise CrmError(f"template asset {exc.url}: refused (a document may use only the files of the "
                       f"template folders and data: URLs)") from None


def _distinct_associated_files(document, pdf) -> None:
    """Each attachment once in the catalog's ``/AF`` (WeasyPrint 70 lists a PDF/A-3's attachments
    from the name tree and again from the file specifications)."""
    if "AF" in pdf.catalog:
        pdf.catalog["AF"][:] = list(dict.fromkeys(pdf.catalog["AF"]))


#: images (a logo as a ``data:`` URL) decoded once per process, shared by its documents
_IMAGES: dict = {}
#: parsed ``<style>`` sheets by (text, base URL, asset folders): every invoice carries the same one
_STYLESHEETS: dict = {}
_SHARED = "text/x-entonnoir-shared"


def _shared_stylesheets(page, base_url: str | None, folders: tuple) -> list:
    """The page's ``<style>`` sheets, each parsed once per process, taken out of the page.

    Parsing a document's stylesheet is about a tenth of its layout, and a thousand invoices carry
    the same one: the sheets are parsed once and handed to WeasyPrint as ready stylesheets (their
    elements are marked so that WeasyPrint skips them). They then rank as the user's rather than
    the author's sheets; that changes nothing while they are the page's only sheets, so a page that
    also links a stylesheet, or asks for a medium or counter styles, keeps the ordinary way.
    """
    CSS = weasyprint().CSS
    root = page.etree_element
    elements = list(root.iter("style"))
    if not elements or next(root.iter("link"), None) is not None or any(
            (e.get("media") or "all").strip() not in ("all", "print") or e.get("type", "text/css") != "text/css"
            or "@counter-style" in (e.text or "") for e in elements):
        return []
    sheets = []
    for element in elements:
        key = (element.text or "", base_url, folders)
        if key not in _STYLESHEETS:
            if len(_STYLESHEETS) >= 64:  # sheets that change with each page (a template's choice) are not kept
                _STYLESHEETS.clear()
            _STYLESHEETS[key] = CSS(string=key[0], base_url=base_url, url_fetcher=_asset_fetcher(folders),
                                    font_config=_font_config())
        sheets.append(_STYLESHEETS[key])
        element.set("type", _SHARED)
    return sheets


@cache
def _asset_fetcher(folders: tuple):
    """A WeasyPrint URL fetcher that fetches only ``data:`` URLs and files inside ``folders``."""
    from urllib.parse import unquote, urlsplit

    module = weasyprint()
    from weasyprint.urls import URLFetcher

    # WeasyPrint's own stylesheets and the template folders; resolved, so ``..`` cannot climb out.
    roots = [Path(module.__file__).parent.resolve(), *(Path(folder).resolve() for folder in folders)]

    class AssetFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                parts = urlsplit(url)
                path = Path(unquote(parts.path)).resolve()
                if not parts.netloc and any(path.is_relative_to(root) for root in roots):
                    return super().fetch(url, headers)
            raise _refused_class()(url)

    return AssetFetcher(allowed_protocols=("file", "data"), allow_redirects=False)


@cache
def _refused_class():
    """The error that stops a layout at a refused URL (WeasyPrint swallows any other as a warning)."""
    weasyprint()
    from weasyprint.urls import FatalURLFetchingError

    class Refused(FatalURLFetchingError):
        def __init__(self, url):
            super().__init__(url)
            self.url = url

    return Refused


@cache
def _font_config():
    """One WeasyPrint font configuration per process, shared by its documents.

    Setting one up (Fontconfig, the fonts' metrics) cost about a tenth of an invoice's layout;
    the fonts an ``@font-face`` rule loads stay known to the documents laid out after it.
    """
    weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def pdf(app, session, kind: str, ref, *, locale: str | None = None) -> tuple[Document, bytes]:
    """The document and its PDF bytes."""
    document = render(app, session, kind, ref, locale=locale)
    return document, html_to_pdf(document.html, app=app)


def write(app, session, kind: str, ref, *, output: str | Path | None = None, html: bool = False,
          locale: str | None = None) -> Path:
    """Write the PDF (or, with ``html``, the page) to ``output`` or ``<filename>.pdf`` in the current folder.

    ``output`` may name a folder: an existing one, or one to make when it ends with ``/``. The
    file written is in the audit trail (:func:`printed`).
    """
    path = save(app, render(app, session, kind, ref, locale=locale), output=output, html=html)
    printed(app, kind, [(ref, path)], session=session)
    return path


def printed(app, kind: str, written: list, *, session=None) -> None:
    """Put documents written to files in the audit trail: action ``printed``, one row per document.

    A PDF handed to a customer or a supplier leaves crm as surely as an e-mail (which delivery
    records as ``sent``, :mod:`core.delivery`): who, when (business date and wall time), by which
    command, and the file. ``written`` is ``[(ref, path)]``; without ``session`` in a transaction
    of its own.
    """
    from contextlib import nullcontext

    from core import audit

    with nullcontext(session) if session is not None else app.transaction() as tx:
        for ref, path in written:
            audit.record(app, tx, "printed", record_type=kind.replace(".", "_")[:60], record_id=str(ref)[:40],
                         label=str(ref)[:100], changes={"document": kind, "file": str(path)})


def save(app, document: Document, *, output: str | Path | None = None, html: bool = False) -> Path:
    """Lay ``document`` out and write it, to a temporary name then renamed (a reader never sees half a file).

    Needs no database: callers render the documents in a short transaction, then lay them out
    (the slow part) after it ended, so on SQLite they never hold the write lock meanwhile.
    """
    from core.files import output_path, write_private

    suffix = "html" if html else "pdf"
    content = document.html.encode("utf-8") if html else html_to_pdf(document.html, app=app)
    return write_private(output_path(output, f"{document.filename}.{suffix}"), content)


def attachments_for(app, references: list[dict], *, session=None) -> list:
    """Render the documents a notification names (``{document, ref}``) as PDF attachments, at delivery.

    With ``session`` (the delivery's own), the records are read in a savepoint of it, so a
    document that fails cannot spoil the batch; else in a session of their own. A document that
    can no longer be rendered (its module disabled, its record gone) fails the delivery with a
    clear error: the outbox retries and, in the end, parks the message for a person.
    """
    from contextlib import nullcontext

    from core.outbox import Attachment

    if not references:
        return []
    files = []
    own = session is None
    session = app.session() if own else session
    try:
        with session.begin_nested() if not own else nullcontext():
            for item in references:
                try:
                    document, content = pdf(app, session, item["document"], item["ref"])
                except NotFound as exc:
                    raise CrmError(f"attachment {item['document']} {item['ref']}: {exc}") from None
                files.append(Attachment(f"{document.filename}.pdf", content, "application/pdf"))
    finally:
        if own:
            session.close()
    return files
