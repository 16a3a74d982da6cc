"""`crm demo`: the whole story runs to the end, the same seed gives the same company and story,
and a company with billing alone gets its part of it."""

from __future__ import annotations

import json
import sqlite3

import pytest

from core.testing import CrmRunner, Workspace

DAYS = 20
#: Business dates are DATE columns; DATETIME columns are stamps of the wall clock (created_at,
#: recorded_at, sent_at...), and a job run's worker names the process: they differ between runs.
PROCESS_COLUMNS = {"worker"}


def run_demo(folder, *args):
    """`crm demo FOLDER --json ...` in-process: exit code and the summary."""
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    result = crm("demo", str(folder), "--days", str(DAYS), "--json", *args, expect=None)
    assert result.exit_code == 0, result
    return result.json


def dump(database) -> dict:
    """Every table's rows, without the wall-clock columns and the frequent jobs' runs
    (their slot is a wall-clock minute, so how many there are depends on how fast the demo ran)."""
    connection = sqlite3.connect(database)
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    content = {}
    for table in tables:
        if table == "core_audit":  # the trail keeps wall-clock stamps and every frequent job's run
            continue
        kept = [name for _, name, kind, *_ in connection.execute(f'PRAGMA table_info("{table}")')
                if "DATETIME" not in kind.upper() and "TIMESTAMP" not in kind.upper() and name not in PROCESS_COLUMNS]
        names = ", ".join(f'"{name}"' for name in kept)
        rows = connection.execute(f'SELECT {names} FROM "{table}"').fetchall()
        if table == "core_job_run":
            rows = [r for r in rows if "T" not in str(r[kept.index("slot")])]
            rows = [tuple(v for c, v in zip(kept, r) if c != "id") for r in rows]
        content[table] = sorted(rows, key=repr)
    connection.close()
    return content


def comparable(summary: dict) -> dict:
    return json.loads(json.dumps(summary).replace(summary["workspace"], "WORKSPACE"))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "entonnoir-demo"
    return folder, run_demo(folder)


def test_the_story_runs_to_the_end(full_run):
    folder, summary = full_run
    assert summary["problems"] == []
    assert summary["days"] == DAYS and summary["to"] == "2026-09-20"
    funnel = summary["funnel"]
    assert funnel["leads"] > 10 and funnel["converted"] > 0 and funnel["deals_won"] > 0
    assert summary["orders"]["count"] >= funnel["deals_won"]
    assert summary["billing"]["invoices"] == summary["orders"]["count"]   # one invoice per confirmed order
    assert summary["notifications"]["eml_files"] > 0
    assert (folder / "reports" / "funnel.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype")
    aging = json.loads((folder / "reports" / "aging.json").read_text(encoding="utf-8"))
    assert aging["totals"]["total"] == summary["billing"]["open_receivables"]


def test_same_seed_same_summary_and_database(full_run, tmp_path):
    folder, summary = full_run
    again = run_demo(tmp_path / "again")
    assert comparable(again) == comparable(summary)
    assert dump(tmp_path / "again" / "crm.db") == dump(folder / "crm.db")


def test_billing_alone(tmp_path, capsys):
    summary = run_demo(tmp_path / "billing", "--modules", "billing", "--seed", "7")
    assert summary["problems"] == []
    assert summary["modules"] == ["billing"]
    assert "funnel" not in summary and "procurement" not in summary
    assert summary["orders"]["count"] > 0 and summary["billing"]["invoices"] == summary["orders"]["count"]
    assert "aging_json" in summary["reports"] and "funnel_html" not in summary["reports"]
    # the closing hints name the accountant's commands, and they run on the demo's books
    from core.cli.demo import render_summary

    render_summary(summary)
    hint = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("The books: "))
    assert f"crm export fec --from {summary['from']} --to {summary['to']}" in hint
    crm = CrmRunner(Workspace(folder=tmp_path / "billing", database_url="", backend="sqlite"), today=None)
    for command in hint.removeprefix("The books: ").split(", "):
        crm("--config", str(tmp_path / "billing" / "crm.toml"), *command.split()[1:], "--json",
            *(["-o", str(tmp_path)] if "fec" in command else []))


def test_a_folder_in_use_is_refused(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    crm = CrmRunner(Workspace(folder=tmp_path, database_url="", backend="sqlite"), today=None)
    result = crm("demo", str(tmp_path / "busy"), "--days", "1", expect=1)
    assert "not empty" in result.stderr


@pytest.mark.parametrize("command", ["order list", "invoice list", "deal list", "lead list", "partner list"])
def test_a_list_reads_its_rows_in_a_few_statements_however_many(full_run, command):
    """Each list reads its rows and what they show (customer, owner, order...) in a handful of
    statements: one more row never means one more query (the short demo's lists hold 9 rows and more;
    two read who runs the command)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    folder, _ = full_run
    crm = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), today=None)
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(Engine, "after_cursor_execute", seen)
    try:
        rows = crm("--config", str(folder / "crm.toml"), *command.split(), "--json").json
    finally:
        event.remove(Engine, "after_cursor_execute", seen)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(rows) >= 9 and len(selects) <= 5, (len(rows), selects)
