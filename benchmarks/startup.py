"""Everyday commands in the demo workspace against a bare ``import sqlalchemy.orm``, and ``crm shell``.

Targets (issue 22): each list and show below ≤ 1.5 × the bare import (median of 15, measured in
the same run, round by round so that the machine's load weighs on both alike, bytecode caching
on); ``crm --help`` ≤ 0.15 s; a list typed in ``crm shell`` ≤ 50 ms. Wall time and the process's
CPU time are both reported, with the load average: figures taken on a busy machine are pessimistic.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATIO_TARGET = 1.5
HELP_TARGET_S = 0.15
SHELL_TARGET_S = 0.05
#: the commands, with ``{product}`` for a SKU of the workspace (the other shows take record 1)
COMMANDS = [
    "partner list", "partner show 1", "product list", "product show {product}", "order list", "order show 1",
    "invoice list", "invoice show 1", "deal list", "deal show 1", "lead list", "lead show 1", "po list",
    "po show 1", "aging", "stock list", "notifications list",
]
SHELL_COMMANDS = ["invoice list", "partner list", "deal list", "po list", "aging", "invoice show 1"]

#: ``python -m benchmarks --database postgresql`` shows this instead of running the suite
SQLITE_ONLY = "measured in workspaces that `crm init` / `crm demo` make on SQLite (start-up cost, not the database's)"

def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and k != "PYTHONDONTWRITEBYTECODE"}
    return env


def _once(argv: list[str], cwd: str, env: dict) -> tuple[float, float, int]:
    """Wall and CPU seconds of one run of ``argv``, and its exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, code


def _demo(folder: Path, crm: str, days: int, env: dict) -> None:
    subprocess.run([crm, "demo", str(folder), "--days", str(days), "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _product(crm: str, folder: Path, env: dict) -> str:
    import json

    out = subprocess.run([crm, "product", "list", "--json"], cwd=folder, env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]["sku"]


def _shell_latency(crm: str, folder: Path, env: dict, command: str, runs: int) -> float | None:
    """Median seconds from typing ``command`` in a warm ``crm shell`` to its last line of output."""
    process = subprocess.Popen([crm, "shell"], cwd=folder, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, bufsize=1)
    samples = []
    try:
        for index in range(runs + 2):  # the first two warm the imports and the statement cache
            start = time.perf_counter()
            process.stdin.write(f"{command}\ntoday\n")
            process.stdin.flush()
            while True:
                line = process.stdout.readline()
                if not line:
                    return None
                if line.startswith("business day"):
                    break
            if index >= 2:
                samples.append(time.perf_counter() - start)
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    return statistics.median(samples)


def run(quick: bool = False) -> list[dict]:
    runs = 2 if quick else 15
    crm = str(Path(sys.executable).with_name("crm"))
    env = _environment()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "demo"
        _demo(folder, crm, 4 if quick else 90, env)
        sku = _product(crm, folder, env)
        commands = {c.replace("{product}", "SKU"): [crm, *c.format(product=sku).split()] for c in COMMANDS}
        commands["--help"] = [crm, "--help"]
        bare = [sys.executable, "-c", "import sqlalchemy.orm"]
        samples: dict[str, list] = {name: [] for name in ["bare", *commands]}
        for _ in range(runs):  # round by round: load varies over time, not between the columns
            samples["bare"].append(_once(bare, str(folder), env))
            for name, argv in commands.items():
                samples[name].append(_once(argv, str(folder), env))
        bare_wall = statistics.median(s[0] for s in samples["bare"])
        bare_cpu = statistics.median(s[1] for s in samples["bare"])
        load = round(os.getloadavg()[0], 2)
        rows.append({"benchmark": "python -c 'import sqlalchemy.orm' (bare)", "median_s": round(bare_wall, 3),
                     "cpu_s": round(bare_cpu, 3), "ratio": 1.0, "cpu_ratio": 1.0, "target": "", "runs": runs,
                     "load": load})
        for name in commands:
            done = [s for s in samples[name] if s[2] == 0]
            if not done:  # a record the short (--quick) story did not create
                rows.append({"benchmark": f"crm {name}", "median_s": None, "target": "no such record", "runs": 0})
                continue
            wall = statistics.median(s[0] for s in done)
            cpu = statistics.median(s[1] for s in done)
            row = {"benchmark": f"crm {name}", "median_s": round(wall, 3), "cpu_s": round(cpu, 3),
                   "ratio": round(wall / bare_wall, 2), "cpu_ratio": round(cpu / bare_cpu, 2), "runs": len(done),
                   "load": load}
            if name == "--help":
                row.update(target=f"<= {HELP_TARGET_S} s", met=wall <= HELP_TARGET_S)
            else:
                row.update(target=f"<= {RATIO_TARGET}x bare", met=wall / bare_wall <= RATIO_TARGET)
            rows.append(row)
        for command in SHELL_COMMANDS:
            latency = _shell_latency(crm, folder, env, command, runs)
            rows.append({"benchmark": f"crm shell: {command}", "median_s": None if latency is None else round(latency, 4),
                         "target": f"<= {SHELL_TARGET_S} s", "met": latency is not None and latency <= SHELL_TARGET_S,
                         "runs": runs, "load": round(os.getloadavg()[0], 2)})
    return rows
