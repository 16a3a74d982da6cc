"""The worked example of docs/plugins.md, installed with pip and driven through ``crm`` over a few days.

The module is ``examples/commissions`` (distribution ``entonnoir-commissions``): it depends on
billing and cooperates with it only through billing's hooks (``payment_recorded``,
``invoice_posted``). As in test_third_party_plugin.py (helpers in installed_plugin.py), pip
installs it into a temporary folder, never into the project's environment, and every ``crm``
command is a subprocess with that folder on ``PYTHONPATH``, so the kernel finds the module
through its entry point only. Each test runs on
SQLite, and on PostgreSQL too when ``CRM_TEST_DATABASE_URL`` is set (``database_url``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from installed_plugin import Crm, pip_install

PACKAGE = "entonnoir_commissions"
TODAY = "2026-11-02"
REFUSED = "error: module 'commissions' depends on 'billing', which is not enabled"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """``(site, source)``: the distribution pip installed, and the copy of the source it was built from."""
    site, source = pip_install("commissions", tmp_path_factory.mktemp("commissions_install"))
    for shipped in ("__init__.py", "templates/commissions/report.html", "templates/i18n/fr.po",
                    "migrations/versions/commissions_0001_plans_and_ledger.py"):
        assert (site / PACKAGE / shipped).is_file(), f"{shipped} is not in the wheel"
    return site, source


#: what an invoice needs to name its seller (posting is refused without it)
IDENTITY = ["--legal-form", "SAS", "--siren", "732829320", "--vat-number", "FR44732829320", "--street", "24 rue de la Paix",
            "--postal-code", "75002", "--city", "Paris", "--rcs-city", "Paris", "--share-capital", "120000"]


def address(siren: str) -> list[str]:
    """A customer's address and SIREN, which its invoices name."""
    return ["--street", "1 rue du Port", "--postal-code", "44000", "--city", "Nantes", "--siren", siren]


@pytest.fixture
def crm(installed, database_url, tmp_path) -> Crm:
    """A fresh workspace with no module enabled, on the backend of ``database_url``."""
    site, _ = installed
    Crm(site, tmp_path, TODAY)("init", "ws", "--modules", "", "--name", "Lumière & Cie SAS", *IDENTITY,
                               "--database-url", database_url)
    return Crm(site, tmp_path / "ws", TODAY)


def commission_tables(database_url: str) -> list[str]:
    from sqlalchemy import inspect

    from core.db import make_engine

    engine = make_engine(database_url)
    try:
        return sorted(name for name in inspect(engine).get_table_names() if name.startswith("commissions_"))
    finally:
        engine.dispose()


def test_commissions_cannot_run_without_billing(crm, database_url):
    listing = crm("modules", "list", "--json", trace_imports=True)
    row = next(row for row in listing.json if row["name"] == "commissions")
    assert (row["state"], row["depends"], row["distribution"], row["problem"]) == (
        "disabled", ["billing"], "entonnoir-commissions", None)
    assert PACKAGE not in listing.imported  # the manifest is read from the source, not imported

    # Turned on by hand in crm.toml without billing: every command is refused, naming the dependency.
    config = crm.cwd / "crm.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("enabled = []", 'enabled = ["commissions"]'), encoding="utf-8")
    for command in (("partner", "list"), ("commissions", "statement", "--period", "2026-11")):
        assert crm(*command, expect=1).stderr.strip() == REFUSED
    assert commission_tables(database_url) == []
    config.write_text(text, encoding="utf-8")

    # `crm modules enable` resolves the dependency: billing comes first, in the same step.
    assert crm("modules", "enable", "commissions").stdout.strip() == "enabled: billing, commissions"
    assert commission_tables(database_url) == ["commissions_entry", "commissions_plan", "commissions_tier"]
    refused = crm("modules", "disable", "billing", expect=1)
    assert refused.stderr.strip() == "error: cannot disable 'billing': commissions depends on it (disable it first)"


