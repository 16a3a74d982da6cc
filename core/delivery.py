"""Delivering the outbox: each message's state committed around its sending.

A deliverer claims a few due messages with a lease (``claimed_until``, ``claimed_by``) and
commits; then it sends each one and marks it sent (or to retry with backoff, or failed) in a
commit of its own, right after, with the audit trail's "sent" row of each message sent (who
delivered it, when, by which command, to whom, with which documents) in that same commit. Killed at any point, it leaves at most the message in flight sent
but not marked: the next delivery sends that one again, with the same Message-ID, so a receiver
can drop the repeat. Its other claimed messages wait until the lease runs out, then any delivery
takes them. On PostgreSQL the claim skips rows that another deliverer is claiming (``FOR UPDATE
SKIP LOCKED``), so several deliverers share the work and, within their leases, never send a
message twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass, field

from sqlalchemy import select, update

from core.db import utcnow
from core.outbox import Message, Notification, settings


@dataclass
class DeliveryReport:
    """What one delivery did: messages sent, to retry later, parked as failed (with their errors)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed, "errors": self.errors}


def deliver(app, *, limit: int | None = None, now: dt.datetime | None = None, progress=None) -> DeliveryReport:
    """Send the pending notifications that are due, each one's state committed around its sending.

    A claim takes up to ``batch_size`` due messages with a lease of ``lease_seconds`` and commits;
    then each message is sent and marked sent (or retried with backoff, or parked as failed) in a
    commit of its own. Killed at any point, a deliverer leaves at most the message in flight sent
    but not marked, and its other claimed messages wait for the lease to run out before another
    delivery takes them: a crash repeats at most one message, with the same Message-ID. On
    PostgreSQL the claim skips the rows another deliverer is claiming (``FOR UPDATE SKIP
    LOCKED``), so several deliverers share the work without sending a message twice.

    :param now: the time due messages and leases are compared with (default: the wall clock).
    """
    from core.channels import open_senders
    from core.security import require_app

    require_app(app, "core.jobs.run")
    options = settings(app)
    now = now or utcnow()
    # both at least 1, checked with the config (core.configschema): a lease or a claim of 0 never progresses
    lease, claim_size = int(options["lease_seconds"]), int(options["batch_size"])
    claimer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[-100:]
    report = DeliveryReport()
    last_id = 0
    with open_senders(app) as senders, _Marks(app) as marks:
        while limit is None or report.handled < limit:
            size = claim_size if limit is None else min(claim_size, limit - report.handled)
            claimed = _claim(app, now, after=last_id, size=size, lease=lease, claimer=claimer)
            if not claimed:
                break
            # stop taking messages of the claim at half its lease: the one being sent must be
            # marked before the lease ends, or another deliverer could send it too
            deadline = time.monotonic() + lease / 2
            for position, row in enumerate(claimed):
                if position and time.monotonic() > deadline:
                    _release(app, [r.id for r in claimed[position:]], claimer)
                    break
                _send(app, senders, marks, row, now, options, report)
                last_id = row.id
            if progress:
                progress(report.handled)
    return report


def _claim(app, now: dt.datetime, *, after: int, size: int, lease: int, claimer: str) -> list:
    """Take up to ``size`` due messages (unclaimed, or whose lease has run out) and commit the lease.

    :returns: the messages' rows (plain rows with the columns as attributes, as :meth:`Message.from_row` reads).
    """
    from sqlalchemy import or_

    clock = max(now, utcnow())  # a long delivery's leases run from the claim, not from its start
    table = Notification.__table__
    query = (select(table)
             .where(table.c.state == "pending", table.c.next_attempt_at <= now, table.c.id > after,
                    or_(table.c.claimed_until.is_(None), table.c.claimed_until <= clock))
             .order_by(table.c.id).limit(size))
    if app.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with app.engine.begin() as connection:
        rows = connection.execute(query).all()
        if rows:
            connection.execute(update(table).where(table.c.id.in_([row.id for row in rows]))
                               .values(claimed_until=clock + dt.timedelta(seconds=lease), claimed_by=claimer))
    return rows


def _release(app, ids: list[int], claimer: str) -> None:
    """Give back claimed messages not yet sent (only while they are still ours)."""
    table = Notification.__table__
    with app.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id.in_(ids), table.c.claimed_by == claimer,
                                               table.c.state == "pending")
                           .values(claimed_until=None, claimed_by=None))


