"""A camt.053 statement of 100,000 entries imported and matched, on SQLite or PostgreSQL (issue 15).

20,000 customers with 100,000 posted invoices; the statement's entries: 60 % pay an invoice with
its RF creditor reference, 10 % pay part of one named in the remittance text, 5 % pay two
invoices named together, 10 % come from a customer's name only, 5 % from nobody we know
(unmatched), 5 % are identical twins of another line without a bank reference, 5 % are debits.
Target: the whole import (schema validation, parsing, storing the lines, matching in SQL,
settling in bulk) in at most 15 s; a second import of the same file writes nothing. ``cpu_s`` is
the process's own CPU time: on a shared, loaded machine the wall-clock ``seconds`` say more about
the neighbours than about the import.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

TODAY = dt.date(2026, 6, 30)
TIME_TARGET = 15.0


def _populate(app, invoices: int, customers: int) -> list[tuple[str, int, int]]:
    """Customers and posted invoices (``[(number, customer, total in cents)]``)."""
    from sqlalchemy import text

    rng = random.Random(15)
    now = "2026-06-01 00:00:00"
    rows = []
    with app.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO core_partner (name, kind, is_customer, is_supplier, country, active, created_at) "
            "VALUES (:name, 'company', TRUE, FALSE, 'FR', TRUE, :now)"),
            [{"name": f"Client {n:06d}", "now": now} for n in range(1, customers + 1)])
        batch = []
        for n in range(1, invoices + 1):
            total = rng.randint(1000, 500000)
            date = TODAY - dt.timedelta(days=rng.randint(20, 90))
            partner = (n % customers) + 1
            rows.append((f"F2026-{n:06d}", partner, total))
            batch.append({"number": rows[-1][0], "partner": partner, "date": date.isoformat(),
                          "due": (date + dt.timedelta(days=30)).isoformat(), "total": total,
                          "untaxed": total * 5 // 6, "tax": total - total * 5 // 6, "now": now})
            if len(batch) == 50_000 or n == invoices:
                connection.execute(text(
                    "INSERT INTO billing_invoice (number, kind, state, partner_id, invoice_date, posted_on, due_date, "
                    "final_due_date, currency, total_untaxed, total_tax, total, settled, residual, buyer_is_business, "
                    "operation_category, created_at) VALUES (:number, 'invoice', 'posted', :partner, :date, :date, "
                    ":due, :due, 'EUR', :untaxed, :tax, :total, 0, :total, TRUE, 'goods', :now)"), batch)
                batch = []
    return rows


def _statement(invoices: list, entries: int, customers: int) -> bytes:
    from plugins.billing.bank import rf_reference
    from plugins.billing.camt_writer import camt053

    rng = random.Random(53)
    unpaid = list(invoices)
    rng.shuffle(unpaid)
    lines = []
    day = (TODAY - dt.timedelta(days=3)).isoformat()
    while len(lines) < entries:
        draw = rng.random()
        number, partner, total = unpaid.pop()
        money = f"{Decimal(total) / 100:.2f}"
        line = {"date": day, "ref": f"BQ{len(lines):08d}", "iban": None}
        if draw < 0.60:
            line.update(amount=money, structured=rf_reference(number.replace("-", "")), name=f"CLIENT {partner:06d}")
        elif draw < 0.70:
            line.update(amount=f"{Decimal(total * 4 // 10) / 100:.2f}", text=f"ACOMPTE {number}")
        elif draw < 0.75:
            other, _, second = unpaid.pop()
            line.update(amount=f"{Decimal(total + second) / 100:.2f}", text=f"FACTURES {number} {other}")
        elif draw < 0.85:
            line.update(amount=money, name=f"Client {partner:06d}")
        elif draw < 0.90:
            line.update(amount=money, name=f"Inconnu {len(lines)}")
        elif draw < 0.95 and lines:
            twin = dict(lines[-1])
            twin.pop("ref", None)
            line = {**twin, "ref": None}
        else:
            line.update(amount=money, direction="debit", name="Fournisseur")
        lines.append(line)
    return camt053(lines, version="08", statement_id="BENCH-1")


def run(quick: bool = False) -> list[dict]:
    from core.app import App
    from core.config import load_config
    from benchmarks._db import init_workspace, settle
    from plugins.billing.services_bank import import_bank_file

    entries, invoices, customers = (2_000, 4_000, 500) if quick else (100_000, 130_000, 20_000)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        app = init_workspace(Path(folder) / "ws", name="Bench SAS", siren="732829320", vat_number="FR44732829320",
                             modules=["billing"])
        try:
            made = _populate(app, invoices, customers)
            path = Path(folder) / "releve.xml"
            path.write_bytes(_statement(made, entries, customers))
            size = path.stat().st_size
            settle(app.engine)
        finally:
            app.close()
        app = App(load_config(Path(folder) / "ws" / "crm.toml"), today=TODAY)
        try:
            start, cpu = time.perf_counter(), time.process_time()
            first = import_bank_file(app, path)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            start = time.perf_counter()
            second = import_bank_file(app, path)
            again = time.perf_counter() - start
        finally:
            app.close()
    label = f"{entries:,} entries, {invoices:,} invoices, {customers:,} customers"
    rows.append({"benchmark": f"camt.053 import and match ({label})", "seconds": round(seconds, 2),
                 "cpu_s": round(cpu, 2), "target_s": TIME_TARGET, "payments": first.payments, "unmatched": first.unmatched,
                 "debits": first.debits, "write_offs": first.write_offs, "file_mb": round(size / 1e6, 1)})
    rows.append({"benchmark": "the same statement again (nothing new)", "seconds": round(again, 2),
                 "payments": second.payments})
    if second.payments or first.payments + first.unmatched + first.debits != entries:
        raise AssertionError(f"first {first.as_dict()}, second {second.as_dict()}")
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