def statement(crm: Crm, period: str) -> tuple[dict[str, list[tuple]], dict[str, tuple]]:
    """``crm commissions statement --json`` as (lines per login, totals per login and ``"all"``)."""
    data = crm("commissions", "statement", "--period", period, "--json").json
    lines = {p["login"]: [(l["date"], l["kind"], l["invoice"], l["payment_date"] or l["credit_note"], l["collected"],
                           l["base"], l["rate"], l["commission"]) for l in p["lines"]] for p in data["salespeople"]}
    totals = {p["login"]: (p["collected"], p["base"], p["accrued"], p["reversed"], p["total"])
              for p in data["salespeople"]}
    return lines, totals | {"all": data["total"]}


def test_a_month_of_commissions_replayed_day_by_day(crm, installed, database_url):
    # --- 2 November: the sales department is set up; Alice and Bob each confirm an order ---------
    crm("modules", "enable", "commissions")
    crm("user", "add", "alice", "Alice Martin", "--email", "alice@lumiere.fr")
    crm("user", "add", "bob", "Bob Durand", "--email", "bob@lumiere.fr")
    crm("team", "add", "North", "--member", "alice")
    crm("team", "add", "South", "--member", "bob")
    crm("commissions", "plan", "add", "--team", "North", "--rate", "5", "--tier", "10000:7", "--from", "2026-11-01")
    crm("commissions", "plan", "add", "--team", "South", "--rate", "4", "--from", "2026-11-01")
    crm("commissions", "plan", "add", "--salesperson", "bob", "--rate", "3", "--from", "2026-11-01")
    plans = crm("commissions", "plan", "list", "--json").json
    assert [(p["salesperson"], p["team"], p["rate"], p["tiers"]) for p in plans] == [
        ("bob", None, "3.00", []), (None, "North", "5.00", [{"threshold": "10000.00", "rate": "7.00"}]),
        (None, "South", "4.00", [])]
    crm("partner", "add", "Dupont SA", "--salesperson", "alice", *address("314238452"))
    crm("partner", "add", "Martin SARL", "--salesperson", "bob", *address("314317645"))
    crm("product", "add", "WID-1", "Widget", "--price", "1000", "--vat-rate", "20")  # 1,200.00 incl. VAT
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:5", "--confirm")    # F2026-000001 6,000.00
    crm("order", "create", "--customer", "Martin SARL", "--line", "WID-1:3", "--confirm")  # F2026-000002 3,600.00
    assert statement(crm, "2026-11") == ({}, {"all": "0.00"})  # invoicing earns nothing: commission is on money collected

    # --- 5 November: a third order; Dupont pays half of its first invoice, Martin pays in full ----
    crm.today = "2026-11-05"
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:7", "--confirm")    # F2026-000003 8,400.00
    crm("payment", "add", "--amount", "3000", "--invoice", "F2026-000001")
    # Alice (team North's plan): 3,000.00 x 5,000/6,000 = 2,500.00 untaxed, at 5 % = 125.00
    crm("payment", "add", "--amount", "3600", "--invoice", "F2026-000002")
    # Bob's own 3 % plan wins over team South's 4 %: 3,000.00 untaxed x 3 % = 90.00

    # --- 12 November: Dupont pays the rest of F1 and all of F3: Alice crosses her 10,000 tier ------
    crm.today = "2026-11-12"
    crm("payment", "add", "--amount", "3000", "--invoice", "F2026-000001")
    # 2,500.00 untaxed, Alice at 5,000.00 for November, still 5 % = 125.00
    crm("payment", "add", "--amount", "8400", "--invoice", "F2026-000003")
    # 7,000.00 untaxed takes her from 5,000.00 to 12,000.00: 5,000.00 x 5 % = 250.00 below the
    # threshold and 2,000.00 x 7 % = 140.00 above it (two ledger rows; the 8,400.00 received is
    # shared 6,000.00 / 2,400.00 between them)
    crm("order", "create", "--customer", "Martin SARL", "--line", "WID-1:2", "--confirm")  # F2026-000004 2,400.00

    # --- 20 November: half of F4 is paid; two credit notes -----------------------------------------
    crm.today = "2026-11-20"
    crm("payment", "add", "--amount", "1200", "--invoice", "F2026-000004")  # Bob: 1,000.00 x 3 % = 30.00
    note = crm("invoice", "credit", "F2026-000003", "--line", "1:2", "--reason", "two damaged", "--json").json
    assert (note["number"], note["total"]) == ("AV2026-000001", "2400.00")
    # F3 was paid in full, so all 2,400.00 credited is given back: 2,400 / 8,400 = 2/7 of what was
    # collected on it. Its commission, 250.00 + 140.00 = 390.00, loses 2/7: 111.428... -> 111.43;
    # base 7,000.00 x 2/7 = 2,000.00; collected 2,400.00
    crm("invoice", "credit", "F2026-000004", "--line", "1:1")  # AV2026-000002, 1,200.00
    # F4 still had 1,200.00 open: this credit note cancels the unpaid half and gives nothing back,
    # so Bob keeps his 30.00

    crm.today = "2026-11-30"
    lines, totals = statement(crm, "2026-11")
    assert lines == {
        "alice": [
            ("2026-11-05", "accrual", "F2026-000001", "2026-11-05", "3000.00", "2500.00", "5.00", "125.00"),
            ("2026-11-12", "accrual", "F2026-000001", "2026-11-12", "3000.00", "2500.00", "5.00", "125.00"),
            ("2026-11-12", "accrual", "F2026-000003", "2026-11-12", "6000.00", "5000.00", "5.00", "250.00"),
            ("2026-11-12", "accrual", "F2026-000003", "2026-11-12", "2400.00", "2000.00", "7.00", "140.00"),
            ("2026-11-20", "reversal", "F2026-000003", "AV2026-000001", "-2400.00", "-2000.00", None, "-111.43"),
        ],
        "bob": [
            ("2026-11-05", "accrual", "F2026-000002", "2026-11-05", "3600.00", "3000.00", "3.00", "90.00"),
            ("2026-11-20", "accrual", "F2026-000004", "2026-11-20", "1200.00", "1000.00", "3.00", "30.00"),
        ],
    }
    # Alice: 125 + 125 + 250 + 140 = 640.00 accrued, -111.43 reversed, 528.57; on 2,500 + 2,500 +
    # 7,000 - 2,000 = 10,000.00 untaxed (3,000 + 3,000 + 8,400 - 2,400 = 12,000.00 received net).
    # Bob: 90 + 30 = 120.00 on 3,000 + 1,000 = 4,000.00 untaxed (4,800.00 received).
    november = {"alice": ("12000.00", "10000.00", "640.00", "-111.43", "528.57"),
                "bob": ("4800.00", "4000.00", "120.00", "0.00", "120.00"), "all": "648.57"}
    assert totals == november
    only_bob = crm("commissions", "statement", "--period", "2026-11", "--salesperson", "bob").stdout
    assert "Bob Durand (bob)" in only_bob and "Alice" not in only_bob and "total 120.00" in only_bob

    # --- 1 December: a new month starts Alice's tier counter again ----------------------------------
    crm.today = "2026-12-01"
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:1", "--confirm")  # F2026-000005 1,200.00
    crm("payment", "add", "--amount", "1200", "--invoice", "F2026-000005")
    # 1,000.00 untaxed at 5 %, not 7 %: December's collections start from zero -> 50.00
    assert statement(crm, "2026-12")[0] == {
        "alice": [("2026-12-01", "accrual", "F2026-000005", "2026-12-01", "1200.00", "1000.00", "5.00", "50.00")]}
    assert statement(crm, "2026-11")[1] == november  # a closed month's statement does not move

    # --- the period report has the module's section -------------------------------------------------
    report = crm("report", "period", "--from", "2026-11-01", "--to", "2026-11-30", "--json").json
    section = report["sections"]["commissions"]
    assert section["totals"] == {"collected": "16800.00", "base": "14000.00", "accrued": "760.00",
                                 "reversed": "-111.43", "total": "648.57"}
    assert [(p["login"], p["total"]) for p in section["salespeople"]] == [("alice", "528.57"), ("bob", "120.00")]
    assert section["charts"]["by_salesperson"]["points"] == [{"label": "Alice Martin", "value": "528.57"},
                                                             {"label": "Bob Durand", "value": "120.00"}]
    north = crm("report", "period", "--from", "2026-11-01", "--to", "2026-11-30", "--team", "North").stdout
    block = north.split("\nCommissions\n", 1)[1].split("\n\n", 1)[0]
    assert "528.57 EUR (accrued 640.00 EUR, reversed -111.43 EUR)" in block
    assert "Alice Martin" in block and "Bob Durand" not in block
    page = crm.cwd / "report.html"
    crm("report", "period", "--from", "2026-11-01", "--to", "2026-11-30", "--html", str(page))
    html = page.read_text(encoding="utf-8")  # the company's locale, fr_FR: the module's fr.po is used
    assert 'id="commissions"' in html and "Commission par commercial" in html and "528,57\N{NO-BREAK SPACE}€" in html

    # --- statements e-mailed with their PDF, once ---------------------------------------------------
    assert crm("commissions", "statement", "--period", "2026-11", "--send").stdout.startswith("statements queued: 2\n")
    again = crm("commissions", "statement", "--period", "2026-11", "--send").stdout
    assert again.startswith("statements queued: 0 (2 already queued before)\n")
    queued = sorted(crm("notifications", "list", "--json").json, key=lambda n: n["id"])
    assert [(n["recipients"], n["subject"], n["attachments"]) for n in queued] == [
        (["alice@lumiere.fr"], "Commissions 2026-11", ["commissions.statement alice:2026-11"]),
        (["bob@lumiere.fr"], "Commissions 2026-11", ["commissions.statement bob:2026-11"])]
    mail = crm("notifications", "show", str(queued[0]["id"]), "--json").json["text"]  # worded in French
    assert mail.splitlines()[:4] == [
        "Bonjour Alice Martin,", "",
        "Votre relevé de commissions pour 2026-11 : 528,57\N{NO-BREAK SPACE}€, sur 10\N{NARROW NO-BREAK SPACE}000,00"
        "\N{NO-BREAK SPACE}€ encaissés hors TVA.",
        "Dont reprise sur avoirs : -111,43\N{NO-BREAK SPACE}€."]
    # the PDF the delivery attaches is the module's document, printable on its own too
    printed = crm("documents", "print", "commissions.statement", "alice:2026-11", "-o", "pdf", "--json").json
    [path] = [crm.cwd / p for p in printed["written"]]  # relative to the workspace, where crm ran
    assert path.name == "commissions-alice-2026-11.pdf" and path.read_bytes().startswith(b"%PDF")
    text = pdf_text(path.read_bytes())
    assert "Relevé de commissions" in text and "AV2026-000001" in text and "528,57" in text


