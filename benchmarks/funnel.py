"""Funnel benchmarks on SQLite or PostgreSQL: the lead import and the funnel report (issue 4), learned
probabilities (issue 21).

Targets: a 100,000-row lead CSV with duplicate detection imported in at most 6 s and under
400 MB peak memory (issue 22; measured in a child process: its peak RSS, and its CPU time); ``crm funnel report`` over
1,000,000 opportunities with their stage history in at most 2 s (the command itself, in a child
process, start-up included; and the report service alone); ``crm funnel learn`` over 1,000,000
closed deals (won or lost in the last twelve months, with their history and a lead for one in
five) in at most 3 s, the whole command. ``--quick`` uses small sizes. The generated deals are
loaded by the driver's executemany on SQLite and COPY on PostgreSQL (benchmarks/_db.py).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT_SECONDS = 6
IMPORT_MB = 400
REPORT_SECONDS = 2
LEARN_SECONDS = 3

_IMPORT_CHILD = """
import json, sys, time
from pathlib import Path
from benchmarks._db import ServerMemory, own_peak_mb
from core.app import App
from core.config import load_config
from plugins.funnel.importer import import_leads
app = App(load_config(Path(sys.argv[1])))
with app.engine.connect() as connection:  # the pooled connection the import takes next: its server backend
    server = ServerMemory(connection)
start, cpu = time.perf_counter(), time.process_time()
with server:
    result = import_leads(app, Path(sys.argv[2]), duplicates="create")
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu_s": cpu, "server_mb": server.peak_mb,
                  "peak_mb": own_peak_mb(),
                  **{k: v for k, v in result.as_dict().items() if k != "errors"}}))
