"""Billing's printable invoice (or credit note); the formal notice letter is in ``letters.py``.

``billing.invoice`` takes an invoice id or number (``F2026-000042``, ``AV2026-000003``) and lays
out ``billing/invoice.html``: an A4 page with every mention French law asks of an invoice (Code de
commerce L441-9, CGI art. 242 nonies A; DESIGN.md "Billing"). The mentions come from what posting
froze on the invoice (seller and buyer identity, penalty rate, indemnity, early-payment
discount), never from today's configuration, so a reprint says what the original said.

Printing many reads them in bulk (:func:`read_invoices`: one query per relation for all of them)
into pages of plain values that worker processes lay out without a database (``core.printing``).

The seller's identity (legal form, RCS, share capital, IBAN and BIC, VAT-on-debits option,
e-invoicing address) is the company's (``crm company set``), frozen on the invoice at posting.
Optional ``[billing]`` keys read here: ``iban``, ``bic`` and ``bank`` (deprecated: bank details of
a company that has none in its identity) and ``legal_footer`` (any further text for the footer).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from core.documents import Document, DocumentKind
from core.errors import ConfigError, NotFound

#: file names per language (a person saves and mails them: their own words)
FILE_NAMES = {"fr": {"invoice": "facture", "credit_note": "avoir", "draft": "brouillon", "notice": "mise-en-demeure"},
              "en": {"invoice": "invoice", "credit_note": "credit-note", "draft": "draft", "notice": "formal-notice"}}
CATEGORIES = {"goods": "delivery of goods", "services": "supply of services", "mixed": "goods and services"}
#: how posting words the early-payment mention (``services_invoices.post_invoice``), to reword it per language
_DISCOUNT = re.compile(r"Escompte de (?P<percent>[\d.]+) % pour paiement avant le (?P<until>\d{4}-\d{2}-\d{2})$")
_NO_DISCOUNT = "Pas d'escompte pour paiement anticipé"


def document_kinds() -> list[DocumentKind]:
    """The kinds billing registers with the kernel (``register_documents``)."""
    return [DocumentKind("billing.invoice", "an invoice or credit note (id or number), A4 with the legal mentions",
                         render_invoice, reader_locale=invoice_reader_locale, read=read_invoices)]


def invoice_reader_locale(app, session, ref: str) -> str:
    """The customer's language (``crm partner edit N --language en``), else the company's."""
    from core.services.company import reader_locale
    from plugins.billing.services_invoices import get_invoice

    return reader_locale(app, get_invoice(session, ref).partner)


def file_name(locale: str, key: str) -> str:
    return FILE_NAMES.get(locale.split("_")[0], FILE_NAMES["en"])[key]


# --- the invoice ---------------------------------------------------------------------------------

def render_invoice(app, session, ref: str, locale: str) -> Document:
    """Render invoice or credit note ``ref`` as a complete HTML page in ``locale``."""
    from core.documents import compose

    (page,) = read_invoices(app, session, [ref], locale)
    if isinstance(page, Exception):
        raise page
    return compose(app, page)


def read_invoices(app, session, refs: list[str], locale: str | None) -> list:
    """The pages of invoices ``refs`` (ids or numbers), read in a few queries whatever their number.

    :returns: per reference, a :class:`~core.documents.Page` of plain values, or the
        :class:`NotFound` naming it. ``locale`` None: each customer's language.
    """
    from core.extensions import read

    found = load_invoices(session, refs)
    ids = sorted({invoice.id for invoice in found.values()})
    extensions = read(app, session, "invoice", ids, only="printed", dump=False) if ids else {}
    customers = read(app, session, "partner", sorted({i.partner_id for i in found.values()}),
                     only="printed", dump=False) if ids else {}
    orders = _orders(session, {i.order_id for i in found.values() if i.order_id})
    pages: list = []
    made: dict = {}  # an invoice named twice (its id and its number) is one page
    for ref in refs:
        invoice = found.get(_key(ref))
        if invoice is None:
            pages.append(NotFound(f"invoice {str(ref).strip()}: no such invoice (see `crm invoice list`)"))
            continue
        if invoice.id not in made:
            chosen = locale or _reader_locale(app, invoice.partner)
            context = _context(app, session, invoice, chosen, orders.get(invoice.order_id),
                               extensions.get(invoice.id), customers.get(invoice.partner_id))
            made[invoice.id] = invoice_page(app, invoice, context, chosen)
        pages.append(made[invoice.id])
    return pages


def invoice_page(app, invoice, context: dict, locale: str):
    """The page of ``invoice`` from its context (:func:`invoice_context`), made plain values."""
    from core.documents import Page

    title = f"{context['heading']} {invoice.number or gettext_for(app, locale)('(draft)')}"
    number = invoice.number or f"{file_name(locale, 'draft')}-{invoice.id}"
    return Page("billing/invoice.html", locale, title, f"{file_name(locale, invoice.kind)}-{number}", plain(context))


def load_invoices(session, refs: list[str]) -> dict:
    """``{key: invoice}`` for the ids and numbers in ``refs``, with their lines, products, instalments,
    customer, term and credited invoice: one query per relation for all of them."""
    from sqlalchemy import or_, select
    from sqlalchemy.orm import selectinload

    from plugins.billing.models_invoices import Invoice, InvoiceLine, PaymentTerm

    keys = {_key(ref) for ref in refs}
    ids = sorted(k for k in keys if isinstance(k, int))
    numbers = sorted(k for k in keys if isinstance(k, str))
    found: dict = {}
    for start in range(0, max(len(ids), len(numbers)), 1000):  # a database takes a bounded number of parameters
        query = select(Invoice).where(or_(Invoice.id.in_(ids[start:start + 1000]),
                                          Invoice.number.in_(numbers[start:start + 1000]))).options(
            selectinload(Invoice.lines).selectinload(InvoiceLine.product), selectinload(Invoice.dues),
            selectinload(Invoice.partner), selectinload(Invoice.term).selectinload(PaymentTerm.lines),
            selectinload(Invoice.origin))
        for invoice in session.scalars(query):
            found[invoice.id] = invoice
            if invoice.number:
                found[invoice.number] = invoice
    return found


def _key(ref) -> int | str:
    text = str(ref).strip()
    return int(text) if text.isdigit() else text.upper()


def _orders(session, ids: set) -> dict:
    from sqlalchemy import select

    from core.models import SalesOrder

    found = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        found.update({o.id: o for o in session.scalars(select(SalesOrder).where(
            SalesOrder.id.in_(ordered[start:start + 1000])))})
    return found


def _reader_locale(app, partner) -> str:
    from core.services.company import reader_locale

    return reader_locale(app, partner)


def gettext_for(app, locale: str):
    from core.rendering import gettext

    return gettext(app, locale)


def invoice_context(app, session, invoice, locale: str) -> dict:
    """Everything the invoice templates (HTML and text) print, in ``locale``.

    A posted invoice prints its frozen mentions; a draft (no number yet) the current company and
    customer, marked as a draft.
    """
    from core.extensions import printed
    from core.models import SalesOrder

    order = session.get(SalesOrder, invoice.order_id) if invoice.order_id else None
    return _context(app, session, invoice, locale, order, printed(app, session, "invoice", invoice.id),
                    printed(app, session, "partner", invoice.partner_id))


def _context(app, session, invoice, locale: str, order, extensions, customer_extensions) -> dict:
    """The invoice's context from what was read already (the session is asked only for a draft's seller)."""
    from types import SimpleNamespace

    from core.extensions import blank
    from core.rendering import environment
    from core.services.orders import vat_breakdown
    from plugins.billing.posting import address_text, order_delivery
    from plugins.billing.settings import settings

    env = environment(app, locale=locale)
    _ = env.catalog.gettext
    options = settings(app)
    partner = invoice.partner
    posted = invoice.state != "draft"
    seller = seller_identity(session, invoice)
    seller["address"] = _lines(invoice.seller_address if posted and invoice.seller_address
                               else address_text(SimpleNamespace(**seller)))
    seller["country"] = seller.get("country") or "FR"
    seller["share_capital_text"] = env_money(app, locale, seller.get("share_capital"))
    seller["logo_url"] = logo_url(app, seller.get("logo"))
    buyer = {"name": invoice.buyer_name or partner.name, "siren": invoice.buyer_siren if posted else partner.siren,
             "vat_number": invoice.buyer_vat_number if posted else partner.vat_number,
             "address": _lines(invoice.buyer_address if posted else address_text(partner)),
             "country": partner.country, "email": partner.email, "business": invoice.buyer_is_business if posted else partner.is_business}
    where, where_country = (invoice.delivery_address, invoice.delivery_country) if posted else order_delivery(order)
    delivery = {"address": _lines(where), "country": where_country} if where else None
    for party in (buyer, delivery):
        if party and party["country"] and party["country"] != seller["country"]:
            from babel import Locale

            party["country_name"] = Locale.parse(locale).territories.get(party["country"], party["country"])
    credit_note = invoice.kind == "credit_note"
    origin_total = invoice.origin.total if credit_note and invoice.origin is not None else None
    return {
        "invoice": invoice, "posted": posted, "credit_note": credit_note,
        # the fields modules add to invoices and customers, marked printed (core.extensions)
        "extensions": extensions or blank(app, "invoice", only="printed"),
        "customer_extensions": customer_extensions or blank(app, "partner", only="printed"),
        "heading": _("Credit note") if credit_note else _("Invoice"),
        "seller": seller, "buyer": buyer, "lines": list(invoice.lines), "vat": vat_breakdown(invoice),
        "category": _(CATEGORIES.get(invoice.operation_category, invoice.operation_category)),
        "order_number": order.number if order else None,
        "delivery_date": order.delivered_at if order else None,
        # where the goods went, when the order named a place other than the buyer's address
        "delivery": delivery if delivery and delivery["address"] != buyer["address"] else None,
        "origin": invoice.origin, "credit_reason": _credit_reason(invoice),
        "dues": list(invoice.dues), "term_name": term_label(invoice.term, _, locale, app.config.company.locale),
        "early_discount": early_discount_mention(invoice, _, env.filters),
        "penalty_margin": options["penalty_margin"],
        # a credit note says whether it cancels its invoice wholly or in part (CGI 242 nonies A)
        "cancels": None if origin_total is None else ("whole" if invoice.total >= origin_total else "part"),
        "payment_reference": invoice.number,
        "bank": bank_details(app, seller), "legal_footer": app.config.section("billing").get("legal_footer") or None,
        "unit_price": UnitPrice(locale, invoice.currency),
    }


def plain(value, _path: frozenset = frozenset()):
    """``value`` with its mapped records made plain records (their columns, and the relations
    loaded with them, recursively, but never back up to a record being converted): what a worker
    process can receive, and a template reads the same way (``invoice.number``, ``line.product.sku``)."""
    from types import SimpleNamespace

    from sqlalchemy import inspect as inspect_record

    if isinstance(value, dict):
        return {key: plain(item, _path) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item, _path) for item in value]
    mapper = getattr(type(value), "__mapper__", None)
    if mapper is None:
        return value
    path = _path | {id(value)}
    state = inspect_record(value)
    record = {column.key: getattr(value, column.key) for column in mapper.column_attrs}
    for relation in mapper.relationships:
        if relation.key in state.unloaded:
            continue
        related = getattr(value, relation.key)
        if related is None or isinstance(related, list) or id(related) not in path:
            record[relation.key] = plain([r for r in related if id(r) not in path] if isinstance(related, list)
                                         else related, path)
    return SimpleNamespace(**record)


class UnitPrice:
    """Unit prices keep their own decimals (0,125 €): the ``money`` filter would round them to the cent.

    A class rather than a closure, so that a page's context crosses to a worker process.
    """

    def __init__(self, locale: str, currency: str):
        self.locale, self.currency = locale, currency

    def __call__(self, value) -> str:
        from babel.numbers import format_currency

        return format_currency(Decimal(value), self.currency, locale=self.locale, decimal_quantization=False)


def term_label(term, _, locale: str, company_locale: str) -> str | None:
    """The payment term as the page words it: its name (the admin's words, in the company's
    language), or in another language a description from its instalments ("30 days end of month"),
    never the company's code or name."""
    if term is None:
        return None
    if locale.split("_")[0] == company_locale.split("_")[0]:
        return term.name
    words = {"immediate": _("on receipt"), "days": _("%(days)s days"),
             "days_end_of_month": _("%(days)s days end of month"), "end_of_month_days": _("end of month + %(days)s days")}
    parts = []
    for line in term.lines:
        when = words[line.method] % {"days": line.days} if "%(days)s" in words[line.method] else words[line.method]
        parts.append(when if line.percent is None and len(term.lines) == 1 else
                     f"{_('balance') if line.percent is None else f'{line.percent.normalize():f} %'} {when}")
    return ", ".join(parts)