def pdf_text(content: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_module_serves_its_own_endpoints(crm):
    """``register_routes``: the installed module's routes are served and documented beside the kernel's."""
    from core.api.testing import ApiServer

    crm("modules", "enable", "commissions")
    crm("user", "add", "alice", "Alice Martin")
    crm("commissions", "plan", "add", "--salesperson", "alice", "--rate", "5", "--from", "2026-11-01")
    server = ApiServer(crm.cwd / "crm.toml", crm, TODAY, env=crm.env, workers=1)
    try:
        admin = server.client()
        spec = admin.get("/openapi.json", expect=200).json
        assert {"/api/v1/commissions/plans", "/api/v1/commissions/statement", "/api/v1/invoices/"} <= set(spec["paths"])
        plans = admin.get("/api/v1/commissions/plans", expect=200).json
        assert [(p["salesperson"], p["rate"]) for p in plans] == [("alice", "5.00")]
        assert admin.get("/api/v1/commissions/statement?period=2026-11", expect=200).json["total"] == "0.00"
        assert admin.get("/api/v1/commissions/statement").status == 422  # the period is required
        assert admin.get("/api/v1/commissions/plans", token=None).status == 401
        crm("user", "add", "buyer", "Buyer", "--role", "purchasing")
        assert server.client("buyer").get("/api/v1/commissions/plans").status == 403  # no commissions.read
    finally:
        log = server.stop()
    assert "Traceback" not in log, log


def test_the_modules_own_tests_pass(installed):
    """examples/commissions/tests, run as its author would (``pytest`` in the package's folder)."""
    site, source = installed
    env = {key: value for key, value in os.environ.items() if key not in {"CRM_CONFIG", "CRM_DATABASE_URL", "CRM_TODAY"}}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=source, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    database_tests = 7 * (2 if os.environ.get("CRM_TEST_DATABASE_URL") else 1)
    assert f"{9 + database_tests} passed" in done.stdout
