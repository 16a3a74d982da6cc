"""The invoice of a confirmed order: made in the confirming transaction, posted at once by default.

The usual case (posting on confirmation, an order with lines and a total above zero, the rates
known, the mentions complete) reads everything posting needs in one statement (the customer,
their term and its instalments, the penalty rates of the half-year, an invoice already made),
computes the invoice with the rules :func:`~plugins.billing.posting.post_invoice` applies
(``compute_totals``, ``decide``, ``schedule``, the mentions' ``refusal``), takes its number with
:func:`~plugins.billing.posting.take_number`, and writes the invoice, its lines and instalments
with three Core INSERTs (SQLAlchemy's compiled cache, ``insertmanyvalues`` for the lines, no
unit-of-work bookkeeping, which costs more than the rest of the confirmation) on the session's
connection; the audit trail records each row with its values and id, as it records what the
session flushes (:func:`core.audit.inserted`). Whatever falls outside that case (a draft left by
``post_on_confirm = false``, an order to refuse) takes the general path, which drafts the invoice
as mapped objects and posts it with :func:`~plugins.billing.posting.post_invoice`.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import func, insert, select

from core.errors import StateError
from core.models import SalesOrder
from core.services.orders import compute_totals
from plugins.billing.mentions import operation_category, refusal
from plugins.billing.models_invoices import Invoice, InvoiceDue, InvoiceLine
from plugins.billing.posting import (address_text, discount_mention, discount_offered, new_invoice, order_delivery,
                                     post_invoice, take_number)


def invoice_from_order(app, session, order: SalesOrder) -> Invoice:
    """The invoice of a confirmed order (once per order); posted at once if ``post_on_confirm``."""
    return session.get(Invoice, order_invoice_id(app, session, order))


def order_invoice_id(app, session, order: SalesOrder) -> int:
    """:func:`invoice_from_order` without loading the invoice back: its id (the confirmation hook's path).

    See the module docstring. Nothing is cached across transactions, so an edited term, customer
    or rate counts at once.
    """
    from plugins.billing.settings import settings

    options = settings(app)
    if not options["post_on_confirm"] or not order.lines:
        return _drafted(app, session, order).id
    session.flush()  # what the transaction changed so far is what the read below must see
    today = app.today
    rows = session.connection().execute(_facts_statement(), {
        "order_id": order.id, "partner_id": order.customer_id, "default_term": _term_code(options["default_term"]),
        "half_year": dt.date(today.year, 1 if today.month <= 6 else 7, 1)}).all()
    if rows and rows[0][_EXISTING] is not None:
        return rows[0][_EXISTING]
    facts = _post_facts(app, session, options, order, rows)
    if facts is None:
        return _drafted(app, session, order).id
    values, lines, dues = facts
    values["number"] = take_number(app, session, "F", today, f"invoice of order {order.number}")
    return _write_posted(app, session, values, lines, dues)


def _write_posted(app, session, values: dict, lines: list[dict], dues: list[dict]) -> int:
    """The posted invoice, its lines and instalments: three INSERTs; then ``invoice_posted``."""
    invoice_id = _insert(app, session, Invoice, [values])[0]
    for line in lines:
        line["invoice_id"] = invoice_id
    _insert(app, session, InvoiceLine, lines)
    for due in dues:
        due["invoice_id"] = invoice_id
    _insert(app, session, InvoiceDue, dues)
    if app.pm.hook.invoice_posted.get_hookimpls():  # only load the invoice back for a module that listens
        app.call("invoice_posted", app=app, session=session, invoice=session.get(Invoice, invoice_id))
    return invoice_id


def _insert(app, session, model, rows: list[dict]) -> list[int]:
    """``rows`` of ``model``'s table in one Core INSERT (``insertmanyvalues`` for several), their ids in order.

    Run on the session's connection, and recorded in the audit trail with their values and ids
    (:func:`core.audit.inserted`) as the session records what it flushes.
    """
    from core.audit import inserted

    table = model.__table__
    statement = _STATEMENTS.get(table.name)
    if statement is None:
        statement = _STATEMENTS[table.name] = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.connection().execute(statement, rows[0] if len(rows) == 1 else rows).scalars().all()
    inserted(app, session, model, rows, ids)
    return ids


_STATEMENTS: dict = {}


def _company(session, first):
    """The company's row as the facts row carries it (its identity and mentions need its columns only,
    no mapped object); read on its own, made if missing, when the database lacks it."""
    from core.models import Company

    columns = Company.__table__.columns
    if first[_COMPANY + columns.keys().index("id")] is None:  # no company row: get_company makes it
        from core.services.company import get_company

        company = get_company(session)
        return SimpleNamespace(**{column.key: getattr(company, column.key) for column in columns})
    return SimpleNamespace(**{column.key: first[_COMPANY + n] for n, column in enumerate(columns)})


def _facts_statement():
    """The facts statement, built on first use (its compiled form is then SQLAlchemy's cached one)."""
    statement = _STATEMENTS.get("facts")
    if statement is None:
        statement = _STATEMENTS["facts"] = _order_facts()
    return statement


def _term_code(code) -> str:
    return str(code).strip().upper()  # as ``get_term`` reads it


def _order_facts():
    """Everything posting an order's invoice reads, in one statement (one row per instalment of the term)."""
    from sqlalchemy import Date, Integer, String, bindparam, column, text

    from core.models import Company
    from core.types import ScaledDecimal

    company = Company.__table__
    percent = ScaledDecimal(2)
    rate = ("(SELECT r.rate FROM billing_rate r WHERE r.kind = '{kind}' AND r.valid_from <= :half_year "
            "ORDER BY r.valid_from DESC LIMIT 1)")
    return text(
        "SELECT p.name, p.kind, p.street, p.postal_code, p.city, p.siren, p.vat_number, p.salesperson_id, "
        "t.id AS term_id, t.discount_percent, t.discount_days, l.percent, l.method, l.days, "
        "(SELECT i.id FROM billing_invoice i WHERE i.order_id = :order_id AND i.kind = 'invoice') AS existing_id, "
        f"{rate.format(kind='ecb_refinancing')} AS ecb_rate, {rate.format(kind='legal')} AS legal_rate, "
        "p.country, "
        # the nature of the operation: goods, service, or mixed when the order has both
        "(SELECT CASE WHEN MIN(pr.kind) = MAX(pr.kind) THEN MIN(pr.kind) ELSE 'mixed' END "
        "FROM core_sales_order_line ol JOIN core_product pr ON pr.id = ol.product_id "
        "WHERE ol.order_id = :order_id) AS operation_kind, "
        "(SELECT r.regime FROM billing_partner_regime r WHERE r.partner_id = p.id) AS regime, "
        # the company's row (our identity and mentions) in the same read
        + ", ".join(f"co.{column.name} AS company_{column.name}" for column in company.columns) + " "
        "FROM core_partner p LEFT JOIN core_company co ON co.id = 1 "
        "LEFT JOIN billing_partner_term pt ON pt.partner_id = p.id "
        "JOIN billing_payment_term t ON t.id = COALESCE(pt.term_id, "
        "(SELECT d.id FROM billing_payment_term d WHERE d.code = :default_term)) "
        "JOIN billing_payment_term_line l ON l.term_id = t.id "
        "WHERE p.id = :partner_id ORDER BY l.sequence"
    ).bindparams(bindparam("half_year", type_=Date()), bindparam("order_id", type_=Integer()),
                 bindparam("partner_id", type_=Integer()), bindparam("default_term", type_=String())
    ).columns(  # by position, as the SELECT lists them: SQLAlchemy then keeps the result's description
        *(column(name, type_) for name, type_ in (
            ("name", String()), ("kind", String()), ("street", String()), ("postal_code", String()),
            ("city", String()), ("siren", String()), ("vat_number", String()), ("salesperson_id", Integer()),
            ("term_id", Integer()), ("discount_percent", percent), ("discount_days", Integer()),
            ("percent", percent), ("method", String()), ("days", Integer()), ("existing_id", Integer()),
            ("ecb_rate", percent), ("legal_rate", percent), ("country", String()), ("operation_kind", String()),
            ("regime", String()), *((f"company_{c.name}", c.type) for c in company.columns))))


#: the columns of the facts row, by position
(_NAME, _KIND, _STREET, _POSTAL_CODE, _CITY, _SIREN, _VAT_NUMBER, _SALESPERSON, _TERM, _DISCOUNT_PERCENT,
 _DISCOUNT_DAYS, _PERCENT, _METHOD, _DAYS, _EXISTING, _ECB_RATE, _LEGAL_RATE, _COUNTRY, _OPERATION_KIND,
 _REGIME) = range(20)
_COMPANY = 20  # the company's columns follow, in the table's order

def _post_facts(app, session, options, order: SalesOrder, rows):
    """``(invoice values, lines, instalments)`` of the order's posted invoice, exactly as
    :func:`post_invoice` makes them; None when the general path must decide (and raise)."""
    from plugins.billing.services_terms import schedule

    if not rows or rows[0][_ECB_RATE] is None or rows[0][_LEGAL_RATE] is None:
        return None  # unknown term, or no rate for the half-year: the general path says which
    first = rows[0]
    lines = [SimpleNamespace(sequence=line.sequence, product_id=line.product_id, description=line.description,
                             quantity=line.quantity, unit_price=line.unit_price, discount=line.discount,
                             vat_rate=line.vat_rate) for line in order.lines]
    totals = SimpleNamespace(lines=lines)
    compute_totals(totals)  # the kernel's own rule, as post_invoice applies it
    if totals.total <= 0:
        return None
    from core.services.company import identity

    company = _company(session, first)
    buyer = {"name": first[_NAME], "kind": first[_KIND], "street": first[_STREET], "postal_code": first[_POSTAL_CODE],
             "city": first[_CITY], "country": first[_COUNTRY], "siren": first[_SIREN], "vat_number": first[_VAT_NUMBER]}
    if refusal(company, buyer, order.customer_id):
        return None  # the general path refuses, naming every missing mention
    business = first[_KIND] == "company"  # ``Partner.is_business``
    taxes = _order_taxes(app, session, options, order, first, company, business, lines)
    for line, (rate, category, exemption) in zip(lines, taxes.lines):
        line.vat_rate, line.vat_category, line.vat_exemption = rate, category, exemption
    compute_totals(totals)
    seller = identity(company)
    today = app.today
    dues = schedule(totals.total, today, [(row[_PERCENT], row[_METHOD], row[_DAYS]) for row in rows])
    discount_percent, until = discount_offered(first[_DISCOUNT_PERCENT], first[_DISCOUNT_DAYS], today)
    buyer = SimpleNamespace(street=first[_STREET], postal_code=first[_POSTAL_CODE], city=first[_CITY])
    delivery = order_delivery(order)
    values = {
        "kind": "invoice", "state": "posted", "partner_id": order.customer_id, "order_id": order.id,
        "origin_id": None, "salesperson_id": order.salesperson_id if order.salesperson_id is not None
        else first[_SALESPERSON], "term_id": first[_TERM], "invoice_date": today, "posted_on": today,
        "due_date": dues[0][0], "final_due_date": dues[-1][0], "currency": app.config.company.currency,
        "total_untaxed": totals.total_untaxed, "total_tax": totals.total_tax, "total": totals.total,
        "settled": Decimal("0.00"), "residual": totals.total, "hold": None, "hold_reason": None,
        "seller_name": seller["name"], "seller_siren": seller["siren"], "seller_vat_number": seller["vat_number"],
        "seller_address": address_text(SimpleNamespace(**seller)) or None,
        "seller_identity": json.dumps(seller, sort_keys=True),
        "buyer_name": first[_NAME], "buyer_siren": first[_SIREN], "buyer_vat_number": first[_VAT_NUMBER],
        "buyer_address": address_text(buyer) or None, "buyer_is_business": business,
        "delivery_address": delivery[0], "delivery_country": delivery[1],
        "operation_category": operation_category([first[_OPERATION_KIND]], options["operation_category"]),
        "penalty_rate": max(first[_ECB_RATE] + options["penalty_margin"], 3 * first[_LEGAL_RATE]),
        "recovery_indemnity": options["recovery_indemnity"] if business else None,
        "early_discount": discount_mention(discount_percent, until), "discount_percent": discount_percent,
        "discount_until": until, "note": f"Commande {order.number}",
        "tax_regime": taxes.regime, "vat_mention": taxes.mention,
    }
    line_rows = [{"sequence": l.sequence, "product_id": l.product_id, "description": l.description,
                  "quantity": l.quantity, "unit_price": l.unit_price, "discount": l.discount,
                  "vat_rate": l.vat_rate, "vat_category": l.vat_category, "vat_exemption": l.vat_exemption,
                  "subtotal": l.subtotal, "origin_line_id": None} for l in lines]
    due_rows = [{"sequence": n, "due_date": day, "amount": amount} for n, (day, amount) in enumerate(dues, start=1)]
    return values, line_rows, due_rows


def _order_taxes(app, session, options, order: SalesOrder, first, company, business: bool, lines):
    """:func:`plugins.billing.taxes.decide` for the order's lines (product kinds read only when mixed)."""
    from plugins.billing.taxes import decide, derived_regime

    regime = first[_REGIME] or derived_regime(first[_COUNTRY], business)
    kind = {"goods": "goods", "service": "service"}.get(first[_OPERATION_KIND])
    kinds = [kind] * len(lines) if kind or regime == "domestic" else [line.product.kind for line in order.lines]
    customer = {"id": order.customer_id, "name": first[_NAME], "country": first[_COUNTRY],
                "vat_number": first[_VAT_NUMBER]}
    return decide(session, franchise=bool(company.vat_franchise), customer=customer, regime=regime,
                  lines=[(k, line.vat_rate, line.subtotal) for k, line in zip(kinds, lines)],
                  invoice_date=app.today, threshold=options["distance_selling_threshold"])


def _drafted(app, session, order: SalesOrder) -> Invoice:
    """The general path: the order's draft through the mapped objects, posted by :func:`post_invoice` if
    ``post_on_confirm`` (which refuses, naming what is missing, what the usual case leaves to it)."""
    from plugins.billing.settings import settings

    existing = session.scalars(select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == "invoice")).first()
    if existing is not None:
        return existing
    invoice = new_invoice(app, session, order.customer, salesperson_id=order.salesperson_id, order_id=order.id,
                           note=f"Commande {order.number}")
    for line in order.lines:
        invoice.lines.append(InvoiceLine(sequence=line.sequence, product_id=line.product_id,
                                         description=line.description, quantity=line.quantity,
                                         unit_price=line.unit_price, discount=line.discount,
                                         vat_rate=line.vat_rate))
    compute_totals(invoice)
    session.add(invoice)
    session.flush()
    if settings(app)["post_on_confirm"]:
        post_invoice(app, session, invoice, right="core.order.write")  # the order's confirmation posts it
    return invoice


def on_order_cancelled(app, session, order: SalesOrder) -> None:
    """A draft invoice is deleted with its order; a posted one not wholly credited refuses the cancel."""
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == "invoice")).first()
    if invoice is None:
        return
    if invoice.state == "draft":
        session.delete(invoice)
        session.flush()
        return
    credited = session.scalar(select(func.coalesce(func.sum(Invoice.total), 0)).where(
        Invoice.origin_id == invoice.id, Invoice.kind == "credit_note")) or 0
    if Decimal(credited) < invoice.total:
        raise StateError(f"order {order.number}: invoice {invoice.number} is posted; credit it first "
                         f"(`crm invoice credit {invoice.number}`)")