"""


def _siren(company: int) -> str:
    """A valid SIREN for company number ``company`` (8 digits and their Luhn key)."""
    base = f"{30_000_000 + company:08d}"
    total = 0
    for position, char in enumerate(reversed(base)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return base + str((10 - total % 10) % 10)


def _write_csv(path: Path, rows: int) -> None:
    """Leads with ~5 % duplicates of an earlier person (same e-mail and phone), ~2 % company + name
    duplicates; every match key is in use: phones, a SIREN on a fifth of the rows, a web site on
    some, company domains shared by colleagues (5,000 companies) and free-mail addresses."""
    rng = random.Random(4)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("name,company,email,phone,siren,website,source,campaign,owner,notes\n")
        for n in range(rows):
            roll = rng.random()
            person = n
            if n > 100 and roll < 0.05:
                person = m = rng.randrange(n)
                email, company, name = f"contact{m}@company{m % 5000}.fr", m % 5000, f"Person {m}"
            elif n > 100 and roll < 0.07:
                m = rng.randrange(n)
                email, company, name = f"other{n}@gmail.com", m % 5000, f"Person {m}"
            else:
                email, company, name = f"contact{n}@company{n % 5000}.fr", n % 5000, f"Person {n}"
            phone = f"+33 1 {person // 1000000 % 100:02d} {person // 10000 % 100:02d} {person // 100 % 100:02d} " \
                    f"{person % 100:02d}"
            siren = _siren(company) if n % 5 == 0 else ""
            website = f"https://www.company{company}.fr" if n % 7 == 0 else ""
            handle.write(f"{name},Company {company},{email},{phone},{siren},{website},web,autumn,"
                         f"{'alice' if n % 2 else 'bob'},met at the fair\n")


def _workspace(folder: Path):
    from benchmarks._db import init_workspace
    from core.services.people import create_user
    from core.services.partners import create_partner

    app = init_workspace(folder, name="Bench SAS", modules=["funnel"])
    with app.transaction() as session:
        for login in ("alice", "bob"):
            create_user(session, {"login": login, "name": login.title(), "email": f"{login}@bench.fr"})
        for n in range(0, 2000, 2):   # some leads match existing partners
            create_partner(app, session, {"name": f"Company {n}", "email": f"contact{n}@company{n}.fr",
                                          "phone": f"01 99 00 {n // 100:02d} {n % 100:02d}",
                                          "siren": _siren(n) if n % 4 == 0 else None})
    return app


def measure_import(rows: int) -> dict:
    """The lead import of ``rows`` in a fresh workspace, in a child process: its figures (JSON)."""
    with tempfile.TemporaryDirectory() as folder:
        app = _workspace(Path(folder) / "ws")
        app.close()
        csv_path = Path(folder) / "leads.csv"
        _write_csv(csv_path, rows)
        out = subprocess.run([sys.executable, "-c", _IMPORT_CHILD, str(Path(folder) / "ws" / "crm.toml"),
                              str(csv_path)], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[1])
        figures = json.loads(out.stdout)
    assert figures["created"] == rows and figures["rejected"] == 0, figures
    return figures


def bench_import(rows: int) -> dict:
    figures = measure_import(rows)
    return {"benchmark": f"lead import {rows:,} rows (duplicates flagged)", "count": rows,
            "seconds": round(figures["seconds"], 2), "per_second": round(rows / figures["seconds"]),
            "target": f"<= {IMPORT_SECONDS} s", "cpu_s": round(figures["cpu_s"], 2),
            "peak_mb": round(figures["peak_mb"]), "server_mb": figures["server_mb"], "load": round(os.getloadavg()[0], 1),
            "note": f"{figures['duplicates']:,} duplicates; peak target < {IMPORT_MB} MB"}


def _fill(app, deals: int) -> int:
    """``deals`` opportunities over a year with their stage history, written straight through the driver."""
    from plugins.funnel.pipelines import get_pipeline

    rng = random.Random(7)
    with app.transaction() as session:
        pipeline = get_pipeline(session)
        stages = [(s.id, s.kind) for s in pipeline.stages]
        pipeline_id = pipeline.id
    open_ids = [sid for sid, kind in stages if kind == "open"]
    won_id = next(sid for sid, kind in stages if kind == "won")
    lost_id = next(sid for sid, kind in stages if kind == "lost")
    import datetime as dt

    from sqlalchemy import text

    from benchmarks._db import bulk, settle

    base = dt.date(2025, 1, 1)
    opportunities, history, total_history = [], [], 0
    columns_o = ["id", "name", "pipeline_id", "stage_id", "state", "value", "probability", "expected_close",
                 "owner_id", "created_on", "closed_on", "cycle_days", "first_change_on", "last_change_on",
                 "furthest_stage_id", "created_at"]
    columns_h = ["opportunity_id", "action", "from_stage_id", "to_stage_id", "changed_on", "recorded_at"]
    stamp = "2026-01-01 00:00:00"
    with app.engine.begin() as connection:
        for n in range(1, deals + 1):
            created = base + dt.timedelta(days=rng.randrange(700))
            roll = rng.random()
            reached = rng.randrange(len(open_ids))
            path = open_ids[:reached + 1]
            day = created
            steps = [(None, path[0], "create", day)]
            for previous, stage in zip(path, path[1:]):
                day += dt.timedelta(days=rng.randrange(1, 10))
                steps.append((previous, stage, "move", day))
            state, closed, cycle = "open", None, None
            if roll < 0.25:
                day += dt.timedelta(days=rng.randrange(1, 20))
                steps.append((path[-1], won_id, "won", day))
                state, closed, cycle = "won", day, (day - created).days
            elif roll < 0.40:
                day += dt.timedelta(days=rng.randrange(1, 20))
                steps.append((path[-1], lost_id, "lost", day))
                state, closed = "lost", day
            stage = steps[-1][1]
            override = rng.choice((None, None, None, 3000))
            opportunities.append((n, f"Deal {n}", pipeline_id, stage, state, rng.randrange(100_00, 50_000_00),
                                  override, (created + dt.timedelta(days=60)).isoformat(), 1 + n % 2,
                                  created.isoformat(), closed.isoformat() if closed else None, cycle,
                                  # the history summary the deal services keep (checked against the history below)
                                  created.isoformat(), day.isoformat(), won_id if state == "won" else path[-1],
                                  stamp))
            history.extend((n, action, previous, to, when.isoformat(), stamp)
                           for previous, to, action, when in steps)
            if len(opportunities) >= 50_000 or n == deals:
                bulk(connection, "funnel_opportunity", columns_o, opportunities)
                bulk(connection, "funnel_stage_change", columns_h, history)
                total_history += len(history)
                opportunities, history = [], []
    # statistics fresh; a database in use has its pages in the main file, not in a fresh 400 MB WAL
    settle(app.engine)
    if deals <= 10_000:   # the quick run proves the summary written here is the one the history gives
        from plugins.funnel.history import REBUILD

        summary = text("SELECT id, first_change_on, last_change_on, furthest_stage_id FROM funnel_opportunity "
                       "ORDER BY id")
        with app.engine.connect() as connection:
            transaction = connection.begin()
            before = connection.execute(summary).all()
            connection.execute(text(REBUILD))
            after = connection.execute(summary).all()
            transaction.rollback()
        assert before == after, "the benchmark's history summary disagrees with the history"
    return total_history


def bench_report(deals: int) -> list[dict]:
    from plugins.funnel.reports import Scope, funnel_report
    from plugins.funnel.pipelines import get_pipeline
    import datetime as dt

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        app = _workspace(Path(folder) / "ws")
        try:
            start = time.perf_counter()
            history = _fill(app, deals)
            fill_seconds = time.perf_counter() - start
            config = Path(folder) / "ws" / "crm.toml"
            for label, extra in (("year", ["--from", "2026-01-01", "--to", "2026-12-31"]),
                                 ("all time, owner bob", ["--from", "2025-01-01", "--to", "2026-12-31",
                                                          "--owner", "bob"])):
                command = [sys.executable, "-m", "core.cli.main", "--config", str(config), "--today", "2026-12-31",
                           "funnel", "report", "--json", *extra]
                start = time.perf_counter()
                out = subprocess.run(command, capture_output=True, text=True, check=True)
                seconds = time.perf_counter() - start
                report = json.loads(out.stdout)
                rows.append({"benchmark": f"crm funnel report ({label}), {deals:,} deals, {history:,} moves",
                             "count": deals, "seconds": round(seconds, 2), "target": f"<= {REPORT_SECONDS} s",
                             "note": f"whole command; won {report['won_count']:,}, open {report['open_count']:,}; "
                                     f"data written in {fill_seconds:.0f} s"})
            with app.transaction() as session:
                scope = Scope(pipeline=get_pipeline(session), start=dt.date(2025, 1, 1), end=dt.date(2026, 12, 31))
                start = time.perf_counter()
                funnel_report(app, session, scope)
                seconds = time.perf_counter() - start
            rows.append({"benchmark": f"funnel_report service (all time), {deals:,} deals", "count": deals,
                         "seconds": round(seconds, 2), "target": f"<= {REPORT_SECONDS} s"})
        finally:
            app.close()
    return rows


def measure_report(deals: int) -> dict:
    """The report service over ``deals`` in a fresh workspace: its time (untraced), then its Python
    peak memory (traced) and on PostgreSQL its server backend's peak, for the scaling suite."""
    import datetime as dt
    import tracemalloc

    from benchmarks._db import ServerMemory
    from plugins.funnel.pipelines import get_pipeline
    from plugins.funnel.reports import Scope, funnel_report

    with tempfile.TemporaryDirectory() as folder:
        app = _workspace(Path(folder) / "ws")
        try:
            _fill(app, deals)
            figures = {}
            for traced in (False, True):
                with app.transaction() as session, ServerMemory(session) as server:
                    scope = Scope(pipeline=get_pipeline(session), start=dt.date(2025, 1, 1), end=dt.date(2026, 12, 31))
                    if traced:
                        tracemalloc.start()
                    start, cpu = time.perf_counter(), time.process_time()
                    funnel_report(app, session, scope)
                    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
                    if traced:
                        figures["python_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                        tracemalloc.stop()
                        figures["server_mb"] = server.peak_mb
                    else:
                        figures.update(seconds=seconds, cpu_s=cpu)
        finally:
            app.close()
    return figures


def _fill_closed(app, deals: int) -> int:
    """``deals`` deals closed in 2026, each with its stage history; teams, sources and amounts vary."""
    import datetime as dt

    from core.services.people import create_team
    from plugins.funnel.pipelines import get_pipeline

    rng = random.Random(21)
    with app.transaction() as session:
        create_team(session, {"name": "Nord", "leader": "alice"})
        create_team(session, {"name": "Sud", "leader": "bob"})
        pipeline = get_pipeline(session)
        open_ids = [s.id for s in pipeline.stages if s.kind == "open"]
        won_id, lost_id = (next(s.id for s in pipeline.stages if s.kind == kind) for kind in ("won", "lost"))
        pipeline_id = pipeline.id
    from sqlalchemy import text

    from benchmarks._db import bulk, settle

    columns_l = ["id", "name", "source", "state", "created_on", "created_at"]
    columns_o = ["id", "name", "pipeline_id", "stage_id", "state", "value", "expected_close", "owner_id", "team_id",
                 "lead_id", "created_on", "closed_on", "cycle_days", "created_at"]
    columns_h = ["opportunity_id", "action", "from_stage_id", "to_stage_id", "changed_on", "recorded_at"]
    stamp = "2026-01-01 00:00:00"
    base, sources, moves = dt.date(2025, 11, 1), ("web", "fair", "referral", "phone"), 0
    with app.engine.begin() as connection:
        leads, deals_rows, history = [], [], []
        for n in range(1, deals + 1):
            created = base + dt.timedelta(days=rng.randrange(300))
            first = rng.randrange(len(open_ids))
            path = open_ids[first:first + 1 + rng.randrange(len(open_ids) - first)]
            day, steps = created, [(None, path[0], "create", created)]
            for previous, stage in zip(path, path[1:]):
                day += dt.timedelta(days=rng.randrange(1, 10))
                steps.append((previous, stage, "move", day))
            won = rng.random() < 0.2 + 0.15 * len(path)
            day += dt.timedelta(days=rng.randrange(1, 20))
            steps.append((path[-1], won_id if won else lost_id, "won" if won else "lost", day))
            lead = n if n % 5 == 0 else None
            if lead:
                leads.append((n, f"Lead {n}", rng.choice(sources), "converted", created.isoformat(), stamp))
            deals_rows.append((n, f"Deal {n}", pipeline_id, steps[-1][1], "won" if won else "lost",
                               rng.randrange(100_00, 50_000_00), (created + dt.timedelta(days=60)).isoformat(),
                               1 + n % 2, 1 + n % 2 if n % 3 else None, lead, created.isoformat(), day.isoformat(),
                               (day - created).days if won else None, stamp))
            history.extend((n, action, previous, to, when.isoformat(), stamp)
                           for previous, to, action, when in steps)
            if len(deals_rows) >= 50_000 or n == deals:
                bulk(connection, "funnel_lead", columns_l, leads)
                bulk(connection, "funnel_opportunity", columns_o, deals_rows)
                bulk(connection, "funnel_stage_change", columns_h, history)
                moves += len(history)
                leads, deals_rows, history = [], [], []
        # the closed deals' outcome rows, derived from their history as the migration backfills them
        from plugins.funnel.outcomes import rebuild_sql

        connection.execute(text(rebuild_sql(connection.dialect.name)))
    settle(app.engine)
    return moves


def bench_learn(deals: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        app = _workspace(Path(folder) / "ws")
        try:
            moves = _fill_closed(app, deals)
        finally:
            app.close()
        command = [sys.executable, "-m", "core.cli.main", "--config", str(Path(folder) / "ws" / "crm.toml"),
                   "--today", "2026-12-31", "funnel", "learn", "--json"]
        start = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - start
    learned = json.loads(out.stdout)
    sample = sum(r["sample"] for r in learned["stages"])
    return {"benchmark": f"crm funnel learn, {deals:,} closed deals, {moves:,} moves", "count": deals,
            "seconds": round(seconds, 2), "target": f"<= {LEARN_SECONDS} s",
            "note": f"whole command; {sample:,} stage entries learned from"}


def run(quick: bool = False) -> list[dict]:
    return [bench_import(2_000 if quick else 100_000), *bench_report(5_000 if quick else 1_000_000),
            bench_learn(5_000 if quick else 1_000_000)]


if __name__ == "__main__":  # pragma: no cover - `python -m benchmarks funnel` is the usual way
    for row in run(quick="--quick" in sys.argv):
        print(row)
