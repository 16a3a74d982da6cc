"""Helpers of the billing tests (imported by name: a conftest cannot be imported reliably): a small book of customers, products and dated operations.

Every operation runs through the services in its own committed transaction, with the business
date given explicitly (an app per day), so a test reads like the days it replays.
"""

from __future__ import annotations

import datetime as dt
from sqlalchemy import text


def day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


class Books:
    def __init__(self, workspace):
        self.workspace = workspace
        self._apps = {}

    def app(self, when) -> object:
        when = day(when) if isinstance(when, str) else when
        if when not in self._apps:
            self._apps[when] = self.workspace.app(today=when)
        return self._apps[when]

    def close(self):
        for app in self._apps.values():
            app.close()

    def tx(self, when="2026-01-05"):
        return self.app(when).transaction()

    # --- people and things ----------------------------------------------------------------------
    def setup(self):
        from core.services.catalog import create_product
        from core.services.people import create_user

        with self.tx() as session:
            create_user(session, {"login": "bob", "name": "Bob Vendeur", "email": "bob@acme.fr", "role": "sales"})
            create_user(session, {"login": "alice", "name": "Alice Vendeuse", "email": "alice@acme.fr"})
            create_user(session, {"login": "cora", "name": "Cora Recouvrement", "email": "cora@acme.fr",
                                  "role": "collections"})
            for sku, rate in (("P20", "20"), ("P10", "10"), ("P55", "5.5"), ("P21", "2.1")):
                create_product(session, {"sku": sku, "name": f"Produit {sku}", "list_price": "100",
                                         "vat_rate": rate})
        return self

    def customer(self, name, *, kind="company", email="auto", salesperson="bob", term=None, **values):
        from core.services.partners import create_partner
        from plugins.billing.services_terms import get_term, set_partner_term

        if email == "auto":
            email = f"{name.lower().replace(' ', '.')}@client.fr"
        from core.testing import sample_siren

        # an invoice names the buyer's address, and a French business buyer's SIREN (L441-9, the 2026 reform)
        defaults = {"street": "3 place Bellecour", "postal_code": "69002", "city": "Lyon"}
        if kind == "company" and values.get("country", "FR") == "FR" and "siren" not in values \
                and "siret" not in values:
            defaults["siren"] = sample_siren(sum(map(ord, name)) * 31 + len(name))
        data = {"name": name, "kind": kind, "salesperson": salesperson, **defaults, **values}
        if email:
            data["email"] = email
        with self.tx() as session:
            partner = create_partner(self.app("2026-01-05"), session, data)
            if term:
                set_partner_term(session, partner, get_term(session, term))
            return partner.id

    # --- operations -----------------------------------------------------------------------------
    def confirm(self, when, customer_id, lines=(("P20", "1", "100"),), **order) -> str:
        """Confirm an order dated ``when`` (``order``: more of its fields, e.g. a delivery address);
        returns the number of the invoice billing made of it."""
        from core.services.orders import confirm_order, create_order
        from plugins.billing.models import Invoice
        from sqlalchemy import select

        app = self.app(when)
        with app.transaction() as session:
            order = create_order(app, session, {"customer": str(customer_id), "lines": [
                {"sku": sku, "quantity": qty, "unit_price": price} for sku, qty, price in lines], **order})
            confirm_order(app, session, order)
            return session.scalars(select(Invoice.number).where(Invoice.order_id == order.id)).one()

    def pay(self, when, amount, **values):
        from plugins.billing.services_payments import record_payment

        app = self.app(when)
        with app.transaction() as session:
            payment, allocations = record_payment(app, session, {"date": str(when), "amount": amount, **values})
            return payment.unallocated, [(i.number, str(a), i.state) for i, a in allocations]

    def run(self, when, **kw):
        from plugins.billing.services_reminders import run_reminders

        app = self.app(when)
        with app.transaction() as session:
            return run_reminders(app, session, collect=True, **kw)

    def invoice(self, number):
        from plugins.billing.services_invoices import get_invoice

        with self.tx() as session:
            found = get_invoice(session, number)
            found.partner, found.term, found.origin  # loaded before the session closes
            return found

    # --- looking straight into the database ---------------------------------------------------
    def sql(self, statement, **params):
        with self.tx() as session:
            return [tuple(row) for row in session.execute(text(statement), params)]

    def reminders(self):
        """``[(invoice number, level, status, run date)]`` in order."""
        return [(n, l, s, str(d)[:10]) for n, l, s, d in self.sql(
            "SELECT i.number, r.level, r.status, r.run_date FROM billing_reminder r "
            "JOIN billing_invoice i ON i.id = r.invoice_id ORDER BY r.run_date, i.number, r.level")]

    def messages(self, like="billing:reminder:%"):
        """``[(recipients, subject, channel, body)]`` of the outbox rows whose dedup key matches.

        The body is worded as at delivery: the reminder run stores a template and its context.
        """
        return [(m.recipients, m.subject, m.channel, m.text) for m in self.outbox(like)]

    def outbox(self, like="billing:reminder:%"):
        """The decoded outbox messages (text and HTML worded) whose dedup key matches, oldest first."""
        from sqlalchemy import select

        from core.outbox import Message, Notification

        app = self.app("2026-01-05")
        with app.transaction() as session:
            rows = session.scalars(select(Notification).where(Notification.dedup_key.like(like))
                                   .order_by(Notification.id))
            return [Message.from_row(row, app, documents=False) for row in rows]


def set_billing_config(workspace, text_: str) -> None:
    """Append a ``[billing]`` section to the workspace's crm.toml."""
    path = workspace.config_path
    path.write_text(path.read_text(encoding="utf-8") + "\n[billing]\n" + text_ + "\n", encoding="utf-8")


# --- documents (issue 7) ------------------------------------------------------------------------

def deliver(books, when, number) -> None:
    """Deliver, on ``when``, the sales order invoice ``number`` was made from (its delivery date prints)."""
    from core.models import SalesOrder
    from core.services.orders import deliver_order

    app = books.app(when)
    with app.transaction() as session:
        order_id = books.sql("SELECT order_id FROM billing_invoice WHERE number = :n", n=number)[0][0]
        deliver_order(app, session, session.get(SalesOrder, order_id))


def pdf_text(source) -> str:
    """The text of a PDF (a path or its bytes) read back with pypdf, blanks (also the no-break spaces of
    amounts) made single spaces."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def written(result) -> "Path":
    """The file a document command wrote: the path it printed."""
    from pathlib import Path

    path = Path(result.stdout.strip())
    assert path.is_file(), result
    return path


def pdftotext(path) -> str:
    """The PDF as a person reads it (``pdftotext``, poppler): blanks and the no-break spaces of amounts
    made single spaces."""
    import subprocess
    import unicodedata

    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(unicodedata.normalize("NFC", out).replace("\u202f", " ").replace("\xa0", " ").split())
