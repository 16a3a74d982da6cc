"""Setting up and administering a workspace: init, modules, hooks, migrate, help and errors."""

from __future__ import annotations

import json
import sqlite3

import pytest

from core.testing import CrmRunner, Workspace


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def runner_in(folder, today=None) -> CrmRunner:
    """``crm --config FOLDER/crm.toml ...`` for a folder that may not be a workspace yet."""
    return CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    """A folder after a plain ``crm init`` (defaults: SQLite, the three built-in modules)."""
    folder = tmp_path_factory.mktemp("office")
    result = runner_in(folder)("init", str(folder), "--name", "Atelier Dupont", "--siren", "552100554")
    return folder, result


# --- crm init ----------------------------------------------------------------------------------

def test_init_writes_config_and_sqlite_database_with_defaults(initialised, monkeypatch):
    folder, result = initialised
    assert (folder / "crm.toml").is_file() and (folder / "crm.db").is_file()
    assert one_line(result.stdout).endswith("enabled: funnel, billing, procurement")
    text = (folder / "crm.toml").read_text()
    assert 'enabled = ["funnel", "billing", "procurement"]' in text
    # the identity is data in the database, not configuration
    assert 'url = "sqlite:///crm.db"' in text and "siren" not in text and "Atelier Dupont" not in text
    with sqlite3.connect(folder / "crm.db") as raw:
        assert raw.execute("SELECT name, siren FROM core_company").fetchall() == [("Atelier Dupont", "552100554")]
    with sqlite3.connect(folder / "crm.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"core_partner", "core_sales_order", "alembic_version"} <= tables
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    app = Workspace(folder=folder, database_url="", backend="sqlite").app()
    try:
        with app.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        app.close()


def test_init_twice_is_refused(initialised):
    folder, _ = initialised
    before = (folder / "crm.toml").read_text()
    result = runner_in(folder)("init", str(folder), expect=1)
    assert one_line(result.stderr) == f"error: {folder / 'crm.toml'} already exists: this folder is already a workspace"
    assert (folder / "crm.toml").read_text() == before


def test_init_with_a_bad_siren_writes_nothing(tmp_path):
    folder = tmp_path / "new"
    result = runner_in(folder)("init", str(folder), "--siren", "123", expect=1)
    assert one_line(result.stderr).startswith("error: company: siren: invalid SIREN '123'")
    assert not folder.exists()


def test_init_without_modules(tmp_path):
    runner = runner_in(tmp_path)
    assert one_line(runner("init", str(tmp_path), "--modules", "").stdout).endswith("enabled: none")
    assert [r["state"] for r in runner("modules", "list", "--json").json] == ["disabled"] * 3
    assert runner("partner", "list", "--json").json == []


# --- modules -----------------------------------------------------------------------------------

@pytest.mark.modules("funnel", "billing", "procurement")
def test_modules_list_shows_the_three_built_in_modules(crm):
    rows = crm("modules", "list", "--json").json
    assert [(r["name"], r["version"], r["state"]) for r in rows] == [
        ("billing", "0.1.0", "enabled"), ("funnel", "0.1.0", "enabled"), ("procurement", "0.1.0", "enabled")]
    assert all(r["problem"] is None and r["summary"] for r in rows)
    assert "procurement" in crm("modules", "list").stdout


@pytest.mark.modules("funnel", "billing", "procurement")
def test_disable_billing_keeps_the_config_comments(crm, workspace):
    before = workspace.config_path.read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert one_line(crm("modules", "disable", "billing").stdout) == "disabled: billing (its data is kept)"
    states = {r["name"]: r["state"] for r in crm("modules", "list", "--json").json}
    assert states == {"billing": "disabled", "funnel": "enabled", "procurement": "enabled"}
    after = workspace.config_path.read_text()
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == comments
    assert 'enabled = ["funnel", "procurement"]' in after
    assert one_line(crm("modules", "disable", "billing", expect=1).stderr) == "error: module 'billing' is not enabled"
    assert one_line(crm("modules", "enable", "billing").stdout) == "enabled: billing"
    assert one_line(crm("modules", "enable", "billing").stdout) == "module 'billing' is already enabled"


def test_enable_unknown_module_names_it(crm, workspace):
    before = workspace.config_path.read_text()
    result = crm("modules", "enable", "nope", expect=1)
    assert one_line(result.stderr).startswith("error: no module named 'nope' is installed")
    assert workspace.config_path.read_text() == before
    assert "'nope'" in one_line(crm("modules", "disable", "nope", expect=1).stderr)
    assert "'nope'" in one_line(crm("modules", "info", "nope", expect=1).stderr)


def test_enable_writes_the_config_and_leaves_nothing_pending(crm, workspace):
    assert one_line(crm("modules", "enable", "billing").stdout) == "enabled: billing"
    assert 'enabled = ["billing"]' in workspace.config_path.read_text()
    assert crm("modules", "info", "billing", "--json").json["state"] == "enabled"
    assert crm("migrate", "--check").stdout.strip() == "the database is up to date"


@pytest.mark.modules("billing")
def test_modules_info(crm):
    info = crm("modules", "info", "billing", "--json").json
    assert (info["name"], info["version"], info["state"], info["depends"], info["needed_by"]) == (
        "billing", "0.1.0", "enabled", [], [])
    assert isinstance(info["hooks"], list) and info["hooks"] == sorted(info["hooks"])
    assert {"summary", "distribution", "entry_point", "problem"} <= set(info)
    funnel = crm("modules", "info", "funnel", "--json").json
    assert (funnel["state"], funnel["hooks"]) == ("disabled", [])


# --- hooks, migrate ----------------------------------------------------------------------------

def test_hooks_lists_every_hook_with_its_implementers(crm):
    from core.hookref import spec_functions

    rows = crm("hooks", "--json").json
    assert [r["name"] for r in rows] == [f.__name__ for f in spec_functions()]
    by_name = {r["name"]: r for r in rows}
    assert "core" in by_name["register_data_kinds"]["implemented_by"]
    assert all(r["summary"] and isinstance(r["arguments"], list) for r in rows)
    assert set(rows[0]) == {"name", "arguments", "summary", "offered_by", "implemented_by"}


@pytest.mark.modules("billing")
def test_hooks_name_only_enabled_modules(crm):
    rows = crm("hooks", "--json").json
    assert not any({"funnel", "procurement"} & set(r["implemented_by"]) for r in rows)
    assert crm("hooks").stdout.count("register_data_kinds") == 1


def test_migrate_when_up_to_date(crm):
    assert one_line(crm("migrate").stdout) == "the database is up to date"
    assert crm("migrate", "--json").json == {"applied": []}
    assert one_line(crm("migrate", "--check").stdout) == "the database is up to date"
    assert crm("migrate", "--check", "--json").json == {"pending": [], "drift": []}


def test_migrate_check_reports_pending_revisions_and_migrate_applies_them(crm, app):
    from alembic import command
    from alembic.script import ScriptDirectory

    from core.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(app))
    kernel = [rev.revision for rev in script.iterate_revisions("core@head", "base")][::-1]
    assert kernel[0] == "core_0001"
    with app.engine.begin() as connection:  # as if the package had just been upgraded
        command.downgrade(alembic_config(app, connection), "core@base")
    result = crm("migrate", "--check", expect=1)
    assert one_line(result.stdout) == "pending: " + ", ".join(kernel)
    assert crm("migrate", "--check", "--json", expect=1).json == {"pending": kernel, "drift": []}
    assert one_line(crm("migrate").stdout) == "applied: " + ", ".join(kernel)
    assert one_line(crm("migrate", "--check").stdout) == "the database is up to date"
    assert crm("partner", "list", "--json").json == []


