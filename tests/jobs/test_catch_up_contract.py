"""A 25-day outage made up the way each job declares (issue 14), on SQLite and PostgreSQL.

Three customers are invoiced on 5 January ("30 jours": due 4 February) and two salespeople have
an overdue activity. The daily jobs run from 1 to 10 February (the friendly reminder goes out
on the 8th), then nothing runs for 25 days (11 February - 7 March). On 8 March the operator
recovers with ``crm jobs run --catch-up``, or a worker starts. The reminder run and the
overdue digest declare ``catch_up="latest"``: one run as of 8 March, so each customer gets one
message with only the highest level now due (the formal notice, level 2 recorded as skipped) and
each salesperson one digest. ``probe.daily`` declares ``replay``: it still runs each missed day.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from jobsupport import EFFECTS, CrmProcesses

from core.testing import sample_siren

pytestmark = pytest.mark.modules("billing", "funnel", "jobprobe")

CUSTOMERS = {"Durand": "bob", "Martin": "alice", "Petit": "bob"}
OUTAGE = [dt.date(2026, 2, 11) + dt.timedelta(days=n) for n in range(25)]
RECOVERY = dt.date(2026, 3, 8)


@pytest.fixture(autouse=True)
def only_the_daily_probe(monkeypatch):
    """Of ``jobprobe``'s jobs, only ``probe.daily`` (the replay job): the others fail on purpose."""
    monkeypatch.setenv("JOBPROBE_JOBS", "probe.daily")


def sql(workspace, statement: str, **params) -> list[tuple]:
    from sqlalchemy import text

    app = workspace.app()
    try:
        with app.transaction() as session:
            return [tuple(row) for row in session.execute(text(statement), params)]
    finally:
        app.close()


def written_since(workspace, seen: int, like: str) -> list[tuple[list[str], str]]:
    """``[(recipients, subject)]`` of the outbox rows after id ``seen`` whose dedup key is ``like``."""
    rows = sql(workspace, "SELECT recipients, subject FROM core_notification WHERE id > :seen AND dedup_key LIKE :like "
                          "ORDER BY id", seen=seen, like=like)
    return [(json.loads(recipients), subject) for recipients, subject in rows]


def live_until_the_outage(crm, workspace) -> int:
    """The office's days up to 10 February; returns the last outbox id before the outage."""
    crm.today = dt.date(2026, 1, 5)
    crm("user", "add", "bob", "Bob Vendeur", "--email", "bob@acme.fr")
    crm("user", "add", "alice", "Alice Vendeuse", "--email", "alice@acme.fr")
    crm("user", "add", "cora", "Cora Recouvrement", "--email", "cora@acme.fr", "--role", "collections")
    crm("product", "add", "P20", "Produit P20", "--price", "100", "--vat-rate", "20")
    for n, (name, owner) in enumerate(CUSTOMERS.items()):
        # an invoice names the buyer's address and SIREN (the legal mentions)
        crm("partner", "add", name, "--email", f"{name.lower()}@client.fr", "--salesperson", owner,
            "--street", "3 place Bellecour", "--postal-code", "69002", "--city", "Lyon", "--siren", sample_siren(n))
        crm("order", "create", "--customer", name, "--line", "P20:1", "--confirm")
    crm("activity", "add", "call", "Relancer Durand", "--due", "2026-01-20", "--owner", "bob", "--user", "bob")
    crm("activity", "add", "meeting", "Démo Martin", "--due", "2026-01-25", "--owner", "alice", "--user", "alice")
    for day in range(1, 11):
        crm.today = dt.date(2026, 2, day)
        ran = crm("jobs", "run", "--json").json
        assert {r["job"]: r["outcome"] for r in ran if r["job"] != "notifications.deliver"} == {
            "billing.reminders": "done", "funnel.overdue_activities": "done", "funnel.forecast_snapshot": "done",
            "probe.daily": "done"}, ran
    assert [s.split(" : ")[0] for _, s in written_since(workspace, 0, "billing:reminder:%")] == ["Relance amiable"] * 3
    assert len(written_since(workspace, 0, "funnel:overdue:%")) == 2 * 10  # one a day each, before the outage
    return sql(workspace, "SELECT MAX(id) FROM core_notification")[0][0]


