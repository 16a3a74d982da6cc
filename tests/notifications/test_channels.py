"""The smtp and webhook channels, each against a real server running in the test.

The SMTP server is aiosmtpd on 127.0.0.1; the webhook receiver is a ``ThreadingHTTPServer`` that
checks the HMAC signature with the shared secret as a real receiver would. Failures are recorded
on the message (attempts, next try, last error), parked as ``failed`` after ``max_attempts``, and
put back by ``crm notifications retry``. The SMTP password and the webhook secret come from the
environment and never reach a row or the CLI's output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.outbox import Attachment, Notification, notify

PASSWORD = "s3cr3t-Pa55-never-shown"
SECRET = "whsec-0123456789-never-shown"


def _rows(app):
    with app.transaction() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        session.expunge_all()
        return rows


def _write(app, **values):
    values = {"recipients": ["anne@client.fr", "bob@client.fr"], "subject": "Facture F-1 échue",
              "text": "Bonjour,\nla facture F-1 est échue.\n", **values}
    with app.transaction() as session:
        assert notify(app, session, **values)


def _everything_visible(app, *results) -> str:
    """Every column of every notification and everything the CLI printed, as one text."""
    with app.transaction() as session:
        rows = session.execute(select(Notification.__table__)).all()
    return repr(rows) + "".join(r.stdout + r.stderr for r in results)


@pytest.fixture
def smtp_app(workspace, smtp_server, configure, monkeypatch):
    """A workspace whose e-mail goes through the test's SMTP server (parked after 2 tries, no backoff)."""
    monkeypatch.delenv("CRM_SMTP_PASSWORD", raising=False)
    configure(workspace, f"""
        [notifications]
        email = "smtp"
        sender = "Entonnoir <crm@entonnoir.test>"
        max_attempts = 2
        backoff_seconds = 0

        [notifications.smtp]
        host = "{smtp_server.host}"
        port = {smtp_server.port}
        security = "none"
        timeout = 10
    """)
    app = workspace.app()
    yield app
    app.close()


# --- the .eml rendering of the file channel ------------------------------------------------------

@pytest.mark.parametrize("sender, values", [
    ("Entonnoir Test SAS <crm@localhost>", dict(subject="Plain", text="Just text.")),
    ("Société Générale d'Achats <achats@sga.fr>", dict(
        subject="Relance n°2 : facture F-2026-001 échue depuis 30 jours — merci de régulariser rapidement " * 2,
        text="Bonjour,\r\nligne avec espaces en fin   \n" + "très longue ligne " * 20 + "\n.\nFrom here\n=_ égal",
        html="<p>Facture <b>F-1</b> — 1 234,56 €</p>\n--=_entonnoir_0_fake",
        attachments=[Attachment("relevé été.pdf", bytes(range(256)) * 3, "application/pdf"),
                     Attachment('a "quoted";name.csv', "a;b\n1;2\n".encode(), "text/csv")])),
    ("crm@acme.fr", dict(subject="HTML only alternative", text="", html="<p>x</p>")),
    ("CRM <crm@acme.fr>", dict(subject="Attachment, no HTML", text="See attached.\n",
                               attachments=[Attachment("empty.bin", b"")])),
])
def test_the_file_channel_renders_the_same_email_as_the_email_package(sender, values):
    """build_email (fast compat32 MIME classes) gives the message the modern EmailMessage API gives."""
    import datetime as dt
    from email.message import EmailMessage
    from email.utils import format_datetime

    from core.channels import build_email
    from core.outbox import Message

    message = Message(id=42, channel="email", recipients=values.pop("recipients", ["anne@client.fr", "bob@c.fr"]),
                      created_at=dt.datetime(2026, 11, 28, 9, 30), dedup_key="invoice:F-1", **values)
    reference = EmailMessage()
    reference["From"] = sender
    reference["To"] = ", ".join(message.recipients)
    reference["Subject"] = message.subject
    reference["Message-ID"] = message.message_id
    reference["Date"] = format_datetime(message.created_at.replace(tzinfo=dt.timezone.utc))
    reference.set_content(message.text)
    if message.html:
        reference.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        reference.add_attachment(attachment.content, maintype=maintype, subtype=subtype or "octet-stream",
                                 filename=attachment.filename)
    fast = BytesParser(policy=policy.default).parsebytes(build_email(message, sender=sender).as_bytes())
    slow = BytesParser(policy=policy.default).parsebytes(bytes(reference))
    for header in ("From", "To", "Subject", "Message-ID", "Date", "MIME-Version"):
        assert fast[header] == slow[header], header
    assert fast.get_content_type() == slow.get_content_type()
    assert fast.defects == []

    def parts(email):
        return [(p.get_content_type(), p.get_filename(), p.get_content().replace("\r\n", "\n")
                 if isinstance(p.get_content(), str) else p.get_content())
                for p in email.walk() if not p.is_multipart()]

    assert parts(fast) == parts(slow)



