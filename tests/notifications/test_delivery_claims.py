"""Delivery commits each message's state around its sending (issue 14), on SQLite and PostgreSQL.

A deliverer claims a few messages with a lease (committed), sends one, marks it sent in its own
commit, then sends the next. What the SMTP server (a real aiosmtpd in a thread) sees is checked
against what the database holds at that very moment; a deliverer that died holding a claim is
played by a claim that is never sent, and a later delivery takes its messages once the lease
has run out, with the same Message-ID.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import make_engine, utcnow
from core.delivery import _claim, deliver
from core.outbox import notify

LEASE = 300


@pytest.fixture
def smtp_app(workspace, smtp_server, configure):
    configure(workspace, f"""
        [notifications]
        email = "smtp"
        batch_size = 3
        lease_seconds = {LEASE}
        max_attempts = 3
        backoff_seconds = 0

        [notifications.smtp]
        host = "{smtp_server.host}"
        port = {smtp_server.port}
        security = "none"
    """)
    app = workspace.app()
    yield app
    app.close()


def write(app, count: int, prefix: str = "claim") -> list[str]:
    """``count`` messages; returns their Message-IDs (from their dedup keys), in id order."""
    with app.transaction() as session:
        for n in range(count):
            notify(app, session, recipients=f"client{n}@client.fr", subject=f"Message {n}", text="Bonjour.",
                   dedup_key=f"{prefix}-{n}")
    return [f"<entonnoir.{prefix}-{n}@notifications.local>" for n in range(count)]


def states(database_url: str) -> list[tuple[str, str, bool]]:
    """``[(dedup_key, state, claimed)]`` read straight from the database, by another connection."""
    from sqlalchemy import text

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            return [(key, state, claimed is not None) for key, state, claimed in connection.execute(text(
                "SELECT dedup_key, state, claimed_until FROM core_notification ORDER BY id"))]
    finally:
        engine.dispose()


def test_each_message_is_marked_sent_in_its_own_commit_before_the_next_one_leaves(smtp_app, smtp_server, workspace):
    ids = write(smtp_app, 5)
    seen = {}
    smtp_server.on_data = lambda message_id: seen.setdefault(message_id, states(workspace.database_url))

    report = deliver(smtp_app)
    assert (report.sent, report.retried, report.failed) == (5, 0, 0)
    assert smtp_server.message_ids() == ids

    def at(n):
        return [(state, claimed) for _, state, claimed in seen[ids[n]]]

    sent, claimed, waiting = ("sent", False), ("pending", True), ("pending", False)
    # claims of 3 (batch_size): committed before the first of them leaves
    assert at(0) == [claimed, claimed, claimed, waiting, waiting]
    assert at(1) == [sent, claimed, claimed, waiting, waiting]  # the first is already marked sent
    assert at(2) == [sent, sent, claimed, waiting, waiting]
    assert at(3) == [sent, sent, sent, claimed, claimed]
    assert at(4) == [sent, sent, sent, sent, claimed]
    assert states(workspace.database_url) == [(f"claim-{n}", "sent", False) for n in range(5)]  # leases released


def test_a_dead_deliverers_claim_waits_for_its_lease_then_goes_out_once_with_the_same_message_id(
        smtp_app, smtp_server, workspace, crm):
    ids = write(smtp_app, 4)
    # a deliverer claimed the first two and died before sending them
    held = _claim(smtp_app, utcnow(), after=0, size=2, lease=LEASE, claimer="elsewhere:4242:dead")
    assert [row.dedup_key for row in held] == ["claim-0", "claim-1"]
    shown = crm("notifications", "show", str(held[0].id), "--json").json
    assert shown["state"] == "pending" and shown["claimed_until"] > utcnow().isoformat(sep=" ")

    report = deliver(smtp_app)  # their lease runs: another deliverer leaves them alone
    assert report.sent == 2 and smtp_server.message_ids() == ids[2:]
    assert [state for _, state, _ in states(workspace.database_url)] == ["pending", "pending", "sent", "sent"]

    assert deliver(smtp_app, now=utcnow() + dt.timedelta(seconds=LEASE - 30)).sent == 0  # not yet
    later = utcnow() + dt.timedelta(seconds=LEASE + 1)  # the lease has run out
    assert deliver(smtp_app, now=later).sent == 2
    assert sorted(smtp_server.message_ids()) == sorted(ids)  # each exactly once
    assert deliver(smtp_app, now=later).sent == 0


def test_a_message_keeps_its_message_id_across_retries(smtp_app, smtp_server):
    [message_id] = write(smtp_app, 1, prefix="retry")
    smtp_server.refuse = "451 4.3.0 try again later"
    assert deliver(smtp_app).retried == 1
    smtp_server.refuse = None
    assert deliver(smtp_app).sent == 1
    assert smtp_server.offered == [message_id, message_id]
    assert smtp_server.message_ids() == [message_id]


@pytest.mark.parametrize(("setting", "shown"), [("lease_seconds = 0", "notifications.lease_seconds: must be from 1"),
                                                ('batch_size = "many"', "notifications.batch_size: must be a whole")])
def test_a_lease_or_claim_size_that_cannot_work_is_named(app, workspace, configure, crm, setting, shown):
    write(app, 1, prefix="never")
    configure(workspace, f"[notifications]\n{setting}\n")
    refused = crm("notifications", "deliver", expect=1)
    assert shown in refused.stderr and "unexpected" not in refused.stderr
    assert [state for _, state, _ in states(workspace.database_url)] == ["pending"]  # nothing claimed nor sent


@pytest.mark.modules("procurement")
def test_a_jobs_run_delivers_what_its_own_jobs_wrote(crm, workspace):
    """Delivery runs last: the reorder summary written by ``procurement.reorder`` goes out in the same run."""
    crm("user", "add", "paula", "Paula Achat", "--email", "achats@entonnoir.fr", "--role", "purchasing")
    crm("partner", "add", "Minoterie Dupont", "--supplier", "--no-customer", "--email", "commandes@dupont.fr")
    crm("product", "add", "FARINE-T55", "Farine T55 sac 25 kg", "--price", "19.90")
    crm("supplier", "price", "add", "--supplier", "Minoterie Dupont", "--sku", "FARINE-T55", "--price", "11.40",
        "--preferred")
    crm("reorder", "rule", "add", "FARINE-T55", "--min", "20", "--max", "60")
    crm("stock", "adjust", "FARINE-T55", "10", "--reason", "inventaire d'ouverture")

    ran = {r["job"]: r for r in crm("jobs", "run", "--json").json}
    assert list(ran) == ["procurement.bills_inbox", "procurement.reorder", "notifications.deliver"]  # delivery last
    assert ran["procurement.reorder"]["counts"]["summary_sent"] == 1
    assert ran["notifications.deliver"]["counts"]["sent"] >= 1
    summaries = [n for n in crm("notifications", "list", "--json").json if n["subject"].startswith("Reorder")]
    assert [(n["recipients"], n["state"]) for n in summaries] == [(["achats@entonnoir.fr"], "sent")]
    assert crm("notifications", "list", "--state", "pending", "--json").json == []


def test_the_dates_delivery_writes_are_found_by_the_same_dates(smtp_app, smtp_server):
    """Delivery writes its marks through the driver: a date must be stored as SQLAlchemy stores it
    (on SQLite, text: ``2026-12-06 10:00:00`` would never equal ``2026-12-06 10:00:00.000000``)."""
    from sqlalchemy import select

    from core.outbox import Notification

    def found_by(column, row) -> list[int]:
        with smtp_app.transaction() as session:
            return session.scalars(select(Notification.id).where(column == getattr(row, column.key))).all()

    write(smtp_app, 2, prefix="dates")
    smtp_server.refuse = "451 4.3.0 try again later"
    assert deliver(smtp_app, limit=1).retried == 1
    with smtp_app.transaction() as session:
        retried = session.scalars(select(Notification).order_by(Notification.id)).first()
    assert retried.state == "pending" and retried.attempts == 1
    assert retried.id in found_by(Notification.next_attempt_at, retried)

    smtp_server.refuse = None
    assert deliver(smtp_app).sent == 2
    with smtp_app.transaction() as session:
        sent = session.scalars(select(Notification).order_by(Notification.id)).all()
    for row in sent:
        assert row.id in found_by(Notification.sent_at, row)


def test_a_mark_is_committed_at_once_and_its_relaxed_commit_stays_in_its_own_transaction(smtp_app, workspace):
    """A message's mark is visible to every other connection when ``commit`` returns; on PostgreSQL its
    commit does not wait for the disk (``SET LOCAL``), and the connection keeps the server's setting."""
    from sqlalchemy import select

    from core.delivery import _Marks
    from core.outbox import Notification

    with smtp_app.transaction() as session:
        assert notify(smtp_app, session, recipients=["a@client.fr"], subject="Relevé", text="x", dedup_key="m-1")
    table = Notification.__table__
    with smtp_app.engine.connect() as connection:
        row = connection.execute(select(table)).one()
    with _Marks(smtp_app) as marks:
        marks.commit({"m_id": row.id, "m_state": "sent", "m_attempts": 1, "m_error": None,
                      "m_next": row.next_attempt_at, "m_sent": utcnow()}, sent=row)
        assert states(workspace.database_url) == [("m-1", "sent", False)]
        if smtp_app.dialect == "postgresql":
            assert marks.connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            marks.connection.rollback()
