"""Paperwork and the manager's view on the demo company (issue 7).

The demo replays a year of Lumière & Cie (``crm demo --days 365``; 20 days with ``--quick``), then:

- 1,000 invoice PDFs through ``crm documents print billing.invoice`` (target at most 60 s on the
  2-core machine; the pages are laid out by one process per core). A year of the demo company has
  fewer invoices than that, so the list cycles through them: each PDF is laid out in full.
- the period report over that year, ``crm report period --from --to --html`` (target at most 5 s),
  and the plan of the next quarter; median of three runs of the whole command, start-up included.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PDF_TARGET, REPORT_TARGET = 60.0, 5.0


#: ``python -m benchmarks --database postgresql`` shows this instead of running the suite
SQLITE_ONLY = "measured in the demo workspace, which `crm demo` builds on SQLite (it takes no database URL)"

def _crm(*args, cwd: Path) -> subprocess.CompletedProcess:
    crm = str(Path(sys.executable).with_name("crm"))
    result = subprocess.run([crm, *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"crm {' '.join(map(str, args[:4]))} ...: {result.stderr.strip()[-2000:]}")
    return result


def _timed(*args, cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        _crm(*args, cwd=cwd)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(quick: bool = False) -> list[dict]:
    days, pdfs, runs = (20, 40, 1) if quick else (365, 1000, 3)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "demo"
        summary = json.loads(_crm("demo", str(folder), "--days", str(days), "--json", cwd=Path(scratch)).stdout)
        last = summary["to"]
        invoices = json.loads(_crm("invoice", "list", "--json", "--limit", "100000", cwd=folder).stdout)
        ids = [str(i["id"]) for i in invoices]
        refs = [ids[n % len(ids)] for n in range(pdfs)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        _crm("--today", last, "documents", "print", "billing.invoice", *refs, "-o", str(Path(scratch) / "pdf"),
             cwd=folder)
        seconds = time.perf_counter() - start
        peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        rows.append({"benchmark": f"invoice PDFs ({len(ids)} distinct, {days}-day demo)", "size": pdfs,
                     "seconds": round(seconds, 2), "per_s": round(pdfs / seconds, 1), "peak_mb": round(peak),
                     "target_s": PDF_TARGET})
        start_day = summary["from"]
        report = _timed("--today", last, "report", "period", "--from", start_day, "--to", last, "--html",
                        str(Path(scratch) / "period.html"), cwd=folder, runs=runs)
        rows.append({"benchmark": f"period report over the demo's {days} days (--html)", "size": days,
                     "seconds": round(report, 2), "target_s": REPORT_TARGET})
        quarter = dt.date.fromisoformat(last)
        plan = _timed("--today", last, "plan", "--period", f"{quarter.year + 1}-Q1", "--json", cwd=folder, runs=runs)
        rows.append({"benchmark": "plan of a coming quarter (--json)", "size": days, "seconds": round(plan, 2)})
    return rows
