"""Run the benchmarks and print one table per suite.

``python -m benchmarks [--quick] [--database sqlite|postgresql|both|URL ...] [NAME...]``: each suite
runs on each database given (SQLite by default; PostgreSQL in a fresh schema per workspace,
dropped afterwards), and with several databases the figures stand side by side, a column per
database, the targets once.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import signal
import sys
import time


def _suites() -> list[str]:
    """Every module of this package is a suite with a ``run(quick)`` function."""
    import pkgutil
    from pathlib import Path

    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))


SUITES = _suites()
#: the columns that describe a row (shown once); every other figure gets a column per database
LABELS = ("benchmark", "case")


def _databases(values: list[str]) -> list[str]:
    from benchmarks import _db

    urls = []
    for value in values or ["sqlite"]:
        if value == "both":
            urls += ["sqlite", _db.postgres_url()]
        elif value in ("postgresql", "postgres", "pg"):
            urls.append(_db.postgres_url())
        elif value == "sqlite" or value.startswith("postgresql://") or value.startswith("postgres://"):
            urls.append(value)
        else:
            raise SystemExit(f"--database {value}: expected sqlite, postgresql, both or a postgresql:// URL")
    return list(dict.fromkeys(urls))


def _run_suite(name: str, url: str, quick: bool) -> list[dict]:
    from benchmarks import _db

    module = importlib.import_module(f"benchmarks.{name}")
    database = _db.name(url)
    only = getattr(module, "SQLITE_ONLY", None)
    if only and database != "sqlite":
        return [{"benchmark": f"(not run on {database})", "note": f"SQLite only: {only}"}]
    with _db.using(url):
        return list(module.run(quick=quick))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the suites' child processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _is_target(key: str) -> bool:
    return key.startswith("target")


def _target_of(key: str, value, figures: list[str]) -> str | None:
    """The figure a target column speaks of (``target_x`` of ``x_floor``, ``>= 300/s`` of ``per_second``)."""
    if key in ("target_x", "target_x_floor"):
        wanted = ["x_floor"]
    elif key == "target_mb":
        wanted = ["peak_mb", "python_peak_mb"]
    elif key == "target_ratio":
        wanted = ["ratio"]
    elif key == "target_x_linear":
        wanted = ["x_linear"]
    elif "/s" in str(value):
        wanted = ["per_second"]
    else:
        wanted = ["seconds", "median_s"]
    return next((k for k in wanted if k in figures), None)


def _print_suite(name: str, rows_by_db: dict[str, list[dict]]) -> None:
    """A block per benchmark: its label (and any target not tied to one figure), then a line per
    figure with its target and its value on each database, side by side."""
    databases = list(rows_by_db)
    longest = max(len(rows) for rows in rows_by_db.values())
    lines = []
    for index in range(longest):
        rows = {db: (rows_by_db[db][index] if index < len(rows_by_db[db]) else {}) for db in databases}
        first = next(row for row in rows.values() if row)
        label_key = next((k for k in LABELS if k in first), next(iter(first)))
        keys = list(dict.fromkeys(k for row in rows.values() for k in row if k not in (label_key, "database")))
        figures = [k for k in keys if not _is_target(k)]
        targets, loose = {}, []
        for key in (k for k in keys if _is_target(k)):
            value = next((row[key] for row in rows.values() if row.get(key) not in (None, "")), None)
            if value is None:
                continue
            tied = _target_of(key, value, figures)
            if tied and tied not in targets:
                targets[tied] = value
            else:
                loose.append(f"{key} {value}")
        lines.append([str(first.get(label_key, "")), ", ".join(loose)] + [""] * len(databases))
        for key in figures:
            values = [rows[db].get(key) for db in databases]
            if all(v in (None, "") for v in values):
                continue
            lines.append([f"    {key}", str(targets.get(key, ""))] + ["" if v is None else str(v) for v in values])
    header = ["benchmark / figure", "target", *databases]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print(f"\n== {name}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for line in lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"suites to run: {', '.join(SUITES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes and few runs (a smoke test)")
    parser.add_argument("--database", action="append", default=[], metavar="DB",
                        help="sqlite (default), postgresql (CRM_TEST_DATABASE_URL or postgres@127.0.0.1:5432/test), "
                             "both, or a postgresql:// URL; repeat to compare side by side")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (each with suite and database)")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    urls = _databases(args.database)
    from benchmarks import _db

    # a run stopped by SIGTERM still drops its PostgreSQL schemas (the `finally` of _db.using)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    every = []
    load = os.getloadavg()
    started = time.perf_counter()
    for name in args.names or SUITES:
        rows_by_db, spent = {}, []
        for url in urls:
            wall, cpu = time.perf_counter(), _cpu()
            rows = _run_suite(name, url, args.quick)
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
            spent.append(f"{_db.name(url)} {wall:.0f} s wall, {cpu:.0f} s CPU, load {os.getloadavg()[0]:.2f}")
            rows_by_db[_db.name(url)] = rows
            every += [{"suite": name, "database": _db.name(url), **row} for row in rows]
        if not args.json:
            _print_suite(name, rows_by_db)
            print(f"   (the suite: {'; '.join(spent)})")
    if args.json:
        print(json.dumps(every, indent=2, default=str))
        return
    after = os.getloadavg()
    print(f"\n{time.perf_counter() - started:.0f} s in all; load average {load[0]:.2f} at the start, "
          f"{after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f} (1 / 5 / 15 min) at the end, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
