"""Delivery channels: ``file`` (.eml files), ``smtp`` (smtplib) and ``webhook`` (signed JSON POST).

Channels are contributed through the ``register_channels`` hook, the built-in three by the
kernel itself. A notification names a logical channel; ``email`` is sent by the transport chosen
in ``[notifications] email = "file" | "smtp"`` (``file`` by default, so a new workspace shows real
messages in its ``outbox/`` folder without a mail server).

Configuration (``crm.toml``)::

    [notifications]
    email = "smtp"
    sender = "CRM <crm@acme.fr>"
    folder = "outbox"                # file channel, relative to crm.toml

    [notifications.smtp]
    host = "smtp.acme.fr"
    port = 587
    security = "starttls"            # "starttls", "ssl" or "none"
    user = "crm@acme.fr"             # the password comes from $CRM_SMTP_PASSWORD, never the file

    [notifications.webhook]
    url = "https://hooks.acme.fr/crm"
    timeout = 10                     # the HMAC secret comes from $CRM_WEBHOOK_SECRET
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from email import encoders
from email._policybase import Compat32
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Callable

from core.errors import ConfigError, CrmError

SIGNATURE_HEADER = "X-Entonnoir-Signature"


@dataclass(frozen=True)
class Channel:
    """A way to deliver messages.

    :param name: what notifications put in their ``channel`` column.
    :param open: ``open(app)`` returns a sender with ``send(message)`` and ``close()``; one sender
        is opened per delivery run, so a connection can be reused for every message.
    """

    name: str
    open: Callable
    summary: str = ""


def _sender(app) -> str:
    from core.outbox import settings

    from core.services.company import current

    return settings(app).get("sender") or f"{current(app)['name'] or 'Entonnoir'} <crm@localhost>"


def _header(value: str) -> str | Header:
    """A header value, RFC 2047-encoded when it is not plain ASCII."""
    value = " ".join(value.splitlines())
    return value if value.isascii() else Header(value, "utf-8")


def _address(value: str) -> str:
    """An address with its display name encoded if need be (``Société <a@b.fr>``)."""
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if address else " ".join(value.splitlines())


class _Compat32(Compat32):
    """The compat32 policy, writing a header that needs neither encoding nor folding as it is.

    compat32 folds every header through ``email.header.Header`` when a message is generated: 40 % of
    building and writing a message for the file channel. A printable ASCII value that fits on its
    line comes out of that unchanged: such a value is written directly; any other goes through compat32
    (a property test compares the two).
    """

    def _fold(self, name, value, sanitize):
        if (type(value) is str and value.isascii() and value.isprintable()
                and len(name) + 2 + len(value) <= self.max_line_length):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


#: the policy of every message :func:`build_email` makes
POLICY = _Compat32()


def _text_part(content: str, subtype: str) -> MIMEText:
    """A UTF-8 text part in quoted-printable (readable in the .eml), ending with a newline."""
    if not content.endswith("\n"):
        content += "\n"
    charset = Charset("utf-8")
    charset.body_encoding = QP
    return MIMEText(content, subtype, charset, policy=POLICY)


def build_email(message, *, sender: str) -> Message:
    """A standard MIME e-mail for a message: text, optional HTML alternative, attachments.

    Built with the ``email`` package's MIME classes (the compat32 API), about four times faster
    than ``EmailMessage`` with the default policy, which the file channel feels at tens of
    thousands of messages per run; the result is the same message (a test compares them).
    """
    # Boundaries derived from the message's identity: a repeat renders the same bytes, and the
    # generator skips its per-message random boundary and regex compilation.
    tag = hashlib.sha1(message.message_id.encode()).hexdigest()[:24]
    body: Message = _text_part(message.text or "", "plain")
    if message.html:
        alternative = MIMEMultipart("alternative", boundary=f"=_entonnoir_1_{tag}", policy=POLICY)
        alternative.attach(body)
        alternative.attach(_text_part(message.html, "html"))
        body = alternative
    if message.attachments:
        mixed = MIMEMultipart("mixed", boundary=f"=_entonnoir_0_{tag}", policy=POLICY)
        mixed.attach(body)
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            part = MIMEBase(maintype or "application", subtype or "octet-stream", policy=POLICY)
            part.set_payload(attachment.content)
            encoders.encode_base64(part)
            filename = attachment.filename
            part.add_header("Content-Disposition", "attachment",
                            filename=filename if filename.isascii() else ("utf-8", "", filename))
            mixed.attach(part)
        body = mixed
    body["From"] = _address(sender)
    body["To"] = _header(", ".join(message.recipients))
    body["Subject"] = _header(message.subject)
    body["Message-ID"] = message.message_id
    if message.created_at is not None:
        body["Date"] = format_datetime(message.created_at.replace(tzinfo=dt.timezone.utc))
    return body


class FileSender:
    """Writes each message as ``<id>.eml`` in the outbox folder (atomically; a repeat overwrites)."""

    def __init__(self, app):
        from core.outbox import settings

        self.app = app
        self.sender = _sender(app)
        from core.files import private_folder

        self.folder = private_folder(app.config.folder / settings(app).get("folder", "outbox"))

    def send(self, message) -> None:
        from core.files import write_private

        write_private(self.folder / f"{message.id:08d}.eml", build_email(message, sender=self.sender).as_bytes())

    def close(self) -> None:  # nothing held open between messages
        pass


class SmtpSender:
    """Sends through an SMTP server with smtplib; one connection per delivery run."""

    def __init__(self, app):
        from core.outbox import settings

        self.app = app
        self.sender = _sender(app)
        self.options = dict(settings(app).get("smtp", {}))
        if not self.options.get("host"):
            raise ConfigError("crm.toml: notifications.smtp.host: required to send e-mail by SMTP")
        self.connection = None

    def _connect(self):
        import smtplib
        import ssl

        host = self.options["host"]
        security = self.options.get("security", "starttls")
        port = int(self.options.get("port", 465 if security == "ssl" else 587 if security == "starttls" else 25))
        timeout = float(self.options.get("timeout", 30))
        if security == "ssl":
            connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
            if security == "starttls":
                connection.starttls(context=ssl.create_default_context())
            elif security != "none":
                raise ConfigError(f"crm.toml: notifications.smtp.security: {security!r} "
                                  f"(expected starttls, ssl or none)")
        user = self.options.get("user")
        if user:
            password = os.environ.get(self.options.get("password_env", "CRM_SMTP_PASSWORD"))
            if password is None:
                raise ConfigError("the SMTP password is read from $CRM_SMTP_PASSWORD, which is not set")
            connection.login(user, password)
        return connection

    def send(self, message) -> None:
        import smtplib

        email = build_email(message, sender=self.sender)
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = self._connect()
            try:
                self.connection.send_message(email)
                return
            except smtplib.SMTPServerDisconnected:
                self.connection = None
                if attempt == 2:
                    raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except Exception:  # the server may already have gone
                pass


def sign(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """POSTs each message as JSON, signed with HMAC-SHA256 in the ``X-Entonnoir-Signature`` header."""

    def __init__(self, app):
        from core.outbox import settings

        self.options = dict(settings(app).get("webhook", {}))
        if not self.options.get("url"):
            raise ConfigError("crm.toml: notifications.webhook.url: required to deliver webhooks")
        self.secret = os.environ.get(self.options.get("secret_env", "CRM_WEBHOOK_SECRET"))
        if not self.secret:
            raise ConfigError("the webhook secret is read from $CRM_WEBHOOK_SECRET, which is not set")

    def send(self, message) -> None:
        import urllib.error
        import urllib.request

        body = json.dumps({
            "id": message.id, "dedup_key": message.dedup_key, "channel": message.channel,
            "recipients": message.recipients, "subject": message.subject, "text": message.text,
            "html": message.html, "related": message.related,
            "created_at": message.created_at.isoformat() if message.created_at else None,
            "attachments": [a.filename for a in message.attachments],
        }, ensure_ascii=False).encode()
        request = urllib.request.Request(self.options["url"], data=body, method="POST", headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body),
            "Idempotency-Key": message.message_id})
        try:
            with urllib.request.urlopen(request, timeout=float(self.options.get("timeout", 10))) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise CrmError(f"webhook answered {exc.code} {exc.reason}") from None

    def close(self) -> None:  # nothing held open between messages
        pass


BUILT_IN = (
    Channel("file", FileSender, "writes .eml files into the outbox folder"),
    Channel("smtp", SmtpSender, "sends e-mail through an SMTP server"),
    Channel("webhook", WebhookSender, "POSTs signed JSON to a URL"),
)


def channels(app) -> dict[str, Channel]:
    """Every channel of the kernel and the enabled modules, by name."""
    return app.gather("register_channels", Channel, "channel")


class _Senders:
    """Opens each channel's sender on first use during one delivery run."""

    def __init__(self, app):
        from core.outbox import settings

        self.app = app
        self.available = channels(app)
        self.aliases = {"email": settings(app)["email"]}
        self.open: dict[str, object] = {}

    def get(self, name: str):
        name = self.aliases.get(name, name)
        if name not in self.open:
            if name not in self.available:
                raise CrmError(f"no channel named {name!r} (available: {', '.join(sorted(self.available))})")
            self.open[name] = self.available[name].open(self.app)
        return self.open[name]

    def close(self) -> None:
        for sender in self.open.values():
            sender.close()


@contextmanager
def open_senders(app):
    senders = _Senders(app)
    try:
        yield senders
    finally:
        senders.close()

