"""Private by default: what the commands write is readable by its owner only (umask honoured).

A workspace is created and used as a company would for a month and a half — an order invoiced,
the reminders of the invoice left unpaid (an e-mail, then the formal notice by letter), the
outbox delivered, the reports, PDFs, Factur-X and exports written — under a umask of 022 (the
usual one) and of 077; every file and folder the commands made is then checked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core.testing import CrmRunner, Workspace

FIRST_DAY, REMINDED, NOTICED = "2026-09-01", "2026-10-20", "2026-11-10"


@pytest.fixture(params=[0o022, 0o077], ids=["umask-022", "umask-077"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def _run(folder: Path, today: str, *argv: str, expect: int = 0):
    runner = CrmRunner(Workspace(folder, "", "sqlite"), None)
    return runner("--today", today, *argv, expect=expect)


def _company_day(folder: Path) -> None:
    """Init, a customer's order invoiced and left unpaid, two reminder runs, every output written."""
    init = CrmRunner(Workspace(folder.parent, "", "sqlite"), None)
    init("--today", FIRST_DAY, "init", str(folder), "--name", "ACME SAS", "--siren", "732829320",
         "--vat-number", "FR44732829320", "--legal-form", "SAS", "--street", "12 rue des Lilas", "--postal-code",
         "69003", "--city", "Lyon", "--rcs-city", "Lyon", "--share-capital", "10000")  # what an invoice names
    run = lambda *argv, today=FIRST_DAY: _run(folder, today, *argv)  # noqa: E731
    run("user", "add", "alice", "Alice Martin", "--email", "alice@acme.fr", "--role", "sales")
    run("user", "add", "carla", "Carla Roux", "--email", "carla@acme.fr", "--role", "collections")
    run("partner", "add", "Dupont SA", "--siren", "552100554", "--email", "compta@dupont.fr",
        "--street", "1 rue de la Paix", "--postal-code", "75002", "--city", "Paris", "--salesperson", "alice")
    run("product", "add", "WID-1", "Widget", "--price", "12.50")
    run("stock", "adjust", "WID-1", "10", "--reason", "opening stock")
    run("order", "create", "--customer", "Dupont SA", "--line", "WID-1:3", "--confirm")
    for day in (REMINDED, NOTICED):
        run("jobs", "run", today=day)
        run("notifications", "deliver", today=day)
    os.chdir(folder)
    run("invoice", "pdf", "1", "-o", "pdfs/", today=NOTICED)
    run("invoice", "facturx", "1", "-o", "pdfs/", today=NOTICED)
    run("documents", "print", "billing.invoice", "1", "-o", "printed/copies/", "--jobs", "1", today=NOTICED)
    run("report", "period", "--from", FIRST_DAY, "--to", NOTICED, "--html", "period.html", today=NOTICED)
    run("plan", "--period", "2027-Q1", "--html", "plan.html", today=NOTICED)
    run("funnel", "report", "--html", "funnel.html", today=NOTICED)
    run("export", "partners", "-o", "exports/", today=NOTICED)
    run("config", "set", "billing.dso_days", "60", today=NOTICED)


def test_every_file_and_folder_the_commands_make_is_private(tmp_path, umask, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    folder = tmp_path / "acme"
    _company_day(folder)
    made = {path.relative_to(folder).as_posix(): stat.S_IMODE(path.stat().st_mode)
            for path in [folder, *folder.rglob("*")]}
    # what the day should have produced, so a silently skipped step cannot pass the test
    names = set(made)
    assert {".", "crm.toml", "crm.db", "outbox", "letters", "pdfs", "printed", "printed/copies", "exports",
            "period.html", "plan.html", "funnel.html", "exports/partners.csv"} <= names
    assert any(name.startswith("outbox/") and name.endswith(".eml") for name in names)
    assert any(name.startswith("letters/") and name.endswith(".pdf") for name in names)
    assert any(name.startswith("pdfs/") and name.endswith("-facturx.pdf") for name in names)
    assert any(name.startswith("printed/copies/") and name.endswith(".pdf") for name in names)
    wrong = {name: oct(mode) for name, mode in made.items()
             if mode != ((0o700 if (folder / name).is_dir() else 0o600) & ~umask)}
    assert wrong == {}


def test_the_database_journal_files_are_private_while_in_use(tmp_path, umask, monkeypatch):
    """SQLite gives its -wal and -shm files the database file's mode: the database is made 0600 first."""
    from sqlalchemy import text

    from core.app import App
    from core.config import load_config

    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    CrmRunner(Workspace(tmp_path, "", "sqlite"), None)("init", str(tmp_path / "ws"), "--modules", "")
    app = App(load_config(tmp_path / "ws" / "crm.toml"))
    try:
        with app.engine.connect() as connection:
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            connection.commit()
            journal = {name: stat.S_IMODE((tmp_path / "ws" / name).stat().st_mode)
                       for name in ("crm.db", "crm.db-wal", "crm.db-shm")}
    finally:
        app.close()
    assert journal == {"crm.db": 0o600, "crm.db-wal": 0o600, "crm.db-shm": 0o600}


def test_a_file_replaced_keeps_the_mode_its_owner_gave_it(tmp_path, monkeypatch):
    from core.files import write_private

    target = tmp_path / "shared.html"
    write_private(target, b"one")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 & ~_current_umask()
    os.chmod(target, 0o640)
    write_private(target, b"two")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["shared.html"]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_demo_workspace_is_private(tmp_path, umask, monkeypatch):
    """The demo writes its CSV imports, bank statements, database, outbox and reports: all private."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    CrmRunner(Workspace(tmp_path, "", "sqlite"), None)("demo", str(tmp_path / "demo"), "--days", "3", "--json")
    folder = tmp_path / "demo"
    made = {path.relative_to(folder).as_posix(): stat.S_IMODE(path.stat().st_mode)
            for path in [folder, *folder.rglob("*")]}
    assert {"crm.toml", "crm.db", "imports", "reports", "reports/period.html"} <= set(made)
    wrong = {name: oct(mode) for name, mode in made.items()
             if mode != ((0o700 if (folder / name).is_dir() else 0o600) & ~umask)}
    assert wrong == {}
