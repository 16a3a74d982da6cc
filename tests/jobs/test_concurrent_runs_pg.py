"""Six ``crm jobs run`` started at once on PostgreSQL (issue 14): nothing left pending, no job-day twice.

120 customers are invoiced on 5 January and are all overdue on 20 February, and two salespeople
have overdue activities. Six real ``crm`` processes run the day's jobs side by side. One of them
does the reminder run (the others skip it), and each ends with outbox delivery: a delivery that
started before the reminders committed must not stand for the run that wrote them. So when the
six have finished, every message they wrote is sent, each exactly once (the claims share the
work), and every job-day is recorded done once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CUSTOMERS = 120
DAY = "2026-02-20"


@pytest.fixture
def pg_books(tmp_path, pg_database_url, monkeypatch):
    from core.services.catalog import create_product
    from core.services.orders import confirm_order, create_order
    from core.services.partners import create_partner
    from core.services.people import create_user
    from core.testing import make_workspace, sample_siren

    monkeypatch.setenv("JOBPROBE_JOBS", "none")  # jobprobe is installed for this folder, not enabled here
    workspace = make_workspace(tmp_path / "ws", pg_database_url, ("billing", "funnel"))
    app = workspace.app(today=dt.date(2026, 1, 5))
    try:
        with app.transaction() as session:
            for login in ("bob", "alice"):
                create_user(session, {"login": login, "name": login.title(), "email": f"{login}@acme.fr"})
            create_user(session, {"login": "cora", "name": "Cora", "email": "cora@acme.fr", "role": "collections"})
            create_product(session, {"sku": "P20", "name": "Produit", "list_price": "100", "vat_rate": "20"})
        with app.transaction() as session:
            for n in range(CUSTOMERS):
                partner = create_partner(app, session, {
                    "name": f"Client {n:03d}", "email": f"client{n}@client.fr", "salesperson": ("bob", "alice")[n % 2],
                    "street": "3 place Bellecour", "postal_code": "69002", "city": "Lyon", "siren": sample_siren(n)})
                order = create_order(app, session, {"customer": str(partner.id),
                                                    "lines": [{"sku": "P20", "quantity": "1"}]})
                confirm_order(app, session, order)
    finally:
        app.close()
    return workspace


def crm(workspace, *args: str) -> list[str]:
    script = Path(sys.executable).with_name("crm")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "core.cli.main"]
    return [*command, "--config", str(workspace.config_path), *args]


def query(workspace, sql: str) -> list[tuple]:
    from sqlalchemy import text

    app = workspace.app()
    try:
        with app.transaction() as session:
            return [tuple(row) for row in session.execute(text(sql))]
    finally:
        app.close()


def test_six_concurrent_jobs_runs_leave_nothing_pending_and_run_each_job_day_once(pg_books):
    workspace = pg_books
    env = {k: v for k, v in os.environ.items() if k not in ("CRM_CONFIG", "CRM_DATABASE_URL", "CRM_TODAY")}
    for login, due in (("bob", "2026-02-01"), ("alice", "2026-02-10")):
        subprocess.run(crm(workspace, "--today", "2026-01-05", "activity", "add", "call", f"Appeler ({login})",
                           "--due", due, "--owner", login, "--user", login), env=env, check=True, capture_output=True)

    runs = [subprocess.Popen(crm(workspace, "--today", DAY, "jobs", "run", "--json"), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, outputs
    results = [result for stdout, _ in outputs for result in json.loads(stdout)]
    outcomes = {}
    for result in results:
        outcomes.setdefault(result["job"], []).append(result["outcome"])
    daily = sorted(job for job in outcomes if job != "notifications.deliver")
    assert {"billing.reminders", "funnel.overdue_activities"} <= set(daily)
    for job in daily:
        assert sorted(outcomes[job]) == ["done"] + ["skipped"] * 5, (job, outcomes[job])
    assert all(stdout and json.loads(stdout)[-1]["job"] == "notifications.deliver" for stdout, _ in outputs)

    # nothing the six wrote is left pending: the run that wrote the reminders delivered them itself
    written = query(workspace, "SELECT COUNT(*) FROM core_notification")[0][0]
    assert written > CUSTOMERS  # a reminder per customer, the summaries, the digests
    assert query(workspace, "SELECT state, COUNT(*) FROM core_notification GROUP BY state") == [("sent", written)]
    assert query(workspace, "SELECT MIN(attempts), MAX(attempts) FROM core_notification") == [(1, 1)]
    assert len(list((workspace.folder / "outbox").glob("*.eml"))) == written  # each written once, by one deliverer
    assert sum(r["counts"].get("sent", 0) for r in results if r["job"] == "notifications.deliver") == written

    # the next run: nothing new to send, no day run again
    again = subprocess.run(crm(workspace, "--today", DAY, "jobs", "run", "--json"), env=env, capture_output=True,
                           text=True, check=True)
    next_run = {r["job"]: r for r in json.loads(again.stdout)}
    assert {job: next_run[job]["outcome"] for job in daily} == {job: "skipped" for job in daily}
    assert next_run["notifications.deliver"]["counts"]["sent"] == 0  # (its slot is the minute: done or skipped)
    assert query(workspace, "SELECT job, COUNT(*) FROM core_job_run WHERE outcome IN ('done', 'partial') "
                            "AND job <> 'notifications.deliver' GROUP BY job ORDER BY job") == [(job, 1) for job in daily]
    assert query(workspace, "SELECT COUNT(*), COUNT(DISTINCT invoice_id) FROM billing_reminder WHERE status = 'sent'") \
        == [(CUSTOMERS, CUSTOMERS)]
