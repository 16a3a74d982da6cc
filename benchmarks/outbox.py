"""Outbox throughput on SQLite or PostgreSQL: notifications written per second, and delivered through ``file``.

Targets (issue 3): 5,000 notifications written per second (``notify_many`` in batches) and 1,000
delivered per second through the ``file`` channel (one ``.eml`` file each). One-by-one ``notify``
calls in one transaction are measured too, for a plugin that writes as it goes.

Delivery commits each message's state on its own (issue 14: claimed with a lease, sent, marked
sent in a commit of its own), so the delivery figure includes one commit per message.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

WRITE_TARGET = 5_000
DELIVER_TARGET = 1_000


def _rows(app, start: int, count: int, *, prefix: str) -> list[dict]:
    from core.outbox import notification_row

    return [notification_row(app, recipients=[f"customer{n}@client.fr", "collections@acme.fr"],
                             subject=f"Invoice F-{n:06d} is due", text=f"Dear customer,\n\ninvoice F-{n:06d} "
                             f"of 1,234.56 EUR is due today.\n\nRegards,\nCollections\n",
                             html=f"<p>Invoice <b>F-{n:06d}</b> is due today.</p>",
                             related=f"billing_invoice:{n}", dedup_key=f"{prefix}:{n}")
            for n in range(start, start + count)]


def _rate(count: int, seconds: float) -> int:
    return round(count / seconds) if seconds else 0


def run(quick: bool = False) -> list[dict]:
    from sqlalchemy import text

    from core.delivery import deliver
    from benchmarks._db import init_workspace
    from core.outbox import notify, notify_many

    total = 2_000 if quick else 100_000
    one_by_one = 500 if quick else 10_000
    batch = 1_000
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        app = init_workspace(Path(folder) / "ws", name="Bench SAS")
        try:
            # notify_many, one transaction per batch (what a daily job does)
            start = time.perf_counter()
            written = 0
            for first in range(0, total, batch):
                with app.transaction() as session:
                    written += notify_many(app, session, _rows(app, first, min(batch, total - first), prefix="m"))
            seconds = time.perf_counter() - start
            assert written == total
            rows.append({"benchmark": f"write {total:,} (notify_many, batches of {batch:,})", "count": total,
                         "seconds": round(seconds, 2), "per_second": _rate(total, seconds),
                         "target": f">= {WRITE_TARGET:,}/s"})

            # the same rows again: every dedup key is there, nothing is written
            start = time.perf_counter()
            again = 0
            for first in range(0, total, batch):
                with app.transaction() as session:
                    again += notify_many(app, session, _rows(app, first, min(batch, total - first), prefix="m"))
            seconds = time.perf_counter() - start
            assert again == 0
            rows.append({"benchmark": f"rewrite {total:,} (all duplicates, skipped)", "count": total,
                         "seconds": round(seconds, 2), "per_second": _rate(total, seconds), "target": None})

            # notify one by one inside a single transaction
            prepared = _rows(app, 0, one_by_one, prefix="o")
            start = time.perf_counter()
            with app.transaction() as session:
                for row in prepared:
                    notify(app, session, recipients=json.loads(row["recipients"]), subject=row["subject"],
                           text=row["body_text"], html=row["body_html"], related=row["related"],
                           dedup_key=row["dedup_key"])
            seconds = time.perf_counter() - start
            rows.append({"benchmark": f"write {one_by_one:,} (notify one by one, 1 transaction)",
                         "count": one_by_one, "seconds": round(seconds, 2), "per_second": _rate(one_by_one, seconds),
                         "target": None})

            # deliver everything through the file channel (.eml files beside crm.toml)
            pending = total + one_by_one
            start, cpu = time.perf_counter(), time.process_time()
            report = deliver(app)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert report.sent == pending and not report.retried and not report.failed, report.as_dict()
            with app.transaction() as session:  # every message marked on its own, leases released
                left = session.execute(text("SELECT COUNT(*) FROM core_notification "
                                            "WHERE state <> 'sent' OR claimed_until IS NOT NULL")).scalar()
            assert left == 0, left
            files = sum(1 for _ in (Path(folder) / "ws" / "outbox").glob("*.eml"))
            assert files == pending, files
            rows.append({"benchmark": f"deliver {pending:,} (file channel, .eml)", "count": pending,
                         "seconds": round(seconds, 2), "per_second": _rate(pending, seconds),
                         "target": f">= {DELIVER_TARGET:,}/s",
                         # on a shared, loaded machine the wall clock waits for others: per CPU second too
                         "per_cpu_second": _rate(pending, cpu)})
        finally:
            app.close()
    return rows


if __name__ == "__main__":  # pragma: no cover - `python -m benchmarks outbox` is the usual way
    for row in run(quick=True):
        print(row)
