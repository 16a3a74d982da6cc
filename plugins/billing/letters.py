"""Billing's letter: the formal notice (*mise en demeure*), as the reminder run sent it.

``billing.formal_notice`` takes the outbox message of a formal notice (its notification id, as
``crm notifications list`` shows it) or an invoice number (the latest formal notice that listed
the invoice) and lays out ``billing/formal_notice.html`` from the data the reminder run stored
with the message: the same open amounts, interest to the day and indemnities the run computed,
not a second computation that could disagree with the letter that was sent.
"""

from __future__ import annotations

import json

from core.documents import Document, DocumentKind
from core.errors import CrmError, NotFound
from plugins.billing.documents import file_name

#: the template a formal notice is worded with (the level's template in the default policy)
FORMAL_NOTICE_TEMPLATE = "billing/formal_notice"


def formal_notice_kind() -> DocumentKind:
    """The kind billing registers for the letter (``plugins.billing.documents.document_kinds``)."""
    return DocumentKind("billing.formal_notice", "a formal notice letter (notification id, or an invoice number: "
                        "the latest notice listing it)", render_formal_notice, reader_locale=notice_reader_locale)


def notice_reader_locale(app, session, ref: str) -> str:
    """The language of the customer the formal notice was sent to (the run stored it), else the company's."""
    context = json.loads(formal_notice_message(session, ref).context or "{}")
    return context.get("locale") or app.config.company.locale



def render_formal_notice(app, session, ref: str, locale: str) -> Document:
    """Render the formal notice ``ref`` (notification id or invoice number) as a letter in ``locale``."""
    from core.rendering import gettext, render

    row = formal_notice_message(session, ref)
    context = json.loads(row.context or "{}")
    context.pop("locale", None)  # the reader's language: ``locale`` says which, the caller chose it
    _ = gettext(app, locale)
    title = f"{_('Formal notice')} — {context['customer']['name']}"
    html = render(app, f"{FORMAL_NOTICE_TEMPLATE}.html", locale=locale, **context)
    return Document(title=title, filename=f"{file_name(locale, 'notice')}-{context['today']}-{row.id}", html=html)


def formal_notice_pdf(app, session, ref: str, *, locale: str | None = None):
    """``(document, pdf bytes)``: the formal notice as the ``letter`` channel posts it, the letter
    followed by the pages of the invoices it encloses (rendered as at delivery)."""
    from core.documents import attachments_for, html_to_pdf, render
    from plugins.billing.channels import bind_pdfs

    row = formal_notice_message(session, ref)
    document = render(app, session, "billing.formal_notice", ref, locale=locale)
    letter = html_to_pdf(document.html, app=app)
    references = [a for a in json.loads(row.attachments or "[]") if "document" in a]
    enclosed = [a.content for a in attachments_for(app, references, session=session)
                if a.content_type == "application/pdf"] if references else []
    return document, (bind_pdfs([letter, *enclosed]) if enclosed else letter)


def formal_notice_message(session, ref: str):
    """The outbox row of a formal notice: by notification id, or the latest one listing invoice ``ref``.

    A formal notice is a reminder message worded with ``billing/formal_notice`` (level 3 of the
    default policy). The copy sent to the sales owner carries the same data; the letter itself is
    preferred when both exist.
    """
    from sqlalchemy import select

    from core.outbox import Notification

    text = str(ref).strip()
    if text.isdigit():
        row = session.get(Notification, int(text))
        if row is None:
            raise NotFound(f"notification {text}: no such notification (see `crm notifications list`)")
        if row.template != FORMAL_NOTICE_TEMPLATE or not (row.dedup_key or "").startswith("billing:reminder:"):
            raise CrmError(f"notification {text} is not a formal notice (it is worded with "
                           f"{row.template or 'no template'}; a formal notice uses {FORMAL_NOTICE_TEMPLATE})")
        return row
    from plugins.billing.models import Reminder
    from plugins.billing.services_invoices import get_invoice

    invoice = get_invoice(session, text)
    runs = session.execute(select(Reminder.partner_id, Reminder.run_date).where(
        Reminder.invoice_id == invoice.id, Reminder.status == "sent").order_by(Reminder.run_date.desc())).all()
    for partner_id, run_date in runs:
        # the run's dedup key: billing:reminder:<customer>:<run date>:L<level>:<first invoice id>
        prefix = f"billing:reminder:{partner_id}:{run_date.isoformat()}:L"
        row = session.scalars(select(Notification).where(
            Notification.dedup_key.like(f"{prefix}%"), Notification.template == FORMAL_NOTICE_TEMPLATE)
            .order_by(Notification.dedup_key.like("%:copy"), Notification.id)).first()
        if row is not None:
            return row
    raise NotFound(f"invoice {invoice.number}: no formal notice was sent for it (see `crm reminders list`)")
