"""PostgreSQL, several processes at once: posters and reminder runs.

Four processes post invoices while three run the reminder job for the same day (two through the
service, one through ``crm jobs run``). Numbers must come out gapless and unique, and every
customer must get exactly one reminder message, each level once per invoice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

POSTERS, PER_POSTER, RUNNERS, OVERDUE = 4, 15, 2, 24
ROOT = Path(__file__).resolve().parents[2]

# Every other invoice comes from a confirmed order (the hook's plain statements); every fifth
# confirmation is rolled back after its invoice was numbered: it must leave no hole.
POSTER = textwrap.dedent("""
    import datetime as dt, sys
    from core.app import App
    from core.config import load_config
    from core.services.orders import confirm_order, create_order
    from plugins.billing.services_invoices import create_invoice
    app = App(load_config(sys.argv[1]), today=dt.date(2026, 3, 10))
    lines = [{{"sku": "P20", "quantity": "1"}}]
    for n in range({per}):
        with app.transaction() as session:
            if n % 2:
                confirm_order(app, session, create_order(app, session, {{"customer": sys.argv[2], "lines": lines}}))
            else:
                create_invoice(app, session, {{"customer": sys.argv[2], "lines": lines}}, post=True)
        if n % 5 == 1:
            try:
                with app.transaction() as session:
                    confirm_order(app, session, create_order(app, session, {{"customer": sys.argv[2],
                                                                             "lines": lines}}))
                    raise KeyboardInterrupt
            except KeyboardInterrupt:
                pass
    app.close()
""").format(per=PER_POSTER)

RUNNER = textwrap.dedent("""
    import datetime as dt, sys
    from core.app import App
    from core.config import load_config
    from plugins.billing.services_reminders import run_reminders
    app = App(load_config(sys.argv[1]), today=dt.date(2026, 3, 10))
    with app.transaction() as session:
        print(run_reminders(app, session).counts())
    app.close()
""")


@pytest.mark.modules("billing")
def test_concurrent_posting_and_reminder_runs(tmp_path, pg_database_url, monkeypatch):
    from billing_support import Books

    from core.testing import make_workspace

    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    workspace = make_workspace(tmp_path / "ws", pg_database_url, ["billing"])
    books = Books(workspace).setup()
    try:
        customers = [books.customer(f"Client {n}") for n in range(6)]
        for n in range(OVERDUE):  # due 4 February: on 10 March level 3 is due, 1 and 2 skipped
            books.confirm("2026-01-05", customers[n % len(customers)])
        config = str(workspace.config_path)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        crm = Path(sys.executable).with_name("crm")
        commands = [[sys.executable, "-c", POSTER, config, str(customers[n % 2])] for n in range(POSTERS)]
        commands += [[sys.executable, "-c", RUNNER, config] for _ in range(RUNNERS)]
        commands += [[str(crm), "--config", config, "--today", "2026-03-10", "jobs", "run", "--only",
                      "billing.reminders"]]
        processes = [subprocess.Popen(c, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for c in commands]
        outcomes = [p.communicate(timeout=120) for p in processes]
        for process, (out, err) in zip(processes, outcomes):
            assert process.returncode == 0, err[-2000:]
        numbers = [n for (n,) in books.sql("SELECT number FROM billing_invoice WHERE kind = 'invoice' ORDER BY number")]
        total = OVERDUE + POSTERS * PER_POSTER
        assert numbers == [f"F2026-{n:06d}" for n in range(1, total + 1)]
        assert books.sql("SELECT last_value FROM billing_sequence WHERE series = 'F2026'") == [(total,)]
        assert books.sql("SELECT COUNT(*), COUNT(DISTINCT invoice_id) FROM billing_reminder WHERE status = 'sent'") == [
            (OVERDUE, OVERDUE)]
        assert books.sql("SELECT COUNT(*) FROM billing_reminder") == [(OVERDUE * 3,)]
        per_customer = books.sql("SELECT related, COUNT(*) FROM core_notification WHERE dedup_key LIKE "
                                 "'billing:reminder:%' AND channel = 'letter' GROUP BY related")
        assert len(per_customer) == len(customers) and all(count == 1 for _, count in per_customer)
        assert books.sql("SELECT COUNT(*) FROM core_notification WHERE dedup_key LIKE 'billing:summary:%' "
                         "AND recipients LIKE '%cora%'") == [(1,)]
    finally:
        books.close()
