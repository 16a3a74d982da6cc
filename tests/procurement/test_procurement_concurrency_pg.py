"""PostgreSQL, real processes: sales of the same products confirmed side by side while reorder
sweeps run end with a ledger that agrees and no need ordered twice (the per-product lock)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

WORKER = Path(__file__).with_name("stock_worker.py")
PRODUCTS = ("P1", "P2", "P3")
MINIMUM, MAXIMUM = Decimal(10), Decimal(50)
ORDERS = 60
SALE = 3


def _prepare(folder: Path, url: str):
    from core.testing import make_workspace

    workspace = make_workspace(folder, url, ["procurement"])
    with workspace.config_path.open("a", encoding="utf-8") as handle:
        handle.write("\n[procurement]\nallow_negative = true\n")
    app = workspace.app()
    from core.services.orders import create_order
    from core.services.catalog import create_product
    from core.services.partners import create_partner
    from core.services.people import create_user
    from plugins.procurement.services_rules import set_rule
    from plugins.procurement.services_stock import adjust_stock
    from plugins.procurement.services_suppliers import set_price

    numbers = []
    with app.transaction() as session:
        create_user(session, {"login": "buyer", "name": "Buyer", "email": "buyer@shop.fr", "role": "purchasing"})
        customer = create_partner(app, session, {"name": "Client", "email": "c@client.fr"})
        create_partner(app, session, {"name": "Supplier", "email": "s@supplier.fr", "is_customer": False,
                                      "is_supplier": True})
        for sku in PRODUCTS:
            create_product(session, {"sku": sku, "name": sku, "list_price": "10"})
            set_price(app, session, {"sku": sku, "supplier": "Supplier", "price": "4", "minimum_quantity": "1"})
            set_rule(app, session, {"sku": sku, "minimum": str(MINIMUM), "maximum": str(MAXIMUM), "multiple": "1"})
            # 5 on hand, below the minimum and not yet ordered: the sweeps and the first sales race for it
            adjust_stock(app, session, {"sku": sku, "quantity": "5", "reason": "initial count"})
        from sqlalchemy import text

        session.execute(text("DELETE FROM procurement_purchase_order_line"))
        session.execute(text("DELETE FROM procurement_purchase_order"))
        session.execute(text("UPDATE procurement_stock_level SET incoming = 0"))
        for n in range(ORDERS):
            # two products per order, in varying line order: the hook must lock them in id order
            skus = [PRODUCTS[n % 3], PRODUCTS[(n + 1) % 3]][:: 1 if n % 2 else -1]
            order = create_order(app, session, {"customer": str(customer.id),
                                                "lines": [{"sku": s, "quantity": str(SALE)} for s in skus]})
            numbers.append(order.number)
    return workspace, app, numbers


def _wait(predicate, what: str, processes, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        dead = [p for p in processes if p.poll() is not None]
        if dead:
            raise AssertionError(f"a worker exited before {what}: {dead[0].communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_concurrent_sales_and_sweeps_never_order_a_need_twice(tmp_path, pg_database_url):
    from sqlalchemy import text

    workspace, app, numbers = _prepare(tmp_path / "ws", pg_database_url)
    go = tmp_path / "go"
    go.mkdir()
    jobs = [("confirm", numbers[i::3]) for i in range(3)] + [("reorder", ["6"]), ("reorder", ["6"])]
    processes = [subprocess.Popen([sys.executable, str(WORKER), str(workspace.config_path), str(go), f"w{i}", mode,
                                   *items], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i, (mode, items) in enumerate(jobs)]
    try:
        _wait(lambda: len(list(go.glob("*.ready"))) == len(processes), "every worker to be ready", processes)
        (go / "go").touch()
        outputs = [p.communicate(timeout=120) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [p.returncode for p in processes] == [0] * len(processes), outputs
    reports = [json.loads(out) for out, _ in outputs]
    assert [r["errors"] for r in reports] == [[]] * len(processes)
    assert sum(r["done"] for r in reports[:3]) == ORDERS

    from plugins.procurement.services_stock import check_levels, stock_rows

    with app.transaction() as session:
        assert check_levels(session) == []
        rows = {r["sku"]: r for r in stock_rows(session)}
        lines = session.execute(text(
            "SELECT p.sku, l.quantity, l.forecast_quantity FROM procurement_purchase_order_line l "
            "JOIN core_product p ON p.id = l.product_id ORDER BY l.id")).all()
        drafts = session.execute(text("SELECT COUNT(*) FROM procurement_purchase_order")).scalar()
    sold = {sku: Decimal(SALE * ORDERS * 2 // 3) for sku in PRODUCTS}
    for sku in PRODUCTS:
        row = rows[sku]
        assert Decimal(row["reserved"]) == sold[sku]
        # every need brings the forecast to the maximum exactly (multiple 1); sales only lower it:
        # a need ordered twice would leave it far above the maximum
        assert MINIMUM <= Decimal(row["forecast"]) <= MAXIMUM, row
        # every need joined the product's one line on the draft; the line records the last raise
        (ordered,) = [(Decimal(q) / 1000, Decimal(f) / 1000) for s, q, f in lines if s == sku]
        quantity, seen = ordered
        assert seen < MINIMUM, ordered
        assert quantity == Decimal(row["incoming"])
        assert Decimal(5) + quantity - sold[sku] == Decimal(row["forecast"])
    assert drafts == 1  # one supplier, one open draft, however many processes raced to create it
    app.close()
