"""CLI start-up: `crm --help` and `crm modules list` wall time (target: --help under 0.3 s)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


#: ``python -m benchmarks --database postgresql`` shows this instead of running the suite
SQLITE_ONLY = "measured in workspaces that `crm init` / `crm demo` make on SQLite (start-up cost, not the database's)"

def _time(argv, cwd, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return samples


def run(quick: bool = False) -> list[dict]:
    crm = str(Path(sys.executable).with_name("crm"))
    runs = 3 if quick else 15
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([crm, "init", folder, "--name", "Bench SAS"], check=True, capture_output=True)
        for label, args, target in (
            ("crm --help (no workspace)", ["--help"], 0.3),
            ("crm --help (3 modules enabled)", ["--help"], 0.3),
            ("crm modules list", ["modules", "list"], None),
            ("crm partner list (empty)", ["partner", "list"], None),
        ):
            cwd = tempfile.gettempdir() if "no workspace" in label else folder
            samples = _time([crm, *args], cwd, runs)
            rows.append({"benchmark": label, "median_s": round(statistics.median(samples), 3),
                         "min_s": round(min(samples), 3), "runs": runs, "target_s": target})
    return rows
