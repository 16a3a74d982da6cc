"""Supplier bills on SQLite or PostgreSQL: 10,000 Factur-X PDFs imported and matched (issue 20: at most 60 s).

The data: 100 suppliers known by SIREN, 10,000 received purchase orders of two lines each; each
bill is a real Factur-X PDF (a one-page PDF with its EN 16931 CII embedded by the factur-x
package) billing one order's two lines, built before the clock starts. Timed: ``crm bill import``'s
service over all files, 500 files per transaction (a day's inbox in a few commands): reading the
PDF, extracting and checking the XML (XSD), finding the supplier, refusing duplicates, the
three-way match and the writes. CPU time and the load average are shown beside the wall clock
(the machine is shared).

A second row imports 1,000 more bills (their own orders) with ``[procurement] bills_schematron``
on: the EN 16931 Schematron (Saxon, compiled once) on each, the cost of turning it on.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60.0
BATCH = 500
#: bills imported with the Schematron on, after the timed 10,000
WITH_SCHEMATRON = 1_000


def _siren(n: int) -> str:
    """A valid SIREN (Luhn) built from ``n``."""
    base = f"{700000000 + n * 10:09d}"[:8]
    for last in range(10):
        digits = [int(c) for c in base + str(last)]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return base + str(last)
    raise AssertionError(n)


def _seed(app, bills: int, suppliers: int) -> list[str]:
    from sqlalchemy import text

    now = dt.datetime(2026, 11, 28, 8, 0)
    sirens = [_siren(n) for n in range(1, suppliers + 1)]
    with app.engine.begin() as connection:
        connection.execute(text("INSERT INTO core_partner (id, name, kind, is_customer, is_supplier, email, country, "
                                "active, siren, created_at) VALUES (:id, :name, 'company', false, true, :email, 'FR', "
                                "true, :siren, :now)"),
                           [{"id": 1000 + n, "name": f"Supplier {n}", "email": f"s{n}@supplier.fr",
                             "siren": sirens[n - 1], "now": now} for n in range(1, suppliers + 1)])
        connection.execute(text("INSERT INTO core_product (id, sku, name, unit, list_price, vat_rate, stockable, "
                                "active, created_at) VALUES (:id, :sku, :sku, 'unit', 100000, 2000, true, true, :now)"),
                           [{"id": n, "sku": f"P{n:04d}", "now": now} for n in range(1, 201)])
        connection.execute(text("INSERT INTO procurement_purchase_order (id, number, supplier_id, state, order_date, "
                                "confirmed_at, received_at, created_at) VALUES (:id, :number, :supplier, 'received', "
                                "'2026-11-01', '2026-11-01', '2026-11-10', :now)"),
                           [{"id": k, "number": f"PO2026-{k:06d}", "supplier": 1000 + k % suppliers + 1, "now": now}
                            for k in range(1, bills + 1)])
        connection.execute(text("INSERT INTO procurement_purchase_order_line (order_id, product_id, quantity, "
                                "received_quantity, unit_price, raised_on, trigger, summarised) VALUES (:order, "
                                ":product, 10000, 10000, 20000, '2026-11-01', 'bench', true)"),
                           [{"order": k, "product": (k * 2 + side) % 200 + 1} for k in range(1, bills + 1)
                            for side in (0, 1)])
    return sirens


def _files(folder: Path, orders: range, sirens: list[str]) -> list[Path]:
    """One Factur-X PDF per order number in ``orders``, billing that order's two lines."""
    import facturx

    sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "procurement"))
    from bills_support import SELLER, blank_pdf, cii

    pdf = blank_pdf()
    paths = []
    for k in orders:
        siren = sirens[k % len(sirens)]
        vat = f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"  # the French VAT key of the SIREN
        seller = dict(SELLER, siren=siren, vat=vat, name=f"Supplier {k % len(sirens) + 1}")
        xml = cii(f"INV-{k}", [(f"P{(k * 2) % 200 + 1:04d}", "10", "2.00"), (f"P{(k * 2 + 1) % 200 + 1:04d}", "10",
                                                                               "2.00")], seller=seller)
        path = folder / f"bill-{k}.pdf"
        path.write_bytes(facturx.generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=False))
        paths.append(path)
    return paths


def _import(app, paths: list[Path]) -> tuple[float, float]:
    """Wall and CPU seconds to import ``paths``, ``BATCH`` files per transaction."""
    from plugins.procurement.bills import import_bills

    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(paths), BATCH):
        with app.transaction() as session:
            import_bills(app, session, paths[start:start + BATCH])
    return time.perf_counter() - wall, time.process_time() - cpu


def _row(case: str, count: int, wall: float, cpu: float, target: str, ok: bool) -> dict:
    return {"case": case, "seconds": f"{wall:.1f}", "cpu": f"{cpu:.1f}", "per_second": f"{count / wall:,.0f}",
            "ms_cpu_per_bill": f"{cpu / count * 1000:.2f}", "load": f"{os.getloadavg()[0]:.1f}", "target": target,
            "ok": ok}


def run(quick: bool = False) -> list[dict]:
    from sqlalchemy import func, select

    from benchmarks._db import init_workspace, settle
    from plugins.procurement.models_bills import SupplierBill

    bills = 300 if quick else 10_000
    checked = 30 if quick else WITH_SCHEMATRON
    with tempfile.TemporaryDirectory() as folder:
        app = init_workspace(Path(folder) / "ws", name="Bench SAS", modules=["procurement"],
                             today=dt.date(2026, 12, 12))
        try:
            sirens = _seed(app, bills + checked, 100)
            settle(app.engine)
            inbox = Path(folder) / "inbox"
            inbox.mkdir()
            paths = _files(inbox, range(1, bills + 1), sirens)
            more = _files(inbox, range(bills + 1, bills + checked + 1), sirens)
            wall, cpu = _import(app, paths)
            with app.transaction() as session:
                approved = session.scalar(select(func.count()).where(SupplierBill.state == "approved"))
            rows = [_row(f"import and match {bills:,} Factur-X bills", bills, wall, cpu,
                         f"<= {TARGET_SECONDS:.0f} s" if not quick else "", wall <= TARGET_SECONDS or quick)]
            app.config.sections.setdefault("procurement", {})["bills_schematron"] = True
            wall, cpu = _import(app, more)
            with app.transaction() as session:
                approved_more = session.scalar(select(func.count()).where(SupplierBill.state == "approved")) - approved
            rows.append(_row(f"{checked:,} more with the EN 16931 Schematron", checked, wall, cpu, "", True))
        finally:
            app.close()
    assert approved == bills, f"{approved} of {bills} bills approved"
    assert approved_more == checked, f"{approved_more} of {checked} bills approved with the Schematron"
    return rows
