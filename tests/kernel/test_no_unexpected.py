"""No "unexpected" error for anything a user can type.

Walks every command of the kernel and the three built-in modules (the click tree itself, so a new
command or option is walked without editing this), in a workspace with a little data, and feeds each
option and argument malformed values for its kind: dates out of range or impossible, numbers too
large, negative or not numbers, ids that do not exist or overflow, choices that are not offered,
paths that are folders or do not exist, text with control characters. Any output that says
"unexpected" or shows a traceback fails the test, naming the command line.
"""

from __future__ import annotations

import re

import click
import pytest

pytestmark = pytest.mark.modules("funnel", "billing", "procurement")

DATES = ["9999-12-31", "0001-01-01", "2026-02-30", "31/12/2026"]
NUMBERS = ["1e999", "-99999999999999999999999999", "NaN", "12,5,3"]
IDS = ["99999999999999999999999", "-1", "1e999", "x" * 300]
TEXT = ["line\r\nbreak\x1b[31m\u202e", "9999-12-31", "-99999999999999999999999999", "x" * 3000]
PERIODS = ["9999-Q4", "0000-01", "2026-Q9", "2026-13"]

DATE_NAMES = {"due", "due_date", "date", "start", "end", "from_", "to", "expected_close", "valid_from", "until",
              "since", "as_of", "payment_date", "order_date", "on", "close", "day", "promised", "today"}
NUMBER_NAMES = {"amount", "quantity", "price", "probability", "revenue", "minimum", "maximum", "multiple",
                "percent", "rate", "discount", "days", "value", "limit", "lead_time", "min_quantity", "count",
                "seed", "interval", "jobs", "number", "payment_id", "notification_id", "unit_price", "vat_rate",
                "list_price", "delay_days", "activities", "max_rounds", "discount_days", "discount_percent"}
PERIOD_NAMES = {"period", "period_text"}

#: values for the required parameters, so a command reaches the one under test
FILL = {
    "amount": "10", "code": "30J", "customer": "Dupont SA", "due_date": "2026-12-01", "start": "2026-01-01",
    "end": "2026-12-31", "expected_close": "2026-12-31", "keep": "1", "other": "2", "key": "billing.dso_days",
    "value": "30", "lines": "WID-1:1", "login": "walker", "maximum": "20", "minimum": "5", "name": "Walk",
    "notification_id": "1", "number": "1", "outcome": "done", "payment_id": "1", "period": "2026-Q4",
    "period_text": "2027-Q1", "price": "10", "probability": "50", "quantity": "1", "reason": "walk", "ref": "1",
    "refs": "1", "revenue": "1000", "sku": "WID-1", "stage": "Qualified", "stages": "Call,Demo",
    "subject": "Call", "supplier_ref": "Dupont SA", "valid_from": "2026-01-01",
}
#: what each command needs to stay short (one round, one process, one day)
EXTRA = {("jobs", "worker"): ["--max-rounds", "1", "--interval", "0.1"], ("documents", "print"): ["--jobs", "1"],
         ("demo",): ["--days", "1"]}
KIND_FILL = {("documents", "print"): "billing.invoice", ("import",): "partners"}
#: commands whose walk would take minutes for nothing (the demo replays days: only its own options)
ONLY = {("demo",): {"start", "days", "modules_text"}}


def _kind(param) -> str:
    name = param.name or ""
    if isinstance(param.type, click.Choice):
        return "choice"
    if isinstance(param.type, click.DateTime) or name in DATE_NAMES or name.endswith("_date"):
        return "date"
    if isinstance(param.type, click.Path):
        return "path"
    if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)) or name in NUMBER_NAMES:
        return "number"
    if name in PERIOD_NAMES:
        return "period"
    if name in FILL or name.endswith(("_id", "ref")) or name in {"customer", "supplier", "partner", "deal", "lead",
                                                                 "owner", "salesperson", "team", "code", "sku"}:
        return "id"
    return "text"


def _values(param, tmp_path) -> list[str]:
    kind = _kind(param)
    if kind == "choice":
        return ["nope"]
    if kind == "path":
        return ["/nonexistent/folder/file.csv", str(tmp_path), "/"]
    return {"date": DATES, "number": NUMBERS, "period": PERIODS, "id": IDS, "text": TEXT}[kind]


def _tree(workspace):
    from core.cli.context import State
    from core.cli.main import cli

    state = State(config_path=str(workspace.config_path))
    found = []

    def walk(group, path, ctx):
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                walk(command, path + (name,), click.Context(command, parent=ctx, obj=state))
            elif command is not None:
                found.append((path + (name,), command))

    walk(cli, (), click.Context(cli, obj=state))
    state.close()
    return found