@settings(max_examples=3000, deadline=None)
@given(name=st.sampled_from(["To", "From", "Subject", "Content-Type", "X-Entonnoir-Signature"]),
       value=st.text(st.one_of(st.characters(max_codepoint=127), st.sampled_from(" \t=?;,:<>@é")), max_size=90))
def test_property_a_header_is_written_as_compat32_writes_it(name, value):
    """The file channel's policy writes a plain header directly: the bytes (and the text) are compat32's."""
    from core.channels import POLICY

    for fold in ("fold", "fold_binary"):
        try:
            expected = getattr(policy.compat32, fold)(name, value)
        except Exception as exc:  # an embedded header, say: refused alike
            with pytest.raises(type(exc)):
                getattr(POLICY, fold)(name, value)
        else:
            assert getattr(POLICY, fold)(name, value) == expected


def test_a_whole_message_is_the_bytes_compat32_generates():
    from core.channels import build_email
    from core.outbox import Message

    message = Message(id=7, channel="email", recipients=["anne@client.fr", "Société Générale <sg@client.fr>"],
                      subject="Relance : facture F2026-000001 " + "x" * 80, text="Bonjour,\n", html="<p>Bonjour</p>",
                      created_at=dt.datetime(2026, 11, 28, 9, 30), dedup_key="invoice:F-1",
                      attachments=[Attachment("relevé.csv", b"a;b\n", "text/csv")])
    email = build_email(message, sender="Lumière & Cie <crm@lumiere.fr>")
    assert email.as_bytes() == email.as_bytes(policy=policy.compat32)


# --- SMTP ---------------------------------------------------------------------------------------------

def test_smtp_sends_the_message_to_a_real_server(smtp_app, smtp_server, crm):
    _write(smtp_app, html="<p>La facture <b>F-1</b>.</p>", dedup_key="invoice:F-1:due",
           attachments=[Attachment("F-1.pdf", b"%PDF-1.7\x00\xff binary", "application/pdf")])
    _write(smtp_app, recipients="ops@acme.fr", subject="Second", text="Two.")
    assert crm("notifications", "deliver", "--json").json == {"sent": 2, "retried": 0, "failed": 0, "errors": []}

    first, second = smtp_server.envelopes  # one connection, two messages, in order
    assert first.mail_from == "crm@entonnoir.test"
    assert first.rcpt_tos == ["anne@client.fr", "bob@client.fr"]
    email = BytesParser(policy=policy.default).parsebytes(first.original_content)
    assert email["Subject"] == "Facture F-1 échue"
    assert email["Message-ID"] == "<entonnoir.invoice=3AF-1=3Adue@notifications.local>"
    # SMTP carries lines ending in CRLF
    assert email.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Bonjour,\nla facture F-1 est échue.\n"
    assert "<b>F-1</b>" in email.get_body(("html",)).get_content()
    [attachment] = list(email.iter_attachments())
    assert attachment.get_content() == b"%PDF-1.7\x00\xff binary"
    assert second.rcpt_tos == ["ops@acme.fr"]

    assert [(r.state, r.attempts, r.last_error) for r in _rows(smtp_app)] == [("sent", 1, None)] * 2
    assert crm("notifications", "deliver", "--json").json["sent"] == 0
    assert len(smtp_server.envelopes) == 2


