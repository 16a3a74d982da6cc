"""The notification outbox: messages written in the caller's transaction, delivered afterwards.

A notification is a row written by the same transaction as the business change that causes it,
so a rolled-back command sends nothing and a committed one is never lost. A ``dedup_key`` makes
writing the same notification twice a no-op (a rerun job, a retried command). Delivery
(:mod:`core.delivery`: ``crm notifications deliver``, also the ``notifications.deliver`` job)
sends pending rows through their channel, one commit per message, retries failures with
exponential backoff and parks a message as ``failed`` after ``max_attempts``. Each message
carries a stable identity across retries (the e-mail ``Message-ID``, the webhook
``Idempotency-Key``, the ``.eml`` file name) so a receiver can recognise a repeat.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow
from core.errors import CrmError, NotFound, ValidationError

STATES = ("pending", "sent", "failed")


class Notification(Base):
    """One message in the outbox."""

    __tablename__ = "core_notification"
    #: the delivery queue in id order: a claim reads the next few pending messages from where the
    #: last one stopped, never all that are due (core.delivery)
    __table_args__ = (Index("ix_core_notification_queue", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: logical channel: ``email`` (sent by the configured e-mail transport), ``webhook``, ``file``, ``smtp``...
    channel: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[str] = mapped_column(Text)  # JSON list of addresses
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    #: JSON list: files ``{filename, content_type, data (base64)}`` and documents ``{document, ref}``
    #: rendered as PDF at delivery (:class:`DocumentAttachment`)
    attachments: Mapped[str | None] = mapped_column(Text)
    related: Mapped[str | None] = mapped_column(String(100), index=True)  # "billing_invoice:42"
    #: worded at delivery: ``template`` names ``<template>.txt`` (and ``.html`` if it exists),
    #: rendered with ``context`` (JSON); ``body_text`` is then empty until it is sent.
    template: Mapped[str | None] = mapped_column(String(200))
    context: Mapped[str | None] = mapped_column(Text)
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    business_date: Mapped[dt.date | None]
    sent_at: Mapped[dt.datetime | None]
    #: a deliverer's lease: until then the message is being sent by ``claimed_by`` (host:pid:token);
    #: once it has passed (the deliverer died), any delivery may take the message again
    claimed_until: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))


@dataclass
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass
class DocumentAttachment:
    """A module's document (``billing.invoice`` of ``42``), attached as PDF when the message is delivered.

    A job writing thousands of messages stores only the reference; the PDF is laid out by the
    delivery run (see :mod:`core.documents`).
    """

    kind: str
    ref: str


@dataclass
class Message:
    """What a channel sends: a notification row decoded."""

    id: int
    channel: str
    recipients: list[str]
    subject: str
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    related: str | None = None
    dedup_key: str | None = None
    created_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Notification, app=None, *, documents: bool = True, session=None) -> "Message":
        """Decode a row (a :class:`Notification`, or a plain row of its table); a templated row is
        worded now, with ``app``'s templates and locale.

        :param documents: lay out the attached documents as PDF (delivery does; a listing does not).
        :param session: the delivering transaction's session, for reading the documents' records
            (on SQLite a second connection would wait behind the delivery's own write lock).
        """
        stored = json.loads(row.attachments or "[]")
        files = [Attachment(a["filename"], base64.b64decode(a["data"]), a["content_type"]) for a in stored if "data" in a]
        references = [a for a in stored if "document" in a]
        if references and documents:  # rendered now, with the templates of delivery time
            from core.documents import attachments_for

            files += attachments_for(app, references, session=session)
        text, html = row.body_text, row.body_html
        if row.template:
            text, html = word(app, row.template, json.loads(row.context or "{}"))
        return cls(id=row.id, channel=row.channel, recipients=json.loads(row.recipients), subject=row.subject,
                   text=text, html=html, attachments=files, related=row.related,
                   dedup_key=row.dedup_key, created_at=row.created_at)

    @property
    def message_id(self) -> str:
        """Stable across retries, so a receiver can drop a repeat.

        The dedup key is escaped into RFC 5322 ``atext`` (``=XX`` per byte outside it): a key such
        as ``invoice:F-1`` would otherwise make an invalid Message-ID that parsers cut at the
        colon, and two different messages would look like repeats of each other.
        """
        if self.dedup_key is None:
            local = str(self.id)
        else:
            local = "".join(chr(b) if chr(b) in _ATEXT else f"={b:02X}" for b in self.dedup_key.encode())
            if len(local) > 200:  # keep the header line short; still stable and distinct
                import hashlib

                local = "sha256=" + hashlib.sha256(self.dedup_key.encode()).hexdigest()
        return f"<entonnoir.{local}@notifications.local>"


_ATEXT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/?^_`{|}~")


def word(app, template: str, context: dict) -> tuple[str, str | None]:
    """The text and (if ``<template>.html`` exists) the HTML of a templated notification."""
    from jinja2 import TemplateNotFound

    from core.rendering import environment, render

    has_html = app.__dict__.setdefault("_outbox_html_templates", {})
    if template not in has_html:
        try:
            environment(app).get_template(f"{template}.html")
            has_html[template] = True
        except TemplateNotFound:
            has_html[template] = False
    html = render(app, f"{template}.html", **context) if has_html[template] else None
    return render(app, f"{template}.txt", **context), html


def notification_row(app, *, recipients, subject: str, text: str = "", channel: str = "email",
                     html: str | None = None, attachments=(), related: str | None = None,
                     dedup_key: str | None = None, template: str | None = None, context: dict | None = None) -> dict:
    """Validate one notification and return the row to insert (see :func:`notify`).

    Give either ``text`` (and ``html``), worded now, or ``template`` and ``context``, worded at
    delivery: a job writing tens of thousands of messages then only stores their data (a JSON
    ``context``: strings, numbers, lists and dicts; Decimals and dates are written as strings).
    """
    if template is None and not text:
        raise ValidationError("a notification needs a text or a template", record=f"notification {subject!r}",
                              field="text")
    recipients = [r.strip() for r in ([recipients] if isinstance(recipients, str) else recipients) if r and r.strip()]
    if not recipients:
        raise ValidationError("a notification needs at least one recipient", record=f"notification {subject!r}",
                              field="recipients")
    if not subject:
        raise ValidationError("a notification needs a subject", record="notification", field="subject")
    files = [{"document": a.kind, "ref": a.ref} if isinstance(a, DocumentAttachment) else
             {"filename": a.filename, "content_type": a.content_type,
              "data": base64.b64encode(a.content).decode("ascii")} for a in attachments]
    now = utcnow()
    return {"channel": channel, "recipients": json.dumps(recipients), "subject": subject[:300], "body_text": text,
            "body_html": html, "attachments": json.dumps(files) if files else None, "related": related,
            "dedup_key": dedup_key, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            "business_date": app.today, "template": template,
            "context": json.dumps(context, default=str, ensure_ascii=False) if template else None}


def notify(app, session, **values) -> bool:
    """Write a notification into the outbox, in ``session``'s transaction.

    Arguments are those of :func:`notification_row`. :returns: False when a notification with the
    same ``dedup_key`` already exists (nothing is written), True otherwise.
    """
    return notify_many(app, session, [notification_row(app, **values)]) == 1


def notify_many(app, session, rows: list[dict]) -> int:
    """Insert prepared rows in one statement, skipping dedup keys already present.

    :returns: how many were written.
    """
    if not rows:
        return 0
    from core.dbutil import insert_ignore

    return insert_ignore(session, Notification.__table__, rows, ["dedup_key"])


def resolve_recipients(session, specs) -> list[str]:
    """Turn recipients into e-mail addresses.

    A spec is an address (``a@b.fr``), ``user:LOGIN``, ``role:ROLE`` (every active user with that
    role), ``team:NAME`` (every member), ``partner:ID`` (the partner's address) or ``owner:ID``
    (the salesperson who owns partner ID). Unknown names are errors; users without an address
    are left out.
    """
    from core.models import Partner, Team, User

    addresses: list[str] = []
    for spec in ([specs] if isinstance(specs, str) else specs):
        kind, _, value = spec.partition(":")
        if "@" in spec and kind not in ("user", "role", "team", "partner", "owner"):
            found = [spec]
        elif kind == "user":
            found = session.scalars(select(User.email).where(User.login == value)).all()
            if not found:
                raise NotFound(f"recipient {spec}: no such user")
        elif kind == "role":
            found = session.scalars(select(User.email).where(User.role == value, User.active.is_(True))).all()
        elif kind == "team":
            team = session.scalars(select(Team).where(Team.name == value)).first()
            if team is None:
                raise NotFound(f"recipient {spec}: no such team")
            found = [member.email for member in team.members if member.active]
        elif kind == "partner":
            found = session.scalars(select(Partner.email).where(Partner.id == _number(spec, value))).all()
        elif kind == "owner":
            found = session.scalars(select(User.email).join(Partner, Partner.salesperson_id == User.id)
                                    .where(Partner.id == _number(spec, value))).all()
        else:
            raise ValidationError(f"unknown recipient {spec!r} (an address, user:, role:, team:, partner: or owner:)")
        for address in found:
            if address and address not in addresses:
                addresses.append(address)
    return addresses


def _number(spec: str, value: str) -> int:
    if not value.strip().isdigit():
        raise ValidationError(f"recipient {spec!r}: expected a partner id")
    return int(value)


# --- delivery (core.delivery sends; its settings are read here, by the channels too) -------------

def settings(app) -> dict:
    """The ``[notifications]`` section with its defaults."""
    section = dict(app.config.section("notifications"))
    section.setdefault("email", "file")
    section.setdefault("max_attempts", 5)
    section.setdefault("backoff_seconds", 60)
    section.setdefault("batch_size", 50)  # messages claimed at once
    section.setdefault("lease_seconds", 300)
    return section


def retry(app, session, ref: str | None = None, *, all_failed: bool = False) -> int:
    """Put failed notifications back in the queue (attempts reset). :returns: how many."""
    from core.security import require

    require(app, session, "core.jobs.run")
    if all_failed and ref is not None:
        raise ValidationError("give a notification id or --all-failed, not both", field="id")
    statement = update(Notification).where(Notification.state == "failed")
    if not all_failed:
        if ref is None or not str(ref).isdigit():
            raise ValidationError("give a notification id or --all-failed", field="id")
        row = session.get(Notification, int(ref))
        if row is None:
            raise NotFound(f"notification {ref}: no such notification")
        if row.state != "failed":
            raise CrmError(f"notification {ref} is {row.state}, only failed ones can be retried")
        statement = statement.where(Notification.id == int(ref))
    result = session.execute(statement.values(state="pending", attempts=0, next_attempt_at=utcnow()))
    return result.rowcount


def list_notifications(session, *, state: str | None = None, related: str | None = None, limit: int = 100):
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if state:
        query = query.where(Notification.state == state)
    if related:
        query = query.where(Notification.related == related)
    return session.scalars(query).all()


def notification_dict(row: Notification) -> dict:
    return {"id": row.id, "channel": row.channel, "recipients": json.loads(row.recipients), "subject": row.subject,
            "state": row.state, "attempts": row.attempts, "related": row.related, "dedup_key": row.dedup_key,
            "created_at": row.created_at.isoformat(sep=" ") if row.created_at else None,
            "sent_at": row.sent_at.isoformat(sep=" ") if row.sent_at else None,
            "next_attempt_at": row.next_attempt_at.isoformat(sep=" ") if row.next_attempt_at else None,
            "claimed_until": row.claimed_until.isoformat(sep=" ") if row.claimed_until else None,
            "last_error": row.last_error,
            "attachments": [a.get("filename") or f"{a['document']} {a['ref']}" for a in json.loads(row.attachments or "[]")]}


def notify_select(app, session, query, params: dict | None = None) -> int:
    """Write the notifications a query gives in one ``INSERT ... SELECT``, skipping dedup keys already present.

    For a job writing tens of thousands of messages (the reminder run), where building each row in
    Python with :func:`notification_row` cost more than the database writing them. ``query`` is a
    ``text(...).columns(...)`` giving ``channel, recipients, subject, template, context, related,
    dedup_key`` and optionally ``attachments``, each as :func:`notification_row` would make it
    (recipients a JSON list of stripped addresses, never empty; the context JSON text; the
    attachments NULL or a JSON list of documents ``{"document": kind, "ref": ref}``). The subject
    is cut to its column; the rows are pending, stamped now and with ``app.today``, written in the
    query's order. :returns: how many were written (as :func:`notify_many`, a dedup key present or
    repeated is skipped).
    """
    from sqlalchemy import Date, DateTime, func, literal, true
    from sqlalchemy import select as sql_select

    from core.dbutil import dialect_insert

    insert = dialect_insert(session)
    message = query.subquery("message")
    now = utcnow()
    columns = {"channel": message.c.channel, "recipients": message.c.recipients,
               "subject": func.substr(message.c.subject, 1, 300), "body_text": literal(""),
               "template": message.c.template, "context": message.c.context, "related": message.c.related,
               "dedup_key": message.c.dedup_key, "state": literal("pending"), "attempts": literal(0),
               "next_attempt_at": literal(now, DateTime()), "created_at": literal(now, DateTime()),
               "business_date": literal(app.today, Date())}
    if "attachments" in message.c:
        columns["attachments"] = message.c.attachments
    # "WHERE true": without a WHERE, SQLite could read the ON of ON CONFLICT as a join's
    rows = sql_select(*columns.values()).where(true())
    statement = (insert(Notification.__table__).from_select(list(columns), rows)
                 .on_conflict_do_nothing(index_elements=["dedup_key"]))
    # rowcount of an INSERT is kept only when asked (psycopg would otherwise report -1)
    return session.execute(statement, params or {}, execution_options={"preserve_rowcount": True}).rowcount