def _base(path, command, tmp_path, skip) -> list[str]:
    """The command line that fills every required parameter but ``skip``."""
    argv = list(path)
    options, arguments = [], []
    for param in command.params:
        if param is skip or not (param.required or isinstance(param, click.Argument)):
            continue
        if isinstance(param.type, click.Choice):
            value = str(param.type.choices[0])
        elif isinstance(param.type, click.Path):
            value = str(tmp_path / "new-folder") if param.name == "folder" else str(tmp_path / "rows.csv")
        elif param.name == "kind":
            value = KIND_FILL.get(path, "partners")
        else:
            value = FILL.get(param.name, "1")
        if isinstance(param, click.Argument):
            arguments.append((param, value))
        else:
            options += [param.opts[0], value]
    return argv + options + EXTRA.get(path, []), arguments


def _line(path, command, param, value, tmp_path) -> list[str]:
    argv, arguments = _base(path, command, tmp_path, param)
    if isinstance(param, click.Argument):
        arguments.append((param, value))
        arguments.sort(key=lambda item: command.params.index(item[0]))
    else:
        argv += [param.opts[0], value]
    return argv + ["--"] + [value for _, value in arguments] if arguments else argv


def _seed(crm, tmp_path):
    crm("user", "add", "alice", "Alice Martin", "--email", "alice@acme.fr", "--role", "sales")
    crm("partner", "add", "Dupont SA", "--siren", "732829320", "--email", "compta@dupont.fr", "--supplier",
        "--salesperson", "alice", "--street", "1 rue de la Paix", "--postal-code", "75002", "--city", "Paris")
    crm("product", "add", "WID-1", "Widget", "--price", "12.50", "--vat-rate", "20")
    crm("stock", "adjust", "WID-1", "50", "--reason", "opening stock")
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:3", "--confirm")
    crm("lead", "add", "Walk lead", "--email", "walk@lead.fr")
    (tmp_path / "rows.csv").write_text("name,email\nWalker SA,walker@sa.fr\n", encoding="utf-8")


BAD = re.compile(r"unexpected|Traceback", re.IGNORECASE)


def test_no_command_answers_unexpected_to_malformed_input(crm, workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _seed(crm, tmp_path)
    commands = _tree(workspace)
    assert len(commands) > 100  # the three modules' commands are there
    failures, runs = [], 0
    for path, command in commands:
        only = ONLY.get(path)
        for param in command.params:
            if param.is_flag if isinstance(param, click.Option) else False:
                continue
            if only is not None and param.name not in only:
                continue
            for value in _values(param, tmp_path):
                argv = _line(path, command, param, value, tmp_path)
                result = crm(*argv, expect=None)
                runs += 1
                output = result.stdout + result.stderr
                if BAD.search(output):
                    failures.append(f"crm {' '.join(argv)!r}: {output.strip().splitlines()[-1][:300]}")
    assert runs > 500
    assert not failures, f"{len(failures)} unexpected errors:\n" + "\n".join(failures)


@pytest.mark.parametrize("value, message", [
    ("9999-12-31", "error: --today: 9999-12-31 is out of range (business dates run from 2000-01-01 to 2099-12-31)"),
    ("1999-12-31", "error: --today: 1999-12-31 is out of range (business dates run from 2000-01-01 to 2099-12-31)"),
    ("2026-02-30", "error: --today: '2026-02-30' is not a date (expected YYYY-MM-DD)"),
])
def test_today_out_of_range_is_one_line_naming_the_option(workspace, value, message):
    from core.testing import CrmRunner

    runner = CrmRunner(workspace, None)
    for argv in (["--today", value, "invoice", "list"], ["--today", value, "jobs", "run"],
                 ["--today", value, "partner", "list"]):
        result = runner(*argv, expect=1)
        assert result.stderr.strip() == message


UNSUPPORTED = ("unsupported database 'mysql': only sqlite (sqlite:///crm.db) and postgresql "
               "(postgresql://user@host/db) are supported")


def test_an_unsupported_database_is_one_line(workspace, tmp_path, monkeypatch):
    from core.testing import CrmRunner

    runner = CrmRunner(workspace, None)
    result = runner("init", str(tmp_path / "other"), "--database-url", "mysql://root:secret@db/crm", expect=1)
    assert result.stderr.strip() == f"error: --database-url: {UNSUPPORTED}"
    assert not (tmp_path / "other").exists()
    monkeypatch.setenv("CRM_DATABASE_URL", "mysql://root:secret@db/crm")
    result = runner("partner", "list", expect=1)
    assert result.stderr.strip() == f"error: $CRM_DATABASE_URL: {UNSUPPORTED}"
