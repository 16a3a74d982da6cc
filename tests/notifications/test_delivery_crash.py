"""kill -9 during SMTP delivery repeats at most the message in flight (issue 14).

A real ``crm notifications deliver`` process sends through a real SMTP server (aiosmtpd, in a
thread of this process, counting what it accepts by Message-ID) and is killed with SIGKILL 20
times, each time after a random number of accepted messages and a random short delay (seeded,
so a failure can be replayed). A final clean delivery, once the dead deliverers' leases have run
out, sends the rest. Every message must arrive at least once and at most twice, and the repeats
can be no more than the kills: a crash costs at most the one message it interrupted. On SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from core.db import utcnow
from core.delivery import deliver
from core.outbox import notification_row, notify_many

MESSAGES = 1200  # ample: 20 kills use up a few hundred (sent, and claimed by the dead)
KILLS = 20
LEASE = 300
SEED = 14
TIMEOUT = 30.0


def crm_command(workspace) -> list[str]:
    script = Path(sys.executable).with_name("crm")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "core.cli.main"]
    return [*command, "--config", str(workspace.config_path), "notifications", "deliver"]


def test_twenty_kill_9_during_smtp_delivery_repeat_at_most_the_message_in_flight(workspace, smtp_server, configure):
    configure(workspace, f"""
        [notifications]
        email = "smtp"
        batch_size = 10
        lease_seconds = {LEASE}

        [notifications.smtp]
        host = "{smtp_server.host}"
        port = {smtp_server.port}
        security = "none"
    """)
    app = workspace.app()
    try:
        with app.transaction() as session:
            assert notify_many(app, session, [
                notification_row(app, recipients=f"client{n}@client.fr", subject=f"Relevé {n}",
                                 text=f"Relevé numéro {n}.", dedup_key=f"statement-{n}")
                for n in range(MESSAGES)]) == MESSAGES
        expected = {f"<entonnoir.statement-{n}@notifications.local>" for n in range(MESSAGES)}

        rng = random.Random(SEED)
        env = {k: v for k, v in os.environ.items() if k not in ("CRM_CONFIG", "CRM_DATABASE_URL", "CRM_TODAY")}
        kills = 0
        for _ in range(KILLS):
            target = len(smtp_server.envelopes) + rng.randint(1, 12)
            process = subprocess.Popen(crm_command(workspace), env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + TIMEOUT
            while len(smtp_server.envelopes) < target and process.poll() is None:
                assert time.monotonic() < deadline, "the deliverer sent nothing in time"
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.01))  # a random point: in flight, being marked, or between two
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            _, stderr = process.communicate(timeout=TIMEOUT)
            assert process.returncode in (0, -signal.SIGKILL), stderr
        assert kills == KILLS  # every run was still delivering when it was killed
        assert len(set(smtp_server.message_ids())) < MESSAGES  # and work was left for the clean run

        # the final, clean delivery, once the dead deliverers' leases have run out
        report = deliver(app, now=utcnow() + dt.timedelta(seconds=LEASE + 1))
        assert not report.retried and not report.failed, report.as_dict()
        assert deliver(app, now=utcnow() + dt.timedelta(seconds=LEASE + 1)).sent == 0
    finally:
        app.close()

    received = Counter(smtp_server.message_ids())
    assert set(received) == expected  # every message at least once
    assert max(received.values()) <= 2  # never more than twice
    repeats = sum(count - 1 for count in received.values())
    assert repeats <= KILLS  # at most the one message in flight per crash
