"""Procurement's sections of the period report and of the plan, on a small month replayed day by day.

Two suppliers, seven products; every figure below is computed by hand from the story in
``november`` (amounts excl. VAT, line by line rounded to the cent). The plan's pipeline demand
comes from a tiny installed module answering the kernel's ``expected_demand`` hook, and once from
the funnel itself.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import textwrap

import pytest

from core.testing import CrmRunner

pytestmark = pytest.mark.modules("procurement")

D = dt.date


@pytest.fixture
def app_today():
    return D(2026, 12, 7)  # a Monday, a week after the month reported


def on(crm, day: dt.date) -> CrmRunner:
    """The CLI as an operator runs it on ``day`` (``crm --today DAY ...``)."""
    return CrmRunner(crm.workspace, day)


@pytest.fixture
def november(crm):
    """The story. PO numbers follow the drafts' ids: PO2026-000001 ... 000004."""
    setup = on(crm, D(2026, 10, 26))
    setup("partner", "add", "Grossiste SA", "--supplier", "--no-customer", "--email", "orders@grossiste.fr")
    setup("partner", "add", "Atelier Bois SARL", "--supplier", "--no-customer", "--email", "commandes@bois.fr")
    setup("partner", "add", "Client SARL")
    for sku, name in [("A", "Chaise"), ("B", "Table"), ("C", "Vis"), ("D", "Planche"), ("E", "Colle"),
                      ("F", "Vernis"), ("G", "Tabouret")]:
        setup("product", "add", sku, name, "--price", "40")
    for sku, supplier, price, extra in [("A", "Grossiste SA", "2.00", ["--lead-time", "5", "--preferred"]),
                                        ("B", "Atelier Bois SARL", "5.50", ["--lead-time", "10"]),
                                        ("C", "Atelier Bois SARL", "1.25", ["--lead-time", "3"]),
                                        ("D", "Atelier Bois SARL", "10.00", ["--lead-time", "10"]),
                                        ("F", "Atelier Bois SARL", "4.00", ["--lead-time", "7"]),
                                        ("G", "Grossiste SA", "3.00", ["--lead-time", "30", "--minimum", "10"])]:
        setup("supplier", "price", "add", "--supplier", supplier, "--sku", sku, "--price", price, *extra)
    for sku, quantity in [("A", "30"), ("B", "3"), ("C", "100"), ("E", "2"), ("F", "1")]:
        setup("stock", "adjust", sku, quantity, "--reason", "inventory")
    for sku, rule in [("A", ("10", "50", "1")), ("B", ("5", "20", "4")), ("C", ("40", "100", "10")),
                      ("E", ("5", "10", "1"))]:  # E has no supplier at all
        setup("reorder", "rule", "add", sku, "--min", rule[0], "--max", rule[1], "--multiple", rule[2])
    # 30 Oct: B 3 < 5 -> 20 − 3 = 17, four packs of 4 = 20 at 5.50 (PO 1, sent the same day: before the month)
    on(crm, D(2026, 10, 30))("reorder", "run")
    on(crm, D(2026, 10, 30))("po", "confirm", "PO2026-000001")
    # 2 Nov: 25 chairs sold -> A 30 − 25 = 5 < 10 -> 50 − 5 = 45 at 2.00 = 90.00 (PO 2, sent 3 Nov, due 7 Nov)
    on(crm, D(2026, 11, 2))("order", "create", "--customer", "Client SARL", "--line", "A:25", "--confirm")
    on(crm, D(2026, 11, 3))("po", "confirm", "PO2026-000002")
    on(crm, D(2026, 11, 12))("po", "receive", "PO2026-000002", "--line", "A:30")  # 60.00 received
    on(crm, D(2026, 11, 16))("po", "receive", "PO2026-000001", "--line", "B:8")  # 44.00 received
    # 18 Nov: 70 screws broken -> C 30 < 40 -> 70 at 1.25 = 87.50 (PO 3, sent 24 Nov, due 21 Nov)
    on(crm, D(2026, 11, 18))("stock", "adjust", "C", "-70", "--reason", "breakage")
    on(crm, D(2026, 11, 24))("po", "confirm", "PO2026-000003")
    # December, after the month: a draft for D (6 at 10.00), the rest of B arrives, F gets a rule
    on(crm, D(2026, 12, 1))("reorder", "rule", "add", "D", "--min", "2", "--max", "6")
    on(crm, D(2026, 12, 1))("reorder", "run")
    on(crm, D(2026, 12, 2))("po", "receive", "PO2026-000001")
    on(crm, D(2026, 12, 5))("reorder", "rule", "add", "F", "--min", "10", "--max", "20")  # 1 on hand: short by 9
    return crm


