"""Paperwork and the manager's view on the demo company (issue 7).

The demo replays a year of Lumière & Cie (``crm demo --days 365``; 20 days with ``--quick``), then:

- 1,000 invoice PDFs through ``crm documents print billing.invoice`` (target at most 45 s on the
  2-core machine, issue 22; read in bulk, laid out by one warm worker process per core). A year of
  the demo company has fewer invoices than that, so the list cycles through them: each PDF is laid
  out in full. Wall time, the CPU time of the command and its workers, and the load average.
- one ``crm invoice pdf N`` and one ``crm invoice facturx N`` against a bare
  ``python -c "import sqlalchemy.orm, weasyprint"`` measured in the same run, interleaved (median
  of 5, 15 in the full run): target at most 0.3 s more than the bare import (issue 22).
- the warm path of ``crm shell``: a second invoice PDF (and Factur-X) in a process that already
  printed one (target at most 0.15 s).
- the period report over that year, ``crm report period --from --to --html`` (target at most 5 s),
  and the plan of the next quarter; median of three runs of the whole command, start-up included.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PDF_TARGET, REPORT_TARGET = 45.0, 5.0
#: a single document command may cost this much more than importing the libraries it needs
SINGLE_OVER_BARE, WARM_TARGET = 0.3, 0.15
BARE = "import sqlalchemy.orm, weasyprint"


def _cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


#: ``python -m benchmarks --database postgresql`` shows this instead of running the suite
SQLITE_ONLY = "measured in the demo workspace, which `crm demo` builds on SQLite (it takes no database URL)"

def _crm(*args, cwd: Path) -> subprocess.CompletedProcess:
    crm = str(Path(sys.executable).with_name("crm"))
    result = subprocess.run([crm, *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"crm {' '.join(map(str, args[:4]))} ...: {result.stderr.strip()[-2000:]}")
    return result


#: runs a command and prints the largest resident size among it and its own children (its workers), in KB
_PEAK = ("import resource, subprocess, sys\n"
         "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
         "sys.exit(done.returncode)")


def _peak_mb(*args, cwd: Path) -> float:
    """Run ``crm ARGS``; the peak resident size (MB) of the largest of its processes: its own, not
    that of an earlier child of this process (the demo that built the workspace)."""
    crm = str(Path(sys.executable).with_name("crm"))
    result = subprocess.run([sys.executable, "-c", _PEAK, crm, *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"crm {' '.join(map(str, args[:4]))} ...: {result.stderr.strip()[-2000:]}")
    return int(result.stdout.split()[-1]) / 1024


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
        load, cpu = _load(), _cpu()
        start = time.perf_counter()
        peak = _peak_mb("--today", last, "documents", "print", "billing.invoice", *refs, "-o",
                        str(Path(scratch) / "pdf"), cwd=folder)
        seconds = time.perf_counter() - start
        rows.append({"benchmark": f"invoice PDFs ({len(ids)} distinct, {days}-day demo)", "size": pdfs,
                     "seconds": round(seconds, 2), "cpu_s": round(_cpu() - cpu, 2), "per_s": round(pdfs / seconds, 1),
                     "peak_mb": round(peak), "target_s": PDF_TARGET, "load": f"{load} → {_load()}"})
        posted = [str(i["id"]) for i in invoices if i["state"] != "draft"]
        rows.extend(_single(folder, last, posted[0], Path(scratch) / "one", 5 if quick else 15))
        rows.extend(_warm(folder, last, [posted[n % len(posted)] for n in range(3)], Path(scratch) / "warm"))
        start_day = summary["from"]
        report = _timed("--today", last, "report", "period", "--from", start_day, "--to", last, "--html",
                        str(Path(scratch) / "period.html"), cwd=folder, runs=runs)
        rows.append({"benchmark": f"period report over the demo's {days} days (--html)", "size": days,
                     "seconds": round(report, 2), "target_s": REPORT_TARGET})
        quarter = dt.date.fromisoformat(last)
        plan = _timed("--today", last, "plan", "--period", f"{quarter.year + 1}-Q1", "--json", cwd=folder, runs=runs)
        rows.append({"benchmark": "plan of a coming quarter (--json)", "size": days, "seconds": round(plan, 2)})
    return rows


def _single(folder: Path, today: str, ref: str, out: Path, runs: int) -> list[dict]:
    """One document command against the bare import of its libraries, interleaved, medians."""
    commands = {"bare": [sys.executable, "-c", BARE],
                "pdf": [str(Path(sys.executable).with_name("crm")), "--today", today, "invoice", "pdf", ref,
                        "-o", f"{out}/"],
                "facturx": [str(Path(sys.executable).with_name("crm")), "--today", today, "invoice", "facturx", ref,
                            "-o", f"{out}/"]}
    walls: dict = {name: [] for name in commands}
    cpus: dict = {name: [] for name in commands}
    load = _load()
    for _ in range(runs):
        for name, argv in commands.items():
            cpu, start = _cpu(), time.perf_counter()
            subprocess.run(argv, cwd=folder, check=True, capture_output=True)
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(_cpu() - cpu)
    bare, bare_cpu = statistics.median(walls["bare"]), statistics.median(cpus["bare"])
    rows = [{"benchmark": f'python -c "{BARE}" (the floor)', "size": runs, "seconds": round(bare, 3),
             "cpu_s": round(bare_cpu, 3), "load": f"{load} → {_load()}"}]
    for name in ("pdf", "facturx"):
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        rows.append({"benchmark": f"crm invoice {name} N (one document)", "size": runs, "seconds": round(wall, 3),
                     "cpu_s": round(cpu, 3), "over_bare_s": round(wall - bare, 3),
                     "over_bare_cpu_s": round(cpu - bare_cpu, 3), "ratio": round(wall / bare, 2),
                     "target_s": f"bare + {SINGLE_OVER_BARE}"})
    return rows


def _warm(folder: Path, today: str, refs: list[str], out: Path) -> list[dict]:
    """A second document in a process that printed one already (``crm shell``'s warm path)."""
    code = f"""
import datetime as dt, json, time
from core.app import App
from core.config import load_config
from core.documents import write
from plugins.billing.facturx import write_facturx
app = App(load_config({str(folder / "crm.toml")!r}), today=dt.date.fromisoformat({today!r}))
def timed(do, ref):
    start, cpu = time.perf_counter(), time.process_time()
    with app.session() as session:
        do(app, session, ref, output={f"{out}/"!r})
        session.rollback()
    return time.perf_counter() - start, time.process_time() - cpu
pdf = lambda app, session, ref, output: write(app, session, "billing.invoice", ref, output=output)
first = timed(pdf, {refs[0]!r})
second = timed(pdf, {refs[1]!r})
timed(write_facturx, {refs[0]!r})
facturx = timed(write_facturx, {refs[2]!r})
print(json.dumps([first, second, facturx]))
"""
    load = _load()
    result = subprocess.run([sys.executable, "-c", code], cwd=folder, check=True, capture_output=True, text=True)
    (first, first_cpu), (second, second_cpu), (facturx, facturx_cpu) = json.loads(result.stdout)
    return [{"benchmark": "invoice PDF in a warm process: the first", "size": 1, "seconds": round(first, 3),
             "cpu_s": round(first_cpu, 3), "load": f"{load} → {_load()}"},
            {"benchmark": "invoice PDF in a warm process: the second (crm shell)", "size": 1,
             "seconds": round(second, 3), "cpu_s": round(second_cpu, 3), "target_s": WARM_TARGET},
            {"benchmark": "invoice Factur-X in a warm process: another one (crm shell)", "size": 1,
             "seconds": round(facturx, 3), "cpu_s": round(facturx_cpu, 3), "target_s": WARM_TARGET}]