def test_smtp_logs_in_with_the_password_from_the_environment(workspace, smtp_app, smtp_server, crm, configure,
                                                             monkeypatch):
    configure(workspace, 'user = "crm@entonnoir.test"')  # appended to [notifications.smtp]
    smtp_server.credentials = ("crm@entonnoir.test", PASSWORD)
    monkeypatch.setenv("CRM_SMTP_PASSWORD", PASSWORD)
    _write(smtp_app)
    sent = crm("notifications", "deliver")
    assert sent.stdout.startswith("sent 1")
    assert smtp_server.logins == ["crm@entonnoir.test"]
    assert len(smtp_server.envelopes) == 1

    # a wrong password is refused by the server: recorded, retried, never shown
    monkeypatch.setenv("CRM_SMTP_PASSWORD", "wrong-" + PASSWORD)
    _write(smtp_app, subject="Second")
    retried = crm("notifications", "deliver", "--json")
    assert retried.json["retried"] == 1
    [_, row] = _rows(smtp_app)
    assert row.state == "pending" and "SMTPAuthenticationError" in row.last_error
    listed = crm("notifications", "list", "--json")
    shown = crm("notifications", "show", str(row.id))
    assert PASSWORD not in _everything_visible(smtp_app, sent, retried, listed, shown)
    assert len(smtp_server.envelopes) == 1


def test_smtp_without_the_password_variable_is_a_clear_error_not_a_crash(workspace, smtp_app, smtp_server, crm,
                                                                        configure):
    configure(workspace, 'user = "crm@entonnoir.test"')
    _write(smtp_app)
    result = crm("notifications", "deliver", "--json")
    assert result.json["retried"] == 1
    [row] = _rows(smtp_app)
    assert row.state == "pending" and "CRM_SMTP_PASSWORD" in row.last_error
    assert smtp_server.envelopes == []


def test_a_refusing_server_means_retry_with_backoff_then_failed_then_retry_by_hand(
        workspace, smtp_app, smtp_server, crm, configure):
    smtp_server.refuse = "550 5.7.1 relaying denied"
    _write(smtp_app)
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)

    # with a real backoff first: the next try is in the future, and a deliver run now skips it
    with open(workspace.config_path, encoding="utf-8") as handle:
        text = handle.read()
    workspace.config_path.write_text(text.replace("backoff_seconds = 0", "backoff_seconds = 600"), encoding="utf-8")
    assert crm("notifications", "deliver", "--json").json == {"sent": 0, "retried": 1, "failed": 0, "errors": []}
    [row] = _rows(smtp_app)
    assert row.state == "pending" and row.attempts == 1
    assert row.next_attempt_at >= before + dt.timedelta(seconds=600)
    assert "SMTPDataError" in row.last_error and "relaying denied" in row.last_error
    assert crm("notifications", "deliver", "--json").json == {"sent": 0, "retried": 0, "failed": 0, "errors": []}
    [still] = _rows(smtp_app)
    assert still.attempts == 1  # not due yet: not tried again

    # no backoff: the second failure parks it (max_attempts = 2)
    workspace.config_path.write_text(text, encoding="utf-8")
    with smtp_app.transaction() as session:
        session.get(Notification, row.id).next_attempt_at = before
    parked = crm("notifications", "deliver", expect=1)
    assert "failed 1" in parked.stdout and f"notification {row.id}:" in parked.stdout
    assert "relaying denied" in parked.stdout
    [row] = _rows(smtp_app)
    assert row.state == "failed" and row.attempts == 2 and "relaying denied" in row.last_error
    assert [n["id"] for n in crm("notifications", "list", "--state", "failed", "--json").json] == [row.id]
    assert crm("notifications", "deliver", "--json").json["failed"] == 0  # parked: left alone

    # the operator fixes the server and puts it back
    smtp_server.refuse = None
    assert crm("notifications", "retry", str(row.id)).stdout.startswith("1 notification(s) queued again")
    [row] = _rows(smtp_app)
    assert row.state == "pending" and row.attempts == 0
    assert crm("notifications", "deliver", "--json").json["sent"] == 1
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["anne@client.fr", "bob@client.fr"]]
    [row] = _rows(smtp_app)
    assert row.state == "sent" and row.last_error is None