def _report(crm, *extra):
    return crm("report", "period", "--from", "2026-11-01", "--to", "2026-11-30", *extra)


def test_the_month_of_purchases_in_the_period_report(november, tmp_path):
    section = _report(november, "--json").json["sections"]["procurement"]
    assert section["as_of"] == "2026-12-07"
    grossiste, bois = ({k: v for k, v in row.items() if k != "supplier_id"}
                       for row in section["confirmed"]["per_supplier"])
    # PO 1 was sent on 30 October: not in November's purchases
    assert (section["confirmed"]["count"], section["confirmed"]["untaxed"]) == (2, "177.50")
    assert grossiste == {"supplier": "Grossiste SA", "count": 1, "untaxed": "90.00"}
    assert bois == {"supplier": "Atelier Bois SARL", "count": 1, "untaxed": "87.50"}
    # receipts dated in the period only (the rest of PO 1 came on 2 December)
    received = section["received"]
    assert (received["receipts"], received["quantity"], received["amount"]) == (2, "38.000", "104.00")
    assert [(r["supplier"], r["receipts"], r["quantity"], r["amount"]) for r in received["per_supplier"]] == [
        ("Grossiste SA", 1, "30.000", "60.00"), ("Atelier Bois SARL", 1, "8.000", "44.00")]
    # open today: PO 2 partial (15 × 2.00 due since 7 Nov), PO 3 (due 21 Nov), PO 4 draft (6 × 10.00)
    assert section["open"] == {"count": 3, "remaining": "177.50", "late": 2, "per_state": {
        "draft": {"count": 1, "remaining": "60.00", "late": 0},
        "confirmed": {"count": 1, "remaining": "87.50", "late": 1},
        "partial": {"count": 1, "remaining": "30.00", "late": 1}}}
    below = section["below_minimum"]
    assert below["count"] == 2
    assert [(p["sku"], p["forecast"], p["minimum"], p["shortfall"]) for p in below["products"]] == [
        ("F", "1.000", "10.000", "9.000"), ("E", "2.000", "5.000", "3.000")]  # worst first
    charts = section["charts"]
    assert charts["below_minimum"]["kind"] == "bars"
    assert [(p["label"], p["value"]) for p in charts["below_minimum"]["points"]] == [("F", "9.000"), ("E", "3.000")]
    weekly = charts["purchases_per_week"]
    assert (weekly["kind"], weekly["unit"]) == ("columns", "money")
    assert [(p["label"], p["value"]) for p in weekly["points"]] == [  # one point per week touched, Monday 26 Oct on
        ("W44", "0.00"), ("W45", "90.00"), ("W46", "0.00"), ("W47", "0.00"), ("W48", "87.50"), ("W49", "0.00")]

    # the same figures in the terminal and on the page, in French and in English
    lines = [line.strip() for line in _report(november).stdout.splitlines()]
    assert "Purchases and stock" in lines
    assert "purchase orders sent  2, 177.50 EUR" in lines
    assert "goods received        2 receipts, 104.00 EUR" in lines
    assert "open purchase orders  3, 177.50 EUR due, 2 late" in lines
    page = tmp_path / "report.html"
    _report(november, "--html", str(page))
    french = page.read_text(encoding="utf-8")
    assert "<h2>Achats et stock</h2>" in french and "Commandes fournisseurs envoyées par semaine (HT)" in french
    assert "177,50\xa0€" in french and "reçue en partie" in french and french.count("<svg") == 2
    _report(november, "--html", str(page), "--locale", "en_GB")
    english = page.read_text(encoding="utf-8")
    assert "<h2>Purchases and stock</h2>" in english and "€177.50" in english and "Stock below minimum" in english