# --- help, usage and errors ------------------------------------------------------------------

def test_help_lists_kernel_commands(crm):
    out = crm("--help").stdout
    for command in ("init", "modules", "hooks", "migrate", "partner", "product", "user", "team", "order",
                    "import", "export"):
        assert f"  {command} " in out or f"  {command}\n" in out, command
    assert "Usage: crm" in out
    assert "create" in crm("order", "--help").stdout


def test_help_works_in_an_empty_folder(tmp_path):
    out = runner_in(tmp_path)("--help").stdout
    assert "partner" in out and "init" in out
    for command in (("documents", "print"), ("report", "period"), ("jobs", "run"), ("partner", "list")):
        for flag in ("--help", "-h"):
            shown = runner_in(tmp_path)(*command, flag).stdout
            assert shown.startswith(f"Usage: crm {' '.join(command)} [OPTIONS]"), (command, flag)
    assert "All or nothing" in runner_in(tmp_path)("documents", "print", "--help").stdout
    assert not (tmp_path / "crm.toml").exists()


def test_bad_today_is_a_one_line_error(workspace):
    runner = CrmRunner(workspace, None)
    result = runner("--today", "2026-13-01", "order", "list", expect=1)
    assert one_line(result.stderr) == "error: --today: '2026-13-01' is not a date (expected YYYY-MM-DD)"


