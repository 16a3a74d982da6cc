"""The reminder run over a big ledger, on SQLite or PostgreSQL (issues 5 and 22).

1,000,000 posted invoices of 100,000 customers, about 20 % overdue (by 1 to 60 days, so the first
run is also a catch-up that skips levels). Targets: the first run in at most 15 s and under
500 MB, a second run the same day in at most 2 s. Beside it, the floor: the plainest SQL writing
the same rows (the reminder rows with interest and indemnity, the cases, and the outbox rows: one
per customer plus the owner's copy of a letter, each a template name and a JSON context listing
the customer's overdue invoices, as the job writes them since messages are worded at delivery),
measured on the same data in the same run and rolled back; the job should stay within 3 times of
it. The floor is written for each database (SQLite's json1 and julianday, PostgreSQL's
json_build_object, json_agg and date arithmetic). The job runs in a child process so its peak
memory is its own; on PostgreSQL the peak private memory of its server backend is shown beside.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TODAY = dt.date(2026, 6, 30)
TIME_TARGET, MEMORY_TARGET_MB, RERUN_TARGET, FLOOR_RATIO = 15.0, 500, 2.0, 3.0


def _populate(app, invoices: int, customers: int) -> None:
    """Customers, and posted invoices: one in five overdue by 1-60 days, the rest due later."""
    import random

    from sqlalchemy import text

    from benchmarks._db import bulk

    rng = random.Random(5)
    now = "2026-06-01 00:00:00"
    with app.engine.begin() as connection:
        connection.execute(text("INSERT INTO core_user (login, name, email, role, active, created_at) VALUES "
                                "('bob', 'Bob', 'bob@acme.fr', 'sales', TRUE, :now), "
                                "('cora', 'Cora', 'cora@acme.fr', 'collections', TRUE, :now)"), {"now": now})
        bulk(connection, "core_partner", ["name", "kind", "is_customer", "is_supplier", "email", "country",
                                          "salesperson_id", "active", "created_at"],
             ((f"Client {n:06d}", "company" if n % 10 else "person", True, False, f"client{n}@example.com", "FR", 1,
               True, now) for n in range(1, customers + 1)))
        columns = ["number", "kind", "state", "partner_id", "invoice_date", "posted_on", "due_date", "final_due_date",
                   "currency", "total_untaxed", "total_tax", "total", "settled", "residual", "buyer_is_business",
                   "operation_category", "penalty_rate", "created_at"]
        batch = []
        for n in range(1, invoices + 1):
            overdue = rng.random() < 0.2
            due = TODAY - dt.timedelta(days=rng.randint(1, 60)) if overdue else \
                TODAY + dt.timedelta(days=rng.randint(0, 60))
            total = rng.randint(1000, 500000)
            untaxed, date = total * 5 // 6, (due - dt.timedelta(days=30)).isoformat()
            batch.append((f"F2026-{n:07d}", "invoice", "posted", (n % customers) + 1, date, date, due.isoformat(),
                          due.isoformat(), "EUR", untaxed, total - untaxed, total, 0, total, True, "goods", 1215, now))
            if len(batch) == 50_000 or n == invoices:
                bulk(connection, "billing_invoice", columns, batch)
                batch = []


#: The floor: one statement per table, the plainest SQL that writes the rows the job writes. The
#: reminder rows carry their interest (one flat rate here, where the job reads the dated rates per
#: half-year) and indemnity; the outbox rows carry, like the job's, the level's template and a JSON
#: context listing each customer's overdue invoices (json_object/json_group_array), a letter for
#: the formal notice plus its copy to the owner.
SQLITE_FLOOR = [
    "INSERT INTO billing_reminder_run (run_date, customers, sent, skipped, created_at) "
    "VALUES (:today, 0, 0, 0, :today)",
    """INSERT INTO billing_reminder (run_id, invoice_id, partner_id, level, run_date, status, amount_open, interest,
                                     indemnity)
       SELECT (SELECT MAX(id) FROM billing_reminder_run), x.id, x.partner_id, l.level, :today,
              CASE WHEN l.level = x.target THEN 'sent' ELSE 'skipped' END, x.residual,
              CASE WHEN l.level = x.target AND l.interest
                   THEN CAST(x.residual * 1215 * (julianday(:today) - julianday(x.due_date)) / 3650000.0 + 0.5
                             AS INTEGER) END,
              CASE WHEN l.level = x.target AND l.indemnity THEN 4000 END
       FROM (SELECT id, partner_id, residual, due_date, CASE WHEN due_date < :th4 THEN 4 WHEN due_date < :th3 THEN 3
                    WHEN due_date < :th2 THEN 2 ELSE 1 END AS target
             FROM billing_invoice WHERE state IN ('posted', 'partially_paid') AND due_date < :th1) x
       JOIN billing_reminder_level l ON l.level <= x.target""",
    """INSERT INTO billing_reminder_case (invoice_id, partner_id, level, opened_on, last_reminded_on)
       SELECT invoice_id, partner_id, level, :today, :today FROM billing_reminder WHERE status = 'sent'""",
    """INSERT INTO core_notification (channel, recipients, subject, body_text, template, context, related, dedup_key,
                                      state, attempts, next_attempt_at, created_at, business_date)
       SELECT l.channel,
              CASE WHEN l.channel = 'letter' THEN json_array(p.name) ELSE json_array(p.email) END,
              l.name || ' : ' || COUNT(*) || ' factures en retard (' || p.name || ')', '', l.template,
              json_object('customer', json_object('name', p.name, 'email', p.email, 'street', p.street,
                                                  'postal_code', p.postal_code, 'city', p.city),
                          'level', json_object('level', l.level, 'name', l.name, 'handover', l.handover),
                          'today', :today, 'business', p.kind = 'company', 'interest', l.interest,
                          'indemnity', l.indemnity,
                          'invoices', json_group_array(json_object(
                              'number', i.number, 'invoice_date', i.invoice_date, 'due_date', i.due_date,
                              'days_late', CAST(julianday(:today) - julianday(i.due_date) AS INTEGER),
                              'total', printf('%.2f', i.total / 100.0), 'open', printf('%.2f', i.residual / 100.0),
                              'interest', printf('%.2f', i.residual * 1215 * (julianday(:today)
                                                 - julianday(i.due_date)) / 365000000.0))),
                          'total_open', printf('%.2f', SUM(i.residual) / 100.0)),
              'core_partner:' || p.id, 'floor:' || p.id, 'pending', 0, :today, :today, :today
       FROM (SELECT partner_id, MAX(level) AS level FROM billing_reminder WHERE status = 'sent'
             GROUP BY partner_id) m
       JOIN core_partner p ON p.id = m.partner_id JOIN billing_reminder_level l ON l.level = m.level
       JOIN billing_invoice i ON i.partner_id = m.partner_id AND i.state IN ('posted', 'partially_paid')
                              AND i.due_date < :today
       GROUP BY p.id, l.level""",
    """INSERT INTO core_notification (channel, recipients, subject, body_text, template, context, related, dedup_key,
                                      state, attempts, next_attempt_at, created_at, business_date)
       SELECT 'email', '["bob@acme.fr"]', 'Copie : ' || subject, '', template, context, related,
              dedup_key || '-copy', 'pending', 0, :today, :today, :today
       FROM core_notification WHERE channel = 'letter' AND dedup_key LIKE 'floor:%'""",
]

#: The same floor in PostgreSQL's words: date subtraction for the days late, json_build_object and
#: json_agg for the contexts, to_char for the amounts.
_DAY = "CAST(:today AS date)"
_MONEY = "'FM999999999990.00'"
POSTGRES_FLOOR = [
    f"INSERT INTO billing_reminder_run (run_date, customers, sent, skipped, created_at) "
    f"VALUES ({_DAY}, 0, 0, 0, {_DAY})",
    f"""INSERT INTO billing_reminder (run_id, invoice_id, partner_id, level, run_date, status, amount_open, interest,
                                     indemnity)
       SELECT (SELECT MAX(id) FROM billing_reminder_run), x.id, x.partner_id, l.level, {_DAY},
              CASE WHEN l.level = x.target THEN 'sent' ELSE 'skipped' END, x.residual,
              CASE WHEN l.level = x.target AND l.interest
                   THEN floor(x.residual * 1215 * ({_DAY} - x.due_date) / 3650000.0 + 0.5) END,
              CASE WHEN l.level = x.target AND l.indemnity THEN 4000 END
       FROM (SELECT id, partner_id, residual, due_date, CASE WHEN due_date < CAST(:th4 AS date) THEN 4
                    WHEN due_date < CAST(:th3 AS date) THEN 3 WHEN due_date < CAST(:th2 AS date) THEN 2
                    ELSE 1 END AS target
             FROM billing_invoice WHERE state IN ('posted', 'partially_paid') AND due_date < CAST(:th1 AS date)) x
       JOIN billing_reminder_level l ON l.level <= x.target""",
    f"""INSERT INTO billing_reminder_case (invoice_id, partner_id, level, opened_on, last_reminded_on)
       SELECT invoice_id, partner_id, level, {_DAY}, {_DAY} FROM billing_reminder WHERE status = 'sent'""",
    f"""INSERT INTO core_notification (channel, recipients, subject, body_text, template, context, related, dedup_key,
                                      state, attempts, next_attempt_at, created_at, business_date)
       SELECT l.channel,
              CAST(CASE WHEN l.channel = 'letter' THEN json_build_array(p.name) ELSE json_build_array(p.email) END
                   AS text),
              l.name || ' : ' || COUNT(*) || ' factures en retard (' || p.name || ')', '', l.template,
              CAST(json_build_object(
                  'customer', json_build_object('name', p.name, 'email', p.email, 'street', p.street,
                                                'postal_code', p.postal_code, 'city', p.city),
                  'level', json_build_object('level', l.level, 'name', l.name, 'handover', l.handover),
                  'today', {_DAY}, 'business', p.kind = 'company', 'interest', l.interest,
                  'indemnity', l.indemnity,
                  'invoices', json_agg(json_build_object(
                      'number', i.number, 'invoice_date', i.invoice_date, 'due_date', i.due_date,
                      'days_late', {_DAY} - i.due_date,
                      'total', to_char(i.total / 100.0, {_MONEY}), 'open', to_char(i.residual / 100.0, {_MONEY}),
                      'interest', to_char(i.residual * 1215 * ({_DAY} - i.due_date) / 365000000.0, {_MONEY}))),
                  'total_open', to_char(SUM(i.residual) / 100.0, {_MONEY})) AS text),
              'core_partner:' || p.id, 'floor:' || p.id, 'pending', 0, {_DAY}, {_DAY}, {_DAY}
       FROM (SELECT partner_id, MAX(level) AS level FROM billing_reminder WHERE status = 'sent'
             GROUP BY partner_id) m
       JOIN core_partner p ON p.id = m.partner_id JOIN billing_reminder_level l ON l.level = m.level
       JOIN billing_invoice i ON i.partner_id = m.partner_id AND i.state IN ('posted', 'partially_paid')
                              AND i.due_date < {_DAY}
       GROUP BY p.id, l.level""",
    f"""INSERT INTO core_notification (channel, recipients, subject, body_text, template, context, related, dedup_key,
                                      state, attempts, next_attempt_at, created_at, business_date)
       SELECT 'email', '["bob@acme.fr"]', 'Copie : ' || subject, '', template, context, related,
              dedup_key || '-copy', 'pending', 0, {_DAY}, {_DAY}, {_DAY}
       FROM core_notification WHERE channel = 'letter' AND dedup_key LIKE 'floor:%'""",
]
FLOOR = {"sqlite": SQLITE_FLOOR, "postgresql": POSTGRES_FLOOR}


def _floor(app) -> tuple[float, int, int]:
    from sqlalchemy import text

    params = {"today": TODAY.isoformat(), **{f"th{n}": (TODAY - dt.timedelta(days=d)).isoformat()
                                            for n, d in ((1, 3), (2, 15), (3, 30), (4, 45))}}
    with app.engine.connect() as connection:
        transaction = connection.begin()
        start = time.perf_counter()
        for statement in FLOOR[connection.dialect.name]:
            connection.execute(text(statement), params)
        seconds = time.perf_counter() - start
        rows = connection.execute(text("SELECT COUNT(*) FROM billing_reminder")).scalar()
        messages = connection.execute(text("SELECT COUNT(*) FROM core_notification")).scalar()
        transaction.rollback()
    return seconds, rows, messages


def _child(config: str, today: str) -> None:
    """Run the reminder job once in this process and print its time, peak memory and counts."""
    from core.app import App
    from core.config import load_config
    from plugins.billing.services_reminders import run_reminders

    from benchmarks._db import ServerMemory, own_peak_mb

    app = App(load_config(config), today=dt.date.fromisoformat(today))
    start, cpu = time.perf_counter(), time.process_time()
    with app.transaction() as session, ServerMemory(session) as server:
        report = run_reminders(app, session)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = own_peak_mb()
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "peak_mb": peak, "server_mb": server.peak_mb,
                      "counts": report.counts()}))


def _job(config: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "benchmarks.billing", "--child", str(config), TODAY.isoformat()],
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _checkpoint(config: Path) -> None:
    """The data in the database proper before the clock starts (SQLite's WAL folded in; on PostgreSQL
    vacuumed and analysed, as autovacuum would soon do)."""
    from benchmarks._db import settle
    from core.app import App
    from core.config import load_config

    app = App(load_config(config))
    try:
        settle(app.engine)
    finally:
        app.close()


def _prepare(folder: Path, invoices: int, customers: int) -> tuple[Path, tuple[float, int, int]]:
    """A workspace of ``invoices`` in ``folder``, settled, and the floor measured on it: (config, floor)."""
    from benchmarks._db import init_workspace
    from core.app import App
    from core.config import load_config

    app = init_workspace(folder / "ws", name="Bench SAS", siren="732829320", vat_number="FR44732829320",
                         modules=["billing"])
    try:
        _populate(app, invoices, customers)
    finally:
        app.close()
    config = folder / "ws" / "crm.toml"
    _checkpoint(config)  # the generated data is in the database proper before any clock starts
    app = App(load_config(config))
    try:
        return config, _floor(app)
    finally:
        app.close()


def measure(invoices: int, customers: int) -> dict:
    """The first reminder run over ``invoices`` in a fresh workspace, beside its floor (the scaling suite)."""
    with tempfile.TemporaryDirectory() as folder:
        config, (floor, _, _) = _prepare(Path(folder), invoices, customers)
        return {**_job(config), "floor": floor}


def run(quick: bool = False) -> list[dict]:
    invoices, customers = (20_000, 2_000) if quick else (1_000_000, 100_000)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        config, (floor, written, floor_messages) = _prepare(Path(folder), invoices, customers)
        first = _job(config)
        _checkpoint(config)  # the first run's WAL is copied into the database here, not billed to the rerun
        second = _job(config)
        counts = first["counts"]
        label = f"{invoices:,} invoices, {customers:,} customers"
        rows.append({"benchmark": f"reminder run, first ({label})", "seconds": round(first["seconds"], 2),
                     "target_s": TIME_TARGET, "cpu_s": round(first["cpu_s"], 2), "peak_mb": round(first["peak_mb"]),
                     "server_mb": first["server_mb"], "target_mb": MEMORY_TARGET_MB,
                     "rows": counts["reminders"] + counts["skipped_levels"], "customers": counts["customers"],
                     "notifications": counts["notifications"],
                     "x_floor": round(first["seconds"] / floor, 2) if floor else None, "target_x": FLOOR_RATIO})
        rows.append({"benchmark": "floor: plainest SQL, same rows (rolled back)", "seconds": round(floor, 2),
                     "rows": written, "notifications": floor_messages})
        rows.append({"benchmark": "reminder run, second the same day", "seconds": round(second["seconds"], 2),
                     "target_s": RERUN_TARGET, "peak_mb": round(second["peak_mb"]),
                     "rows": second["counts"]["reminders"]})
        if written != counts["reminders"] + counts["skipped_levels"]:
            raise AssertionError(f"the floor wrote {written} reminder rows, the job {counts}")
        if second["counts"]["reminders"]:
            raise AssertionError(f"the second run sent again: {second['counts']}")
    return rows


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        for row in run(quick="--quick" in sys.argv):
            print(row)
