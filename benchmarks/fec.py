"""The FEC of a year of 1,000,000 invoices and their payments, on SQLite or PostgreSQL (issue 17).

20,000 customers, two products (goods at 20 %, a service at 5.5 %: two revenue and VAT accounts),
1,000,000 posted invoices of one line spread over 2026, each paid by one payment allocated to it.
``crm export fec --from 2026-01-01 --to 2026-12-31`` runs in its own process so that its peak
memory (``peak_mb``, the child's own high-water mark) is the export's alone. Targets: at most 20 s and under
500 MB. The data is written in SQL (a recursive CTE on SQLite, generate_series on PostgreSQL), not
through the services: the benchmark is the export. ``cpu_s`` is the child's CPU time: on a shared,
loaded machine the wall-clock ``seconds`` say more about the neighbours than about the export.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

TIME_TARGET = 20.0
MEMORY_TARGET = 500.0


#: the SQL that differs between the databases: a series of numbers, a day of 2026, a number padded
SQL = {
    "sqlite": {"series": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) ",
               "from": "FROM n", "day": "date('2026-01-01', '+' || ({days}) || ' days')",
               "padded": "substr('0000000' || i, -7)", "plus20": "date(invoice_date, '+20 days')", "now": ":now"},
    "postgresql": {"series": "", "from": "FROM generate_series(1, CAST(:count AS integer)) AS n(i)",
                   "day": "DATE '2026-01-01' + ({days})", "padded": "lpad(CAST(i AS text), 7, '0')",
                   "plus20": "invoice_date + 20", "now": "CAST(:now AS timestamp)"},
}


def _populate(app, invoices: int, customers: int) -> None:
    from sqlalchemy import text

    from benchmarks._db import settle

    now = "2026-01-01 00:00:00"
    with app.engine.begin() as connection:
        sql = SQL[connection.dialect.name]
        series, numbers, plus20 = sql["series"], sql["from"], sql["plus20"]
        day = sql["day"].format(days="(i - 1) * 365 / :count")
        run = connection.exec_driver_sql
        connection.execute(text(series + (
            "INSERT INTO core_partner (name, kind, is_customer, is_supplier, country, active, created_at) "
            f"SELECT 'Client ' || i, 'company', TRUE, FALSE, 'FR', TRUE, {sql['now']} {numbers}")),
            {"count": customers, "now": now})
        run("INSERT INTO core_product (sku, name, unit, list_price, vat_rate, stockable, kind, active, created_at) "
            "VALUES ('G', 'Marchandise', 'unit', 1000000, 2000, TRUE, 'goods', TRUE, '2026-01-01'), "
            "('S', 'Prestation', 'hour', 1000000, 550, FALSE, 'service', TRUE, '2026-01-01')")
        # invoice i: dated day (i * 365 / count) of 2026, untaxed 10.00 to 5,009.99, one line
        connection.execute(text(series + (
            "INSERT INTO billing_invoice (id, number, kind, state, partner_id, invoice_date, posted_on, due_date, "
            "final_due_date, currency, total_untaxed, total_tax, total, settled, residual, buyer_is_business, "
            "operation_category, tax_regime, created_at) "
            f"SELECT i, 'F2026-' || {sql['padded']}, 'invoice', 'paid', 1 + i % :customers, {day}, {day}, "
            "'2026-01-31', '2026-01-31', 'EUR', 1000 + i % 500000, "
            "CASE WHEN i % 3 = 0 THEN ((1000 + i % 500000) * 550 + 5000) / 10000 "
            "ELSE ((1000 + i % 500000) * 2000 + 5000) / 10000 END, 0, 0, 0, TRUE, 'goods', 'domestic', "
            f"{sql['now']} {numbers}")),
            {"count": invoices, "customers": customers, "now": now})
        run("UPDATE billing_invoice SET total = total_untaxed + total_tax, settled = total_untaxed + total_tax")
        connection.execute(text(
            "INSERT INTO billing_invoice_line (invoice_id, sequence, product_id, description, quantity, unit_price, "
            "discount, vat_rate, vat_category, subtotal) "
            "SELECT id, 1, CASE WHEN id % 3 = 0 THEN 2 ELSE 1 END, 'Ligne', 1000, total_untaxed * 100, 0, "
            "CASE WHEN id % 3 = 0 THEN 550 ELSE 2000 END, 'S', total_untaxed FROM billing_invoice"))
        connection.execute(text(
            "INSERT INTO billing_payment (id, partner_id, payment_date, amount, method, unallocated, created_at) "
            f"SELECT id, partner_id, {plus20}, total, 'transfer', 0, {sql['now']} FROM billing_invoice "
            f"WHERE {plus20} <= '2026-12-31'"), {"now": now})
        run("INSERT INTO billing_allocation (invoice_id, payment_id, amount, allocated_on) "
            "SELECT id, id, amount, payment_date FROM billing_payment")
    settle(app.engine)


def run(quick: bool = False) -> list[dict]:
    from benchmarks._db import init_workspace, measured_crm

    invoices, customers = (5_000, 500) if quick else (1_000_000, 20_000)
    with tempfile.TemporaryDirectory() as folder:
        app = init_workspace(Path(folder) / "ws", name="Bench SAS", siren="732829320", vat_number="FR44732829320",
                             modules=["billing"])
        try:
            _populate(app, invoices, customers)
        finally:
            app.close()
        output = Path(folder) / "out"
        output.mkdir()
        seconds, peak, cpu, out = measured_crm(Path(folder) / "ws" / "crm.toml", "export", "fec", "--from",
                                               "2026-01-01", "--to", "2026-12-31", "-o", str(output), "--json")
        import json

        totals = json.loads(out)
        written = Path(totals["file"])
        size = written.stat().st_size
        if totals["debit"] != totals["credit"] or written.name != "732829320FEC20261231.txt":
            raise AssertionError(totals)
    return [{"benchmark": f"FEC of {invoices:,} invoices and their payments", "seconds": round(seconds, 2),
             "cpu_s": round(cpu, 2), "target_s": TIME_TARGET, "peak_mb": round(peak, 1),
             "target_mb": MEMORY_TARGET, "entries": totals["entries"], "lines": totals["lines"],
             "file_mb": round(size / 1e6, 1)}]


if __name__ == "__main__":  # pragma: no cover
    for row in run(quick="--quick" in sys.argv):
        print(row)