def test_the_plan_without_a_pipeline_shows_what_the_reorder_rules_need(november):
    section = november("plan", "--period", "2027-Q1", "--json").json["sections"]["procurement"]
    assert section["demand_products"] == 0
    [bois] = section["suppliers"]
    # F: forecast 1 < 10 today -> 20 − 1 = 19 at 4.00, needed now; 7 days of lead time: due by 30 Nov, late
    assert (bois["supplier"], bois["amount"], bois["late"], bois["order_by"]) == (
        "Atelier Bois SARL", "76.00", 1, "2026-11-30")
    [line] = bois["lines"]
    assert {k: line[k] for k in ("sku", "forecast", "demand", "quantity", "unit_price", "amount", "needed_on",
                                 "order_by", "late")} == {
        "sku": "F", "forecast": "1.000", "demand": "0.000", "quantity": "19.000", "unit_price": "4.0000",
        "amount": "76.00", "needed_on": "2026-12-07", "order_by": "2026-11-30", "late": True}
    # E has a rule but no supplier: listed apart, without an amount
    assert [(l["sku"], l["quantity"]) for l in section["without_supplier"]] == [("E", "8.000")]
    assert (section["amount"], section["lines"], section["late"]) == ("76.00", 1, 1)


DEMAND_MODULE = '''
from decimal import Decimal
import datetime as dt

from sqlalchemy import select

from core.hookspecs import hookimpl
from core.models import Product

# (sku, weighted quantity, expected on); the last one is after the quarter: the section ignores it
DEMAND = [("A", "20", dt.date(2027, 1, 10)), ("A", "25", dt.date(2027, 2, 15)), ("G", "7.5", dt.date(2027, 1, 5)),
          ("A", "99", dt.date(2027, 4, 2))]


@hookimpl
def expected_demand(app, session, start, end):
    ids = dict(session.execute(select(Product.sku, Product.id)).all())
    return [{"product_id": ids[sku], "quantity": Decimal(quantity), "expected_on": day, "probability": Decimal(50)}
            for sku, quantity, day in DEMAND]
'''


@pytest.fixture
def pipeline(tmp_path, monkeypatch, november):
    """An installed module ``procdemand`` (a package and its dist-info) that answers ``expected_demand``."""
    site = tmp_path / "site"
    package = site / "procdemand"
    package.mkdir(parents=True)
    manifest = {"name": "procdemand", "version": "1.0.0", "summary": "a pipeline for the plan", "depends": [],
                "migrations": None}
    (package / "__init__.py").write_text(f"MANIFEST = {manifest!r}\n" + textwrap.dedent(DEMAND_MODULE))
    info = site / "procdemand-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: procdemand\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text("[entonnoir.plugins]\nprocdemand = procdemand\n")
    monkeypatch.syspath_prepend(str(site))
    november("modules", "enable", "procdemand")
    yield november
    sys.modules.pop("procdemand", None)
    importlib.invalidate_caches()


