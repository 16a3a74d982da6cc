"""Extension fields in lists: `partner list --json` over 100,000 partners, with a module's two
listed fields and without (target: at most 1.3 x), and the list query alone.

The extension values come in one query for the whole list (the listed partners' ids outer-joined
with the module's table), never one query per row.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path


def _app(folder: Path, count: int):
    from sqlalchemy import insert

    from core.app import App
    from benchmarks._db import init_workspace
    from core.models import Partner
    from core.modules import ModuleEntry, discover, read_manifest

    app = init_workspace(folder, name="Bench SAS")
    package = Path(__file__).parent / "_fields_plugin"
    entry = ModuleEntry(name="bench_fields", target="benchmarks._fields_plugin", package_dir=package,
                        manifest=read_manifest("bench_fields", package / "__init__.py"))
    from benchmarks._fields_plugin import TABLE

    with app.engine.begin() as connection:
        TABLE.create(connection)
        connection.execute(insert(Partner), [{"name": f"Partner {n:06d}", "email": f"p{n}@example.com",
                                              "city": "Lyon"} for n in range(count)])
        connection.execute(insert(TABLE), [{"partner_id": n + 1, "limit": Decimal(n % 9000) + Decimal("0.50"),
                                            "segment": "key" if n % 3 else "smb"} for n in range(count)])
    entries = {**discover(), "bench_fields": entry}
    plain = App(replace(app.config, enabled=[]), entries=entries)
    extended = App(replace(app.config, enabled=["bench_fields"]), entries=entries)
    return plain, extended


def _list_command(app) -> int:
    """What `crm partner list --json` does (core/cli/partners.py), minus the terminal."""
    from core import extensions
    from core.cli.context import emit_json  # noqa: F401  (the command's JSON writer; json.dumps here)
    from core.models import Partner
    from core.services.partners import list_partners, partner_dict

    with app.transaction() as session:
        found = list_partners(session)
        extra = extensions.read(app, session, "partner", list_partners(session, columns=[Partner.id]),
                                only="listed") if extensions.of(app, "partner") else {}
        blank = extensions.blank(app, "partner", only="listed")
        rows = [partner_dict(p, extra.get(p.id, blank)) for p in found]
    return len(json.dumps(rows, default=str))


def _extension_read(app) -> int:
    """The listed extension values of every listed partner: one query, a join per extending module."""
    from core import extensions
    from core.models import Partner
    from core.services.partners import list_partners

    with app.transaction() as session:
        return len(extensions.read(app, session, "partner", list_partners(session, columns=[Partner.id]),
                                   only="listed"))


def _median(function, app, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function(app)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(quick: bool = False) -> list[dict]:
    count, runs = (2_000, 2) if quick else (100_000, 3)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        plain, extended = _app(Path(folder), count)
        try:
            _list_command(plain), _list_command(extended)  # warm the caches and the registry
            # alternated, so a shared machine's changing load weighs on both alike
            samples = {"plain": [], "extended": []}
            for _ in range(runs):
                for name, app in (("plain", plain), ("extended", extended)):
                    samples[name].append(_median(_list_command, app, 1))
            without, with_fields = statistics.median(samples["plain"]), statistics.median(samples["extended"])
            rows.append({"benchmark": f"partner list --json, {count:,} partners", "without_s": round(without, 3),
                         "with_2_fields_s": round(with_fields, 3), "ratio": round(with_fields / without, 2),
                         "target_ratio": 1.3})
            rows.append({"benchmark": f"the 2 fields of {count:,} partners alone (1 query)",
                         "with_2_fields_s": round(_median(_extension_read, extended, runs), 3)})
        finally:
            plain.close()
            extended.close()
    return rows
