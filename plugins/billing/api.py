"""Billing's endpoints: invoices (list, show, PDF, Factur-X) and payments (list, record)."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.api.http import Page, Record, Rows, body, each, payload, requires, session
from core.api.http import app as crm
from plugins.billing.schemas import PaymentSchema

invoices = Blueprint("invoices", __name__, url_prefix="/api/v1/invoices", description="Invoices and credit notes")
payments = Blueprint("payments", __name__, url_prefix="/api/v1/payments", description="Payments received")
STATES = ("draft", "posted", "partially_paid", "paid", "credited")
PDF = {"type": "string", "format": "binary"}


class InvoiceOut(Record):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    kind = fields.String(metadata={"enum": ["invoice", "credit_note"]})
    state = fields.String(metadata={"enum": list(STATES)})
    customer = fields.String()
    invoice_date = fields.String(metadata={"format": "date"})
    due_date = fields.String(allow_none=True, metadata={"format": "date"})
    days_late = fields.Integer()
    total = fields.String(metadata={"description": "incl. VAT, exact decimal"})
    residual = fields.String(metadata={"description": "still to pay"})
    hold = fields.String(allow_none=True)


class InvoiceQuery(Record):
    overdue = fields.Boolean(load_default=False, metadata={"description": "open and past due, oldest due first"})
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    customer = fields.String(load_default=None, metadata={"description": "customer id or exact name"})
    credit_notes = fields.Boolean(load_default=False)


class LocaleQuery(Record):
    locale = fields.String(load_default=None, validate=validate.OneOf(("fr_FR", "en_GB", "en_US")),
                           metadata={"description": "default: the customer's, else the company's"})


@invoices.get("/")
@invoices.arguments(InvoiceQuery, location="query", as_kwargs=True)
@invoices.response(200, InvoiceOut(many=True))
@invoices.paginate(Page)
@requires("billing.read")
def list_invoices(overdue, state, customer, credit_notes):
    """Invoices, newest first (``crm invoice list``)."""
    from plugins.billing.services_receivables import invoice_row, invoices_query, load_invoices

    today = crm().today
    query = invoices_query(session(), today=today, overdue=overdue, state=state, customer=customer,
                           kind="credit_note" if credit_notes else None)
    return Rows(query, each(lambda invoice: invoice_row(invoice, today)),
                load=lambda page: load_invoices(session(), page))


@invoices.get("/<ref>")
@invoices.response(200, InvoiceOut)
@requires("billing.read")
def show_invoice(ref):
    """One invoice: lines, VAT per rate, instalments, payments, mentions (``crm invoice show``)."""
    from core.extensions import attach
    from plugins.billing.services_invoices import get_invoice
    from plugins.billing.services_receivables import invoice_dict

    found = get_invoice(session(), ref)
    return attach(crm(), session(), "invoice", found.id, invoice_dict(session(), found, crm().today))


def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@invoices.get("/<ref>/pdf")
@invoices.arguments(LocaleQuery, location="query", as_kwargs=True)
@invoices.response(200, PDF, content_type="application/pdf", description="the printable PDF (A4)")
@requires("billing.read")
def invoice_pdf(ref, locale):
    """The invoice or credit note as a PDF with every legal mention (``crm invoice pdf``)."""
    from core.documents import pdf

    document, content = pdf(crm(), session(), "billing.invoice", ref, locale=locale)
    return _pdf(content, f"{document.filename}.pdf")


@invoices.get("/<ref>/facturx")
@invoices.arguments(LocaleQuery, location="query", as_kwargs=True)
@invoices.response(200, PDF, content_type="application/pdf", description="PDF/A-3 with its EN 16931 XML")
@requires("billing.read")
def invoice_facturx(ref, locale):
    """A posted invoice as Factur-X, its XML checked first (``crm invoice facturx``)."""
    from plugins.billing.facturx import facturx_pdf

    document, content = facturx_pdf(crm(), session(), ref, locale=locale)
    return _pdf(content, f"{document.filename}-facturx.pdf")


# --- payments ---------------------------------------------------------------------------------------

class PaymentOut(Record):
    id = fields.Integer(required=True)
    customer = fields.Dict(metadata={"description": "{id, name}"})
    date = fields.String(metadata={"format": "date"})
    amount = fields.String()
    method = fields.String()
    reference = fields.String(allow_none=True)
    unallocated = fields.String(metadata={"description": "left as the customer's credit"})
    allocations = fields.List(fields.Dict())


class PaymentQuery(Record):
    customer = fields.String(load_default=None)


class PaymentIn(PaymentSchema):
    date = fields.String(metadata={"format": "date", "description": "default: today"})


@payments.get("/")
@payments.arguments(PaymentQuery, location="query", as_kwargs=True)
@payments.response(200, PaymentOut(many=True))
@payments.paginate(Page)
@requires("billing.read")
def list_payments(customer):
    """Payments and refunds, newest first (``crm payment list``)."""
    from plugins.billing.payment_history import PaymentHistory

    return Rows(PaymentHistory(session(), customer), lambda page: page)


@payments.post("/")
@body(PaymentIn, example={"amount": "1200.00", "invoice": "F2026-000012", "method": "transfer"})
@payments.response(201, PaymentOut)
@requires("billing.payment.record")
def record_payment():
    """Record a payment and allocate it (named invoices first, else oldest due); excess stays as credit."""
    from plugins.billing.services_payments import payment_dict, record_payment as record

    data = payload()
    data.setdefault("date", crm().today.isoformat())
    recorded = record(crm(), session(), data)
    return payment_dict(*recorded, discounts=recorded.discounts)