def assert_made_up_without_a_burst(workspace, seen: int) -> None:
    reminders = written_since(workspace, seen, "billing:reminder:%")
    customers = sorted(next(n for n in CUSTOMERS if n in subject) for _, subject in reminders
                       if not subject.startswith("Copie"))
    assert customers == sorted(CUSTOMERS)  # one message per customer...
    # ...with only the highest level now due
    assert {s.split(" : ")[0] for _, s in reminders if not s.startswith("Copie")} == {"Mise en demeure"}
    assert not [s for _, s in reminders if s.startswith("Relance ferme")]
    levels = sql(workspace, "SELECT i.number, r.level, r.status, r.run_date FROM billing_reminder r "
                            "JOIN billing_invoice i ON i.id = r.invoice_id WHERE r.level > 1 "
                            "ORDER BY i.number, r.level")
    assert [(level, status, str(day)[:10]) for _, level, status, day in levels] == [
        (2, "skipped", "2026-03-08"), (3, "sent", "2026-03-08")] * 3

    digests = written_since(workspace, seen, "funnel:overdue:%")
    assert sorted(recipients for recipients, _ in digests) == [["alice@acme.fr"], ["bob@acme.fr"]]  # one each

    runs = sql(workspace, "SELECT job, slot, outcome FROM core_job_run WHERE job <> 'notifications.deliver' "
                          "AND as_of > '2026-02-10' ORDER BY job, slot")
    assert [(job, slot) for job, slot, _ in runs if job != "probe.daily"] == [  # the latest jobs: once, today
        ("billing.reminders", "2026-03-08"), ("funnel.forecast_snapshot", "2026-03-08"),
        ("funnel.overdue_activities", "2026-03-08")]
    replayed = [slot for job, slot, outcome in runs if job == "probe.daily" and outcome == "done"]
    assert replayed == [d.isoformat() for d in [*OUTAGE, RECOVERY]]  # the replay job: every missed day
    effects = sql(workspace, "SELECT day, COUNT(*) FROM jobprobe_effect WHERE day > '2026-02-10' "
                             "GROUP BY day ORDER BY day")
    assert effects == [(d.isoformat(), EFFECTS) for d in [*OUTAGE, RECOVERY]]
    # delivery ran after the jobs that wrote: nothing of the recovery is left pending
    assert sql(workspace, "SELECT COUNT(*) FROM core_notification WHERE state <> 'sent'") == [(0,)]


def test_catch_up_after_a_25_day_outage_sends_the_highest_level_once_and_one_digest(crm, workspace):
    seen = live_until_the_outage(crm, workspace)
    crm.today = RECOVERY
    caught = crm("jobs", "run", "--catch-up", "--json").json
    by_job = {}
    for result in caught:
        by_job.setdefault(result["job"], []).append(result)
    assert [r["slot"] for r in by_job["billing.reminders"]] == [RECOVERY.isoformat()]
    assert by_job["billing.reminders"][0]["reason"] == "catches up 25 missed days by itself"
    assert [r["slot"] for r in by_job["funnel.overdue_activities"]] == [RECOVERY.isoformat()]
    assert len(by_job["probe.daily"]) == 26
    assert caught[-1]["job"] == "notifications.deliver"  # last: it sends what the others just wrote
    assert_made_up_without_a_burst(workspace, seen)

    listed = {job["name"]: job["catch_up"] for job in crm("jobs", "list", "--json").json}
    assert listed == {"billing.reminders": "latest", "funnel.overdue_activities": "latest",
                      "funnel.forecast_snapshot": "latest", "notifications.deliver": "latest", "probe.daily": "replay"}
    assert "Catch-up" in crm("jobs", "list").stdout


def test_a_worker_started_after_a_25_day_outage_makes_it_up_the_same_way(crm, workspace, probe_site):
    seen = live_until_the_outage(crm, workspace)
    worker = CrmProcesses(probe_site, workspace).run("--today", RECOVERY.isoformat(), "jobs", "worker",
                                                     "--max-rounds", "1", "--interval", "0.1",
                                                     env={"JOBPROBE_JOBS": "probe.daily"})
    assert "billing.reminders [2026-03-08]: done (catches up 25 missed days by itself)" in worker.stdout
    assert worker.stdout.count("billing.reminders [") == 1
    assert worker.stdout.count("probe.daily [") == 26
    assert_made_up_without_a_burst(workspace, seen)


def test_a_latest_job_never_run_before_runs_once_without_a_catch_up_note(crm, workspace):
    crm.today = RECOVERY
    caught = crm("jobs", "run", "--catch-up", "--only", "billing.reminders", "--json").json
    assert [(r["slot"], r["outcome"], r["reason"]) for r in caught] == [(RECOVERY.isoformat(), "done", None)]


def test_a_job_declares_replay_or_latest_and_nothing_else():
    from core.jobs import Job

    assert Job(name="x", run=print).catch_up == "replay"  # the default: no day is ever left out
    assert Job(name="x", run=print, catch_up="latest").catch_up == "latest"
    with pytest.raises(ValueError, match="catch_up='weekly'.*'replay' or 'latest'"):
        Job(name="x", run=print, catch_up="weekly")
