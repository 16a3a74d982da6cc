"""The notification outbox: written in the caller's transaction, deduplicated, delivered once.

A rolled-back operation leaves no message behind; a committed one waits as ``pending`` until
``crm notifications deliver`` (or the ``notifications.deliver`` job) sends it through the ``file``
channel, the embedded default, which writes standard ``.eml`` files beside crm.toml.
"""

from __future__ import annotations

import json
import subprocess
import sys
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import func, select

from core.errors import CrmError, NotFound, ValidationError
from core.outbox import Attachment, Notification, notification_row, notify, notify_many, resolve_recipients


def _rows(app, **where):
    with app.transaction() as session:
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        rows = session.scalars(query).all()
        session.expunge_all()
        return rows


def _count(app) -> int:
    with app.transaction() as session:
        return session.scalar(select(func.count()).select_from(Notification))


def _parse(path):
    with open(path, "rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)


# --- writing ----------------------------------------------------------------------------------------

def test_a_rolled_back_operation_leaves_no_notification(app):
    with pytest.raises(RuntimeError, match="the invoice could not be posted"):
        with app.transaction() as session:
            notify(app, session, recipients="anne@client.fr", subject="Invoice F-1", text="Here it is.")
            raise RuntimeError("the invoice could not be posted")
    assert _count(app) == 0


def test_a_committed_notification_waits_as_pending(app):
    with app.transaction() as session:
        assert notify(app, session, recipients=["anne@client.fr", " bob@client.fr "], subject="Invoice F-1",
                      text="Here it is.", related="billing_invoice:1") is True
    [row] = _rows(app)
    assert row.state == "pending"
    assert row.attempts == 0
    assert row.channel == "email"
    assert json.loads(row.recipients) == ["anne@client.fr", "bob@client.fr"]
    assert row.related == "billing_invoice:1"
    assert row.business_date == app.today
    assert row.sent_at is None and row.last_error is None


def test_the_same_dedup_key_twice_writes_one_notification(app):
    values = dict(recipients="anne@client.fr", subject="Reminder 1 for F-1", text="Please pay.",
                  dedup_key="reminder:F-1:1")
    with app.transaction() as session:
        assert notify(app, session, **values) is True
    with app.transaction() as session:
        assert notify(app, session, **values) is False
    with app.transaction() as session:  # in the same transaction too
        assert notify(app, session, **{**values, "dedup_key": "reminder:F-1:2"}) is True
        assert notify(app, session, **{**values, "dedup_key": "reminder:F-1:2"}) is False
    assert [r.dedup_key for r in _rows(app)] == ["reminder:F-1:1", "reminder:F-1:2"]


def test_notify_many_skips_keys_already_written_and_repeats_within_the_batch(app):
    def batch(keys):
        return [notification_row(app, recipients="ops@acme.fr", subject=f"Order {k}", text="Ship it.",
                                 dedup_key=f"order:{k}") for k in keys]

    with app.transaction() as session:
        assert notify_many(app, session, batch([1, 2, 3])) == 3
    with app.transaction() as session:
        # 2 and 3 exist already; 4 appears twice in this batch
        assert notify_many(app, session, batch([2, 3, 4, 4, 5])) == 2
    with app.transaction() as session:
        assert notify_many(app, session, []) == 0
    assert [r.dedup_key for r in _rows(app)] == [f"order:{k}" for k in (1, 2, 3, 4, 5)]


def test_notifications_without_dedup_key_are_all_kept(app):
    with app.transaction() as session:
        assert notify(app, session, recipients="a@b.fr", subject="Hello", text="1") is True
        assert notify(app, session, recipients="a@b.fr", subject="Hello", text="2") is True
        rows = [notification_row(app, recipients="a@b.fr", subject="Hello", text=str(n)) for n in range(3)]
        assert notify_many(app, session, rows) == 3
    assert _count(app) == 5


@pytest.mark.parametrize("values, field", [
    ({"recipients": [], "subject": "Invoice", "text": "x"}, "recipients"),
    ({"recipients": ["  ", ""], "subject": "Invoice", "text": "x"}, "recipients"),
    ({"recipients": "", "subject": "Invoice", "text": "x"}, "recipients"),
    ({"recipients": "a@b.fr", "subject": "", "text": "x"}, "subject"),
])
def test_a_notification_without_recipients_or_subject_is_refused(app, values, field):
    with pytest.raises(CrmError, match=field) as caught:
        with app.transaction() as session:
            notify(app, session, **values)
    assert isinstance(caught.value, ValidationError) and caught.value.field == field
    assert _count(app) == 0


def test_recipients_are_resolved_from_roles_teams_users_and_partners(app, factory):
    from core.services.people import create_team

    factory.user(login="claire", name="Claire", email="claire@acme.fr", role="collections")
    factory.user(login="denis", name="Denis", email="denis@acme.fr", role="collections")
    gone = factory.user(login="emile", name="Emile", email="emile@acme.fr", role="collections")
    factory.user(login="nomail", name="No Mail", email=None, role="collections")
    factory.user(login="sam", name="Sam", email="sam@acme.fr", role="sales")
    customer = factory.partner(name="Client SA", email="compta@client.fr", salesperson="sam")
    orphan = factory.partner(name="Sans Commercial", email="x@orphan.fr")
    with app.transaction() as session:
        session.merge(gone).active = False
        create_team(session, {"name": "Recouvrement", "leader": "claire", "members": ["sam"]})

    with app.transaction() as session:
        assert resolve_recipients(session, "role:collections") == ["claire@acme.fr", "denis@acme.fr"]
        assert sorted(resolve_recipients(session, ["team:Recouvrement"])) == ["claire@acme.fr", "sam@acme.fr"]
        assert resolve_recipients(session, "user:sam") == ["sam@acme.fr"]
        assert resolve_recipients(session, "user:nomail") == []
        assert resolve_recipients(session, f"partner:{customer.id}") == ["compta@client.fr"]
        assert resolve_recipients(session, f"owner:{customer.id}") == ["sam@acme.fr"]  # the customer's salesperson
        assert resolve_recipients(session, f"owner:{orphan.id}") == []
        assert resolve_recipients(session, "boss@acme.fr") == ["boss@acme.fr"]
        # duplicates are dropped, the order of first mention kept
        assert resolve_recipients(session, ["user:sam", "team:Recouvrement", "sam@acme.fr", "role:collections"]) \
            == ["sam@acme.fr", "claire@acme.fr", "denis@acme.fr"]
        assert resolve_recipients(session, "role:purchasing") == []

        with pytest.raises(NotFound, match="user:ghost"):
            resolve_recipients(session, "user:ghost")
        with pytest.raises(NotFound, match="team:Nobody"):
            resolve_recipients(session, "team:Nobody")
        with pytest.raises(ValidationError, match="unknown recipient"):
            resolve_recipients(session, "group:everyone")
        with pytest.raises(ValidationError, match="expected a partner id"):
            resolve_recipients(session, "owner:Client SA")


def test_message_ids_are_valid_stable_and_distinct_for_any_dedup_key():
    from email.message import EmailMessage

    from core.outbox import Message

    keys = ["invoice:F-1", "invoice:F-2", "invoice F-1", "invoice_F-1", "relance n°1 <client>", "a=3Ab", "a:b",
            "x" * 200, "é" * 100]
    ids = []
    for n, key in enumerate(keys, start=1):
        message = Message(id=n, channel="email", recipients=["a@b.fr"], subject="s", text="t", dedup_key=key)
        assert message.message_id == Message(id=999, channel="email", recipients=[], subject="other", text="",
                                             dedup_key=key).message_id  # the row id does not matter
        email = EmailMessage()
        email["Message-ID"] = message.message_id
        email.set_content("t")
        parsed = BytesParser(policy=policy.default).parsebytes(bytes(email))
        assert parsed["Message-ID"] == message.message_id, key  # a parser reads it whole
        assert not parsed["Message-ID"].defects, key
        ids.append(message.message_id)
    assert len(set(ids)) == len(keys)
    assert Message(id=7, channel="email", recipients=[], subject="s", text="t").message_id \
        == "<entonnoir.7@notifications.local>"


# --- delivery through the file channel (the default for e-mail) --------------------------------------

def test_deliver_writes_standard_eml_files_beside_the_config(app, workspace, crm):
    pdf = bytes(range(256)) * 40 + b"%%EOF\r\n\x00"
    with app.transaction() as session:
        notify(app, session, recipients=["anne@client.fr", "bob@client.fr"], subject="Facture F-2026-001 à régler",
               text="Bonjour,\nvotre facture est jointe.\n", html="<p>Bonjour, votre <b>facture</b>.</p>",
               attachments=[Attachment("F-2026-001.pdf", pdf, "application/pdf")],
               related="billing_invoice:1", dedup_key="invoice:F-2026-001")
        notify(app, session, recipients="ops@acme.fr", subject="Plain", text="Just text.")

    result = crm("notifications", "deliver")
    assert result.stdout.startswith("sent 2, to retry 0, failed 0")

    first, second = _rows(app)
    folder = workspace.folder / "outbox"
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{first.id:08d}.eml", f"{second.id:08d}.eml"]

    email = _parse(folder / f"{first.id:08d}.eml")
    assert email["To"] == "anne@client.fr, bob@client.fr"
    assert email["Subject"] == "Facture F-2026-001 à régler"
    assert email["Message-ID"] == "<entonnoir.invoice=3AF-2026-001@notifications.local>"
    assert "Entonnoir Test SAS" in email["From"]
    assert email.get_body(("plain",)).get_content() == "Bonjour,\nvotre facture est jointe.\n"
    assert "<b>facture</b>" in email.get_body(("html",)).get_content()
    [attachment] = list(email.iter_attachments())
    assert attachment.get_filename() == "F-2026-001.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf

    plain = _parse(folder / f"{second.id:08d}.eml")
    assert plain["Message-ID"] == f"<entonnoir.{second.id}@notifications.local>"
    assert not plain.is_multipart() and plain.get_content() == "Just text.\n"

    assert all(row.state == "sent" and row.attempts == 1 and row.sent_at for row in (first, second))


def test_delivering_twice_sends_nothing_more(app, workspace, crm):
    with app.transaction() as session:
        notify(app, session, recipients="anne@client.fr", subject="Once", text="Only once.", dedup_key="once")
    assert crm("notifications", "deliver", "--json").json == {"sent": 1, "retried": 0, "failed": 0, "errors": []}
    eml = next((workspace.folder / "outbox").iterdir())
    first_bytes = eml.read_bytes()
    assert crm("notifications", "deliver", "--json").json == {"sent": 0, "retried": 0, "failed": 0, "errors": []}
    assert len(list((workspace.folder / "outbox").iterdir())) == 1
    assert eml.read_bytes() == first_bytes  # the same message, same Message-ID and Date
    [row] = _rows(app)
    assert row.state == "sent" and row.attempts == 1


def test_deliver_limit_sends_at_most_that_many(app, crm):
    with app.transaction() as session:
        for n in range(5):
            notify(app, session, recipients="a@b.fr", subject=f"N{n}", text="x")
    assert crm("notifications", "deliver", "--limit", "2", "--json").json["sent"] == 2
    assert [r.state for r in _rows(app)] == ["sent", "sent", "pending", "pending", "pending"]
    assert crm("notifications", "deliver", "--json").json["sent"] == 3


def test_notifications_list_and_show(app, crm):
    with app.transaction() as session:
        notify(app, session, recipients="anne@client.fr", subject="First", text="Body one.", related="partner:1")
        notify(app, session, recipients="bob@client.fr", subject="Second", text="Body two.")
    crm("notifications", "deliver", "--limit", "1")

    sent = crm("notifications", "list", "--state", "sent", "--json").json
    assert [(n["subject"], n["state"], n["recipients"], n["attempts"]) for n in sent] \
        == [("First", "sent", ["anne@client.fr"], 1)]
    assert sent[0]["sent_at"] is not None
    pending = crm("notifications", "list", "--state", "pending", "--json").json
    assert [n["subject"] for n in pending] == ["Second"]
    assert [n["subject"] for n in crm("notifications", "list", "--json").json] == ["Second", "First"]  # newest first
    assert [n["subject"] for n in crm("notifications", "list", "--related", "partner:1", "--json").json] == ["First"]
    assert crm("notifications", "list", "--state", "failed", "--json").json == []
    assert "First" in crm("notifications", "list").stdout

    shown = crm("notifications", "show", str(sent[0]["id"]), "--json").json
    assert shown["text"] == "Body one." and shown["related"] == "partner:1"
    assert "Body one." in crm("notifications", "show", str(sent[0]["id"])).stdout
    missing = crm("notifications", "show", "999999", expect=1)
    assert "no such notification" in missing.stderr


def test_retry_refuses_what_is_not_failed(app, crm):
    with app.transaction() as session:
        notify(app, session, recipients="a@b.fr", subject="Pending", text="x")
    [row] = _rows(app)
    assert "only failed ones" in crm("notifications", "retry", str(row.id), expect=1).stderr
    assert "no such notification" in crm("notifications", "retry", "424242", expect=1).stderr
    assert "--all-failed" in crm("notifications", "retry", expect=1).stderr
    assert "not both" in crm("notifications", "retry", "1", "--all-failed", expect=1).stderr
    assert crm("notifications", "retry", "--all-failed").stdout.startswith("0 notification(s)")


def test_an_unknown_channel_is_retried_then_parked_with_the_error(app, workspace, crm, configure):
    configure(workspace, "[notifications]\nmax_attempts = 2\nbackoff_seconds = 0\n")
    with app.transaction() as session:
        notify(app, session, recipients="a@b.fr", subject="By pigeon", text="x", channel="pigeon")
    assert crm("notifications", "deliver", "--json").json["retried"] == 1
    result = crm("notifications", "deliver", expect=1)
    assert "failed 1" in result.stdout and "no channel named 'pigeon'" in result.stdout
    [row] = _rows(app)
    assert row.state == "failed" and row.attempts == 2 and "pigeon" in row.last_error


# --- the notifications.deliver job --------------------------------------------------------------------

def test_the_deliver_job_sends_pending_messages_and_is_recorded(app, workspace, crm):
    with app.transaction() as session:
        for n in range(3):
            notify(app, session, recipients="a@b.fr", subject=f"Job {n}", text="x", dedup_key=f"job:{n}")
    assert any(j["name"] == "notifications.deliver" for j in crm("jobs", "list", "--json").json)

    result = crm("jobs", "run", "--only", "notifications.deliver")
    assert "notifications.deliver" in result.stdout and "sent 3" in result.stdout
    assert [r.state for r in _rows(app)] == ["sent"] * 3
    assert len(list((workspace.folder / "outbox").glob("*.eml"))) == 3

    [run] = [r for r in crm("jobs", "history", "--json").json if r["job"] == "notifications.deliver"]
    assert run["outcome"] == "done"
    assert run["counts"] == {"sent": 3, "retried": 0, "failed": 0}


# --- several deliverers at once (PostgreSQL: FOR UPDATE SKIP LOCKED) ---------------------------------

def test_three_deliverer_processes_at_once_send_each_message_exactly_once(pg_workspace, configure):
    configure(pg_workspace, "[notifications]\nbatch_size = 20\n")
    app = pg_workspace.app()
    try:
        with app.transaction() as session:
            rows = [notification_row(app, recipients=f"customer{n}@client.fr", subject=f"Statement {n}",
                                     text=f"Statement number {n}.", dedup_key=f"statement:{n}") for n in range(300)]
            assert notify_many(app, session, rows) == 300

        argv = [sys.executable, "-m", "core.cli.main", "--config", str(pg_workspace.config_path),
                "notifications", "deliver"]
        processes = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(3)]
        outputs = [process.communicate(timeout=300) for process in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs

        sent_per_process = []
        for stdout, _ in outputs:
            first = stdout.splitlines()[0]  # "sent N, to retry 0, failed 0"
            assert first.startswith("sent ") and first.endswith(", to retry 0, failed 0"), stdout
            sent_per_process.append(int(first.split(",")[0].split()[1]))
        # each process counts what it sent itself: a message sent by two processes would count twice
        assert sum(sent_per_process) == 300, sent_per_process

        delivered = _rows(app)
        assert len(delivered) == 300
        assert {r.state for r in delivered} == {"sent"}
        assert {r.attempts for r in delivered} == {1}
        files = sorted((pg_workspace.folder / "outbox").glob("*.eml"))
        assert [f.name for f in files] == [f"{r.id:08d}.eml" for r in delivered]
        assert not list((pg_workspace.folder / "outbox").glob("*.tmp"))
        subjects = {_parse(f)["Subject"] for f in files}
        assert subjects == {f"Statement {n}" for n in range(300)}
    finally:
        app.close()


def test_a_templated_notification_is_worded_at_delivery(app, crm, workspace, outbox):
    """A job may store only a template name and its data; the message is worded when sent."""
    with app.transaction() as session:
        assert notify(app, session, recipients="anne@client.fr", subject="Relance", template="core/notification",
                      context={"greeting": "Bonjour Anne,", "text": "La facture F-1 <urgente> est échue."},
                      dedup_key="templated:1")
        with pytest.raises(ValidationError, match="a text or a template"):
            notify(app, session, recipients="anne@client.fr", subject="Empty")
    with app.transaction() as session:
        row = session.scalars(select(Notification)).one()
        assert (row.body_text, row.template) == ("", "core/notification")  # only data is stored
    [message] = outbox.messages()
    assert message["text"].startswith("Bonjour Anne,\n\nLa facture F-1 <urgente> est échue.")
    assert "Entonnoir Test SAS" in message["text"] and message["html"] is None
    assert "La facture F-1 <urgente>" in crm("notifications", "show", str(row.id)).stdout
    crm("notifications", "deliver")
    email = BytesParser(policy=policy.default).parsebytes(
        (workspace.folder / "outbox" / f"{row.id:08d}.eml").read_bytes())
    assert email.get_body(("plain",)).get_content().startswith("Bonjour Anne,")
