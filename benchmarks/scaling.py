"""Cost that grows linearly (issue 22): four batch paths measured at three sizes each.

The reminder run (invoices, one customer per ten), the reorder sweep (rules, one product each, 10 %
below their minimum), the funnel report service (deals with their stage history) and the lead
import (CSV rows, duplicates flagged) — each size in a fresh workspace. Every step shows its time,
its cost per item, and its growth against the previous size: ``x_linear`` is the time ratio divided
by the size ratio (1.0 is linear; above ``LINEAR_SLACK`` is flagged ``worse than linear``), with
``cpu_x_linear`` the same for this process's CPU time (steadier on a loaded machine), and
``memory_x`` the ratio of the peak memories (flagged ``memory grows`` above ``MEMORY_SLACK`` while
the data grows threefold: a streamed job holds what one batch needs, whatever the size).

Memory is the process's peak resident set where the job runs in a child process of its own (the
reminder run, the lead import), and Python's traced peak where it runs in this process (the sweep,
the report); on PostgreSQL ``server_mb`` is the peak private memory of the server backend doing
the job's queries (sorts, hashes: ``work_mem`` bounds each).

Sizes. Full run: a threefold step then a further step, the same on both databases so that they
compare side by side — reminder run 100k / 300k / 1M invoices, sweep 10k / 100k / 1M rules, report
100k / 300k / 1M deals (each with about three history rows), lead import 10k / 100k / 300k rows.
About 20 minutes per database on a quiet 2-core machine: the loading (generated in Python, COPY on
PostgreSQL) costs more than the measured jobs. Larger steps (5M invoices on PostgreSQL) fit the same
code: ``SIZES``. ``--quick``: small steps (a smoke test; at those sizes fixed costs dominate, so the
growth figures are not judged).
"""

from __future__ import annotations

LINEAR_SLACK = 1.25
MEMORY_SLACK = 1.5

SIZES = {
    "quick": {"reminder run": (2_000, 4_000, 8_000), "reorder sweep": (1_000, 2_000, 4_000),
              "funnel report": (1_000, 2_000, 4_000), "lead import": (500, 1_000, 2_000)},
    "full": {"reminder run": (100_000, 300_000, 1_000_000), "reorder sweep": (10_000, 100_000, 1_000_000),
             "funnel report": (100_000, 300_000, 1_000_000), "lead import": (10_000, 100_000, 300_000)},
}


def _reminder(size: int) -> dict:
    from benchmarks.billing import measure

    m = measure(size, max(size // 10, 1))
    return {"seconds": m["seconds"], "cpu_s": m["cpu_s"], "memory_mb": m["peak_mb"], "memory": "process RSS",
            "server_mb": m["server_mb"], "x_floor": m["seconds"] / m["floor"] if m["floor"] else None}


def _sweep(size: int) -> dict:
    from benchmarks.procurement import measure

    m = measure(size, min(500, max(size // 20, 5)), runs=1)  # 500 suppliers, as the procurement suite
    return {"seconds": m["seconds"], "cpu_s": m["cpu"], "memory_mb": m["python_peak_mb"], "memory": "Python traced",
            "server_mb": m["server_mb"], "x_floor": m["seconds"] / m["floor"] if m["floor"] else None}


def _report(size: int) -> dict:
    from benchmarks.funnel import measure_report

    m = measure_report(size)
    return {"seconds": m["seconds"], "cpu_s": m["cpu_s"], "memory_mb": m["python_peak_mb"],
            "memory": "Python traced", "server_mb": m["server_mb"]}


def _import(size: int) -> dict:
    from benchmarks.funnel import measure_import

    m = measure_import(size)
    return {"seconds": m["seconds"], "cpu_s": m["cpu_s"], "memory_mb": m["peak_mb"], "memory": "process RSS",
            "server_mb": m["server_mb"]}


PATHS = {"reminder run": (_reminder, "invoices"), "reorder sweep": (_sweep, "rules"),
         "funnel report": (_report, "deals"), "lead import": (_import, "rows")}


def run(quick: bool = False) -> list[dict]:
    sizes = SIZES["quick" if quick else "full"]
    rows = []
    for path, (measure, unit) in PATHS.items():
        previous = None
        for step, size in enumerate(sizes[path], 1):
            m = measure(size)
            row = {"benchmark": f"{path}, step {step} of 3", "size": f"{size:,} {unit}",
                   "seconds": round(m["seconds"], 2), "cpu_s": round(m["cpu_s"], 2),
                   "us_per_item": round(m["seconds"] / size * 1e6, 1),
                   "x_floor": round(m["x_floor"], 2) if m.get("x_floor") else None,
                   "memory_mb": round(m["memory_mb"], 1), "memory_kind": m["memory"],
                   "server_mb": round(m["server_mb"], 1) if m["server_mb"] else None}
            flags = []
            if previous:
                growth = size / previous["size"]
                row["x_linear"] = round(m["seconds"] / previous["seconds"] / growth, 2)
                # the process's own CPU (on SQLite the job's work; on PostgreSQL the server does most)
                row["cpu_x_linear"] = round(m["cpu_s"] / previous["cpu_s"] / growth, 2) if previous["cpu_s"] else None
                row["memory_x"] = round(m["memory_mb"] / previous["memory_mb"], 2)
                if row["x_linear"] > LINEAR_SLACK:
                    steady = row["cpu_x_linear"] is not None and row["cpu_x_linear"] <= LINEAR_SLACK
                    flags.append("wall worse than linear" + (" (CPU linear: the machine's load?)" if steady else ""))
                if row["memory_x"] > MEMORY_SLACK:
                    flags.append("memory grows")
                if m["server_mb"] and previous["server_mb"] and m["server_mb"] > MEMORY_SLACK * previous["server_mb"]:
                    flags.append("server memory grows")
            row["target_x_linear"] = f"<= {LINEAR_SLACK}"
            if quick:  # fixed costs dominate such small sizes: no verdict
                flags = ["(quick: too small to judge)"] if previous else []
            row["flag"] = ", ".join(flags) or ("ok" if previous else "")
            rows.append(row)
            previous = {"size": size, **m}
    return rows


if __name__ == "__main__":  # pragma: no cover - `python -m benchmarks scaling` is the usual way
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