def test_the_backoff_doubles_with_each_attempt(workspace, smtp_app, smtp_server, crm):
    from core.delivery import deliver

    text = workspace.config_path.read_text(encoding="utf-8")
    workspace.config_path.write_text(text.replace("max_attempts = 2", "max_attempts = 4")
                                     .replace("backoff_seconds = 0", "backoff_seconds = 60"), encoding="utf-8")
    app = workspace.app()
    smtp_server.refuse = "451 4.3.0 try again later"
    _write(app)
    from core.db import utcnow

    now = utcnow()  # the message is due from when it was written, by the wall clock
    delays = []
    for attempt in (1, 2, 3):
        report = deliver(app, now=now)
        assert report.retried == 1
        [row] = _rows(app)
        assert row.attempts == attempt
        delays.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    assert delays == [60, 120, 240]
    assert deliver(app, now=now).failed == 1
    app.close()


def test_retry_all_failed(smtp_app, smtp_server, crm):
    smtp_server.refuse = "550 mailbox unavailable"
    for n in range(3):
        _write(smtp_app, subject=f"N{n}")
    crm("notifications", "deliver")
    crm("notifications", "deliver", expect=1)
    assert {r.state for r in _rows(smtp_app)} == {"failed"}
    smtp_server.refuse = None
    assert crm("notifications", "retry", "--all-failed").stdout.startswith("3 notification(s) queued again")
    assert crm("notifications", "deliver", "--json").json["sent"] == 3
    assert len(smtp_server.envelopes) == 3
    assert crm("notifications", "retry", "--all-failed").stdout.startswith("0 notification(s)")


def test_an_unreachable_smtp_server_is_retried(workspace, configure, unused_port, crm):
    configure(workspace, f"""
        [notifications]
        email = "smtp"
        [notifications.smtp]
        host = "127.0.0.1"
        port = {unused_port}
        security = "none"
    """)
    app = workspace.app()
    _write(app)
    assert crm("notifications", "deliver", "--json").json["retried"] == 1
    [row] = _rows(app)
    assert row.state == "pending" and row.attempts == 1 and "ConnectionRefusedError" in row.last_error
    app.close()


# --- webhook ------------------------------------------------------------------------------------------

@pytest.fixture
def webhook_app(workspace, webhook_server, configure, monkeypatch):
    monkeypatch.setenv("CRM_WEBHOOK_SECRET", SECRET)
    configure(workspace, f"""
        [notifications]
        max_attempts = 2
        backoff_seconds = 0

        [notifications.webhook]
        url = "{webhook_server.url}"
        timeout = 10
    """)
    app = workspace.app()
    yield app
    app.close()


