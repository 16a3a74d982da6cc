"""Run the benchmarks and print one table: `python -m benchmarks [--quick] [NAME...]`."""

from __future__ import annotations

import argparse
import importlib
import json

def _suites() -> list[str]:
    """Every module of this package is a suite with a ``run(quick)`` function."""
    import pkgutil
    from pathlib import Path

    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))


SUITES = _suites()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"suites to run: {', '.join(SUITES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes and few runs (a smoke test)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    rows = []
    for name in args.names or SUITES:
        module = importlib.import_module(f"benchmarks.{name}")
        for row in module.run(quick=args.quick):
            rows.append({"suite": name, **row})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    keys = list(dict.fromkeys(k for row in rows for k in row))
    widths = {k: max(len(k), *(len(str(row.get(k, ""))) for row in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for row in rows:
        print("  ".join(str(row.get(k, "")).ljust(widths[k]) for k in keys))


if __name__ == "__main__":
    main()