def _send(app, senders, marks, row, now: dt.datetime, options: dict, report: DeliveryReport) -> None:
    """Send one claimed message, then commit its new state (sent, to retry, or failed) on ``marks``."""
    attempts = row.attempts + 1
    values = {"m_id": row.id, "m_state": "sent", "m_attempts": attempts, "m_error": None,
              "m_next": row.next_attempt_at, "m_sent": None}
    try:
        if row.attachments and any("document" in a for a in json.loads(row.attachments)):  # PDFs laid out now
            with app.transaction() as session:
                message = Message.from_row(row, app, session=session)
        else:
            message = Message.from_row(row, app)
        senders.get(row.channel).send(message)
    except Exception as exc:  # a channel's failure is recorded on the message
        values["m_error"] = error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= int(options["max_attempts"]):
            values["m_state"] = "failed"
            report.failed += 1
            report.errors.append(f"notification {row.id}: {error}")
        else:
            values["m_state"] = "pending"
            backoff = int(options["backoff_seconds"]) * 2 ** (attempts - 1)
            values["m_next"] = now + dt.timedelta(seconds=backoff)
            report.retried += 1
    else:
        values["m_sent"] = utcnow()
        report.sent += 1
    marks.commit(values, sent=row if values["m_state"] == "sent" else None)


class _Marks:
    """Commits one message's new state (lease released) per call, with its "sent" row in the trail.

    The one place a document leaves crm: a message sent is recorded in ``core_audit`` (action
    ``sent``, :func:`core.audit.sent_rows`) in the commit that marks it sent. One commit per message is the price of "a crash repeats at most one message"; it is paid
    through the driver, with the statement compiled once for the database, because SQLAlchemy's
    execution machinery per message cost more than writing the message to a file (the outbox
    benchmark's 1,000 messages a second through the ``file`` channel).
    """

    def __init__(self, app):
        from sqlalchemy import bindparam

        from core import audit
        from core.models import AuditEntry

        table = Notification.__table__
        statement = (update(table).where(table.c.id == bindparam("m_id"))
                     .values(state=bindparam("m_state"), attempts=bindparam("m_attempts"),
                             last_error=bindparam("m_error"), next_attempt_at=bindparam("m_next"),
                             sent_at=bindparam("m_sent"), claimed_until=None, claimed_by=None))
        dialect = app.engine.dialect
        self.compiled = statement.compile(dialect=dialect)
        # the dates are the only values here SQLAlchemy converts: stored as it stores them (on SQLite,
        # text in one format, so that equal dates compare equal)
        self.processors = {name: table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
                           for name, column in (("m_next", "next_attempt_at"), ("m_sent", "sent_at"))}
        trail = AuditEntry.__table__
        self.trail = trail.insert().compile(dialect=dialect, column_keys=[c.key for c in trail.c if c.key != "id"])
        self.trail_processors = {c.key: c.type.dialect_impl(dialect).bind_processor(dialect) for c in trail.c}
        self.sqlite = dialect.name == "sqlite"
        self.connection = app.engine.connect()
        with self.connection.begin():  # who delivers, by which command: the same for every message
            self.where = audit.context(app, self.connection)
        if not self.sqlite:  # the script of each commit holds its own BEGIN ... COMMIT
            import psycopg

            driver = self.connection.connection.driver_connection
            driver.autocommit = True
            self.cursor = psycopg.ClientCursor(driver)

    def commit(self, values: dict, *, sent=None) -> None:
        """Mark one message; ``sent``: the message's row, when it was sent (its "sent" rows join the commit)."""
        from core import audit

        driver = self.connection.connection.driver_connection
        statements = [(self.compiled, self._params(self.compiled, values, self.processors))]
        if sent is not None:
            where = self.where | {"logged_at": values["m_sent"]}
            statements += [(self.trail, self._params(self.trail, where | row, self.trail_processors))
                           for row in audit.sent_rows(sent)]
        if self.sqlite:  # the driver is in autocommit mode (core.db): BEGIN ... COMMIT around the statements
            if len(statements) > 1:
                driver.execute("BEGIN")
            try:
                for compiled, params in statements:
                    driver.execute(compiled.string, params)
            except BaseException:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise
            if driver.in_transaction:
                driver.execute("COMMIT")
        else:
            # One round trip, one script: BEGIN, the mark, its trail rows and COMMIT, bound here (each
            # statement with its answer awaited cost more than the message's file). The commit does not
            # wait for the disk, as SQLite's do (synchronous=NORMAL, core/db.py): one flush per message
            # bound delivery to the disk's flush rate. A deliverer killed loses nothing; only a crash of
            # the database server itself can lose the last fraction of a second of marks, whose messages
            # are then sent again with their Message-ID - a repeat, never a loss (the messages themselves
            # are written with full commits).
            cursor = self.cursor
            script = ";".join(["BEGIN", "SET LOCAL synchronous_commit TO off",
                               *(cursor.mogrify(compiled.string, params) for compiled, params in statements),
                               "COMMIT"])
            try:
                cursor.execute(script)
            except BaseException:
                if not driver.closed:
                    driver.execute("ROLLBACK")
                raise

    @staticmethod
    def _params(compiled, values: dict, processors: dict):
        params = compiled.construct_params(values)
        for name, process in processors.items():
            if process is not None and params.get(name) is not None:
                params[name] = process(params[name])
        return [params[name] for name in compiled.positiontup] if compiled.positional else params

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if not self.sqlite:
            driver = self.connection.connection.driver_connection
            self.cursor.close()
            if not driver.closed:
                driver.autocommit = False  # as the pool lends it
        self.connection.close()