def test_the_webhook_posts_signed_json(webhook_app, webhook_server, crm):
    _write(webhook_app, channel="webhook", dedup_key="invoice:F-1:overdue", related="billing_invoice:1",
           html="<p>F-1</p>", attachments=[Attachment("F-1.pdf", b"%PDF", "application/pdf")])
    result = crm("notifications", "deliver", "--json")
    assert result.json == {"sent": 1, "retried": 0, "failed": 0, "errors": []}

    [request] = webhook_server.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert request["path"] == "/hooks/crm"
    assert headers["content-type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-entonnoir-signature"], expected)  # the receiver's check
    payload = json.loads(request["body"])
    assert payload["subject"] == "Facture F-1 échue"
    assert payload["recipients"] == ["anne@client.fr", "bob@client.fr"]
    assert payload["dedup_key"] == "invoice:F-1:overdue"
    assert payload["related"] == "billing_invoice:1"
    assert payload["text"] == "Bonjour,\nla facture F-1 est échue.\n"
    assert payload["attachments"] == ["F-1.pdf"]
    assert headers["idempotency-key"] == "<entonnoir.invoice=3AF-1=3Aoverdue@notifications.local>"
    assert SECRET not in _everything_visible(webhook_app, result) + request["body"].decode()


def test_a_tampered_body_does_not_match_the_signature(webhook_app, webhook_server, crm):
    _write(webhook_app, channel="webhook")
    crm("notifications", "deliver")
    [request] = webhook_server.requests
    signature = request["headers"]["X-Entonnoir-Signature"]
    tampered = request["body"].replace(b"F-1", b"F-9")
    assert signature != "sha256=" + hmac.new(SECRET.encode(), tampered, hashlib.sha256).hexdigest()
    assert signature != "sha256=" + hmac.new(b"another secret", request["body"], hashlib.sha256).hexdigest()


def test_a_webhook_answering_500_is_retried_with_the_same_idempotency_key(webhook_app, webhook_server, crm):
    webhook_server.status = 500
    _write(webhook_app, channel="webhook", dedup_key="order:SO-7:shipped")
    assert crm("notifications", "deliver", "--json").json["retried"] == 1
    [row] = _rows(webhook_app)
    assert row.state == "pending" and row.attempts == 1 and "500" in row.last_error

    webhook_server.status = 204
    assert crm("notifications", "deliver", "--json").json["sent"] == 1
    first, second = webhook_server.requests
    assert first["body"] == second["body"]
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert first["headers"]["X-Entonnoir-Signature"] == second["headers"]["X-Entonnoir-Signature"]
    [row] = _rows(webhook_app)
    assert row.state == "sent" and row.attempts == 2 and row.last_error is None


def test_a_missing_webhook_secret_is_a_clear_error_on_the_message(webhook_app, webhook_server, crm, monkeypatch):
    monkeypatch.delenv("CRM_WEBHOOK_SECRET")
    _write(webhook_app, channel="webhook")
    _write(webhook_app, subject="By e-mail")  # the file channel still works in the same run
    result = crm("notifications", "deliver", "--json")
    assert result.json["retried"] == 1 and result.json["sent"] == 1
    webhook_row, email_row = _rows(webhook_app)
    assert webhook_row.state == "pending" and "CRM_WEBHOOK_SECRET" in webhook_row.last_error
    assert email_row.state == "sent"
    assert webhook_server.requests == []

    monkeypatch.setenv("CRM_WEBHOOK_SECRET", SECRET)
    assert crm("notifications", "deliver", "--json").json["sent"] == 1
    assert len(webhook_server.requests) == 1


def test_an_unreachable_webhook_is_retried_then_parked(workspace, configure, unused_port, crm, monkeypatch):
    monkeypatch.setenv("CRM_WEBHOOK_SECRET", SECRET)
    configure(workspace, f"""
        [notifications]
        max_attempts = 2
        backoff_seconds = 0
        [notifications.webhook]
        url = "http://127.0.0.1:{unused_port}/hooks"
    """)
    app = workspace.app()
    _write(app, channel="webhook")
    assert crm("notifications", "deliver", "--json").json["retried"] == 1
    result = crm("notifications", "deliver", "--json", expect=None)
    assert result.json["failed"] == 1
    [row] = _rows(app)
    assert row.state == "failed" and row.attempts == 2 and "URLError" in row.last_error
    app.close()