def early_discount_mention(invoice, _, filters) -> str | None:
    """The early-payment discount mention posting froze, in the page's language.

    Posting stores it in French (``Escompte de 2 % pour paiement avant le 2026-01-15``); a mention
    of another shape (written by an older version, or by hand) is printed as it is.
    """
    stored = invoice.early_discount
    if not stored:
        return None
    if stored == _NO_DISCOUNT:
        return _("No discount for early payment")
    found = _DISCOUNT.match(stored)
    if found is None:
        return stored
    return _("%(percent)s discount for payment before %(date)s") % {
        "percent": filters["percent"](Decimal(found["percent"])), "date": filters["date"](found["until"])}


def seller_identity(session, invoice) -> dict:
    """The seller as the invoice froze it at posting; a draft (or an invoice posted before the
    identity was frozen whole) reads the company's identity now, under the columns it did freeze."""
    from core.services.company import get_company, identity

    if invoice.seller_identity:
        return json.loads(invoice.seller_identity)
    seller = identity(get_company(session))
    if invoice.state != "draft":
        from core.services.company import display_name

        seller.update(name=invoice.seller_name or seller["name"], siren=invoice.seller_siren or seller["siren"],
                      vat_number=invoice.seller_vat_number or seller["vat_number"])
        seller["display_name"] = display_name(seller["name"], seller.get("legal_form"))
    return seller