def test_the_plan_buys_for_the_weighted_pipeline_per_supplier(pipeline, tmp_path):
    section = pipeline("plan", "--period", "2027-Q1", "--json").json["sections"]["procurement"]
    assert section["demand_products"] == 2
    bois, grossiste = section["suppliers"]  # the most urgent supplier first
    assert [l["sku"] for l in bois["lines"]] == ["F"]
    # G: no rule, nothing in stock, 7.5 expected on 5 Jan -> 7.5 missing, raised to the supplier's minimum 10;
    #    30 days of lead time: order by 6 Dec 2026, a day ago -> late
    # A: forecast 60 + 15 − 25 = 50; 20 on 10 Jan leaves 30, 25 on 15 Feb leaves 5 < 10: needed 15 Feb;
    #    50 − 5 = 45 at 2.00; 5 days of lead time: order by 10 Feb
    assert [{k: l[k] for k in ("sku", "forecast", "demand", "projected", "quantity", "amount", "needed_on",
                               "order_by", "late")} for l in grossiste["lines"]] == [
        {"sku": "G", "forecast": "0.000", "demand": "7.500", "projected": "-7.500", "quantity": "10.000",
         "amount": "30.00", "needed_on": "2027-01-05", "order_by": "2026-12-06", "late": True},
        {"sku": "A", "forecast": "50.000", "demand": "45.000", "projected": "5.000", "quantity": "45.000",
         "amount": "90.00", "needed_on": "2027-02-15", "order_by": "2027-02-10", "late": False}]
    assert (grossiste["supplier"], grossiste["amount"], grossiste["late"], grossiste["order_by"]) == (
        "Grossiste SA", "120.00", 1, "2026-12-06")
    assert (section["amount"], section["lines"], section["late"]) == ("196.00", 3, 2)
    assert [(p["label"], p["value"]) for p in section["charts"]["per_supplier"]["points"]] == [
        ("Atelier Bois SARL", "76.00"), ("Grossiste SA", "120.00")]
    lines = [line.strip() for line in pipeline("plan", "--period", "2027-Q1").stdout.splitlines()]
    assert "to order          3 products from 2 suppliers, 196.00 EUR" in lines
    assert "late to order     2 products" in lines
    assert "without supplier  E" in lines

    page = tmp_path / "plan.html"
    pipeline("plan", "--period", "2027-Q1", "--html", str(page))
    french = page.read_text(encoding="utf-8")
    assert "<h2>Achats à prévoir</h2>" in french and "120,00\xa0€" in french and "06/12/2026" in french
    assert "À acheter, mais sans fournisseur" in french
    pipeline("plan", "--period", "2027-Q1", "--html", str(page), "--locale", "en_GB")
    english = page.read_text(encoding="utf-8")
    assert "<h2>Purchases to plan</h2>" in english and "€120.00" in english and "Needed, but no supplier" in english


@pytest.mark.modules("funnel", "procurement")
def test_the_funnel_pipeline_feeds_the_plan(crm):
    """The real answer to ``expected_demand``: an open deal's product lines weighted by its probability."""
    crm("user", "add", "anne", "Anne Vendeuse")
    crm("partner", "add", "Client SARL")
    crm("partner", "add", "Grossiste SA", "--supplier", "--no-customer")
    crm("product", "add", "A", "Chaise", "--price", "40")
    crm("supplier", "price", "add", "--supplier", "Grossiste SA", "--sku", "A", "--price", "2", "--lead-time", "5")
    crm("deal", "add", "Chaises école", "--customer", "Client SARL", "--probability", "40",
        "--expected-close", "2027-02-10", "--owner", "anne", "--user", "anne")
    crm("deal", "line", "1", "A", "50")
    section = crm("plan", "--period", "2027-Q1", "--json").json["sections"]["procurement"]
    [grossiste] = section["suppliers"]
    # 50 × 40 % = 20 expected on 10 Feb, nothing in stock: 20 at 2.00, to order by 5 Feb (5 days)
    assert [(l["sku"], l["demand"], l["quantity"], l["amount"], l["needed_on"], l["order_by"], l["late"])
            for l in grossiste["lines"]] == [("A", "20.000", "20.000", "40.00", "2027-02-10", "2027-02-05", False)]
    assert crm("plan", "--period", "2027-Q2", "--json").json["sections"]["procurement"]["suppliers"] == []


def test_no_procurement_section_without_the_module(crm):
    crm("modules", "disable", "procurement")
    assert "procurement" not in _report(crm, "--json").json["sections"]
    assert "procurement" not in crm("plan", "--period", "2027-Q1", "--json").json["sections"]
