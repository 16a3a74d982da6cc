"""The printable statement (document kind ``commissions.statement``) and sending it to salespeople.

The document's reference is ``LOGIN:PERIOD`` (``alice:2026-11``), so a notification can name it
and the kernel lays the PDF out when the message is delivered, with the ledger as it is then
(which, for a closed period, is as it was: rows are booked on the business date).
"""

from __future__ import annotations

from core.errors import NotFound


def document_kinds() -> list:
    """The kinds this module registers through ``register_documents``."""
    from core.documents import DocumentKind

    return [DocumentKind("commissions.statement", "a salesperson's commission statement (ref LOGIN:PERIOD)",
                         render=render_statement)]


def _parse(ref: str) -> tuple[str, str]:
    login, sep, period = ref.partition(":")
    if not sep or not login or not period:
        raise NotFound(f"commission statement {ref!r}: expected LOGIN:PERIOD, e.g. alice:2026-11")
    return login.strip().lower(), period.strip().upper()


def render_statement(app, session, ref: str, locale: str):
    """The statement of one salesperson for one period, as a full HTML page."""
    from core.documents import Document
    from core.reports import parse_period
    from core.rendering import render
    from entonnoir_commissions.statement import statement

    login, label = _parse(ref)
    start, end = parse_period(label)
    data = statement(session, start, end, label=label, salesperson=login)
    person = data["salespeople"][0]
    html = render(app, "commissions/statement.html", locale=locale, person=person, period=data["period"])
    return Document(title=f"{person['name']} {label}", filename=f"commissions-{login}-{label}", html=html)


def send_statements(app, session, period_text: str, salesperson: str | None = None) -> tuple[int, int]:
    """Queue each salesperson's statement of the period in the outbox, PDF attached at delivery.

    One message per salesperson who has ledger rows in the period and an e-mail address; the
    dedup key makes sending twice write nothing more. ``salesperson`` (a login) sends only theirs.
    :returns: ``(queued, already queued)``.
    """
    from core.outbox import DocumentAttachment, notify, resolve_recipients
    from core.reports import parse_period
    from core.services.people import get_user
    from entonnoir_commissions.statement import totals

    only = [get_user(session, salesperson).id] if salesperson else None
    label = period_text.strip().upper()
    start, end = parse_period(label)
    queued = repeated = 0
    for person in totals(session, start, end, only):
        recipients = resolve_recipients(session, [f"user:{person['login']}"])
        if not recipients:
            continue
        ref = f"{person['login']}:{label}"
        written = notify(app, session, recipients=recipients, subject=f"Commissions {label}",
                         template="commissions/statement_mail",
                         context={"salesperson": person["name"], "period": label, "total": person["total"],
                                  "base": person["base"], "reversed": person["reversed"] or None},
                         attachments=[DocumentAttachment("commissions.statement", ref)],
                         related=f"commissions:{ref}", dedup_key=f"commissions:statement:{ref}")
        queued, repeated = (queued + 1, repeated) if written else (queued, repeated + 1)
    return queued, repeated