def logo_url(app, name: str | None) -> str | None:
    """The company's logo (a file ``crm company set --logo`` copied into the workspace) as a
    ``data:`` URL, the only kind of file a document may embed besides its templates'; None when
    there is none, or the file is gone."""
    import base64
    import mimetypes

    path = app.config.folder / name if name else None
    if path is None or not path.is_file():
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def env_money(app, locale: str, value) -> str | None:
    """An amount as the page prints it (the share capital: "50 000,00 €")."""
    from core.rendering import environment

    return None if value in (None, "") else environment(app, locale=locale).filters["money"](Decimal(value))


def bank_details(app, seller: dict | None = None) -> dict | None:
    """``{iban, bic, bank}`` of the seller's identity, else of ``[billing]`` (deprecated), or None;
    a malformed IBAN in the config is refused, not printed."""
    from stdnum import iban as iban_check

    if seller and seller.get("iban"):
        return {"iban": seller["iban"], "iban_display": iban_check.format(seller["iban"]),
                "bic": seller.get("bic"), "bank": seller.get("bank")}
    section = app.config.section("billing")
    iban = "".join(str(section.get("iban") or "").split()).upper()
    if not iban:
        return None
    if not iban_check.is_valid(iban):
        raise ConfigError(f"crm.toml: billing.iban: {section.get('iban')!r} is not a valid IBAN")
    return {"iban": iban, "iban_display": iban_check.format(iban), "bic": section.get("bic") or None,
            "bank": section.get("bank") or None}


def _credit_reason(invoice) -> str | None:
    """The reason typed for a credit note (``Avoir sur facture X : reason``, as the service writes it)."""
    note = invoice.note or ""
    if invoice.kind == "credit_note" and " : " in note and note.startswith("Avoir sur facture"):
        return note.split(" : ", 1)[1] or None
    return None


def _lines(text: str | None) -> list[str]:
    return [line for line in (text or "").split("\n") if line.strip()]