def test_missing_config_suggests_crm_init(tmp_path):
    result = runner_in(tmp_path / "nowhere")("partner", "list", expect=1)
    line = one_line(result.stderr)
    assert line.startswith("error: no configuration at ") and "crm init" in line
    assert "Traceback" not in result.stderr


def test_broken_config_names_the_key(tmp_path):
    (tmp_path / "crm.toml").write_text('[company]\nsiren = "123"\n')
    line = one_line(runner_in(tmp_path)("partner", "list", expect=1).stderr)
    assert line.startswith("error: crm.toml: company.siren: invalid SIREN")


def test_errors_show_a_traceback_only_with_debug(crm):
    result = crm("order", "show", "42", expect=1)
    assert one_line(result.stderr) == "error: order 42: no such order"
    with pytest.raises(Exception) as raised:
        crm("--debug", "order", "show", "42")
    assert type(raised.value).__name__ == "NotFound"


def test_unexpected_errors_are_one_line_too(crm, app):
    # A database error (the kernel's tables dropped under its feet) is summarised, not dumped.
    with app.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE core_sales_order_line")
        connection.exec_driver_sql("DROP TABLE core_sales_order")
    line = one_line(crm("order", "list", expect=1).stderr)
    assert line.startswith("error: database: ") and line.endswith("(run with --debug for details)")


@pytest.mark.parametrize("args", [("frobnicate",), ("order", "list", "--state", "paid"), ("partner", "add"),
                                  ("user", "add", "bob", "Bob", "--role", "boss"), ("partner", "list", "--limit", "0")])
def test_usage_errors_exit_2(crm, args):
    result = crm(*args, expect=2)
    assert "Error" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.modules("billing", "funnel")
@pytest.mark.parametrize("group", ["partner", "order", "invoice", "payment", "lead", "deal"])
def test_every_list_takes_a_positive_limit(crm, group):
    """``--limit`` counts rows: 0 or a negative number is a usage error naming the option (``payment list
    --limit -5`` listed all but the last five)."""
    for bad in ("0", "-5"):
        refused = crm(group, "list", "--limit", bad, expect=2)
        assert "'--limit'" in refused.stderr and "Traceback" not in refused.stderr
    assert crm(group, "list", "--limit", "1", "--json").json == []


def test_config_from_environment(workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_CONFIG", str(workspace.config_path))
    monkeypatch.chdir(tmp_path)
    from click.testing import CliRunner

    from core.cli.main import main

    with CliRunner().isolation() as streams:
        main(["partner", "list", "--json"])
        assert json.loads(streams[0].getvalue().decode()) == []


def test_init_defaults_to_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner_in(tmp_path)("init", "--modules", "")
    assert (tmp_path / "crm.toml").is_file() and (tmp_path / "crm.db").is_file()


def test_global_options_may_follow_the_command(crm, workspace):
    """`crm jobs run --today D` works as `crm --today D jobs run` (the issue's own spelling)."""
    runner = CrmRunner(workspace, None)
    created = runner("partner", "add", "Dupont SA", "--json")
    assert created.json["name"] == "Dupont SA"
    runner("product", "add", "W", "Widget", "--price", "1")
    made = runner("order", "create", "--customer", "Dupont SA", "--line", "W:1", "--today", "2026-12-01", "--json")
    assert made.json["order_date"] == "2026-12-01"
    made = runner("order", "create", "--today=2026-12-02", "--customer", "Dupont SA", "--line", "W:1", "--json")
    assert made.json["order_date"] == "2026-12-02"
    missing = runner("order", "list", "--today", expect=2)
    assert "'--today' requires an argument" in missing.stderr
