"""PostgreSQL, several processes at once: the same bank statement imported three times together.

Every line must become exactly one payment (the line keys are unique and a second import waits
for the first, then finds them), no invoice may be settled beyond its total, and a payment typed
at the same time on one of the invoices queues up behind the import (the open invoices are locked).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.billing.camt_writer import camt053

ROOT = Path(__file__).resolve().parents[2]
IMPORTERS = 3


@pytest.mark.modules("billing")
def test_one_statement_imported_by_three_processes_at_once_pays_once(tmp_path, pg_database_url, monkeypatch):
    from billing_support import Books

    from core.testing import make_workspace

    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    workspace = make_workspace(tmp_path / "ws", pg_database_url, ["billing"])
    books = Books(workspace).setup()
    try:
        customers = [books.customer(f"Client {n}") for n in range(4)]
        numbers = [books.confirm("2026-01-05", customers[n % 4]) for n in range(40)]  # 120.00 each
        entries = [{"ref": f"E{n}", "amount": "120.00" if n % 3 else "60.00", "date": "2026-02-02",
                    "text": f"VIR {number}"} for n, number in enumerate(numbers)]
        entries += [{"amount": "20.00", "date": "2026-02-02", "name": "CLIENT 1", "text": "ESPECES"}] * 2
        statement = tmp_path / "releve.xml"
        statement.write_bytes(camt053(entries, statement_id="RLV-PG"))
        config = str(workspace.config_path)
        crm = Path(sys.executable).with_name("crm")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        commands = [[str(crm), "--config", config, "--today", "2026-02-03", "payment", "import", str(statement),
                     "--json"] for _ in range(IMPORTERS)]
        commands.append([str(crm), "--config", config, "--today", "2026-02-03", "payment", "add", "--amount",
                         "100", "--customer", "Client 0", "--date", "2026-02-02"])
        processes = [subprocess.Popen(c, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for c in commands]
        outcomes = [p.communicate(timeout=120) for p in processes]
        for process, (out, err) in zip(processes, outcomes):
            assert process.returncode == 0, err[-2000:]
        # 42 lines, each one payment; the two identical cash lines are two
        assert books.sql("SELECT COUNT(*), COUNT(DISTINCT bank_line_id) FROM billing_payment "
                         "WHERE bank_line_id IS NOT NULL") == [(42, 42)]
        assert books.sql("SELECT COUNT(*) FROM billing_bank_line") == [(42,)]
        assert books.sql("SELECT COUNT(*) FROM billing_invoice WHERE residual < 0 OR settled > total") == [(0,)]
        # every cent explained: what was received is allocated or left as credit, nothing more
        received = books.sql("SELECT SUM(amount), SUM(unallocated) FROM billing_payment")[0]
        allocated = books.sql("SELECT SUM(amount) FROM billing_allocation")[0][0]
        assert received[0] == 26 * 12000 + 14 * 6000 + 2 * 2000 + 10000  # in cents
        assert allocated + received[1] == received[0]
        settled = books.sql("SELECT SUM(settled) FROM billing_invoice")[0][0]
        assert settled == allocated
    finally:
        books.close()
