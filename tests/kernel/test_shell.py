"""`crm shell`: a clerk's morning typed at one prompt — the same commands without `crm`, each its
own transaction with its own rights check and audit record, errors that leave the shell running,
`--today` kept between commands, and completion of commands, options and records."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from core.cli.context import State
from core.cli.shell import Shell
from core.testing import CrmRunner


def shell(workspace, lines: list[str], *options: str) -> subprocess.CompletedProcess:
    """A real `crm shell` process fed ``lines`` on its standard input."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    return subprocess.run([sys.executable, "-m", "core.cli.main", "--config", str(workspace.config_path), "shell",
                           *options], input="\n".join(lines) + "\n", capture_output=True, text=True, env=env,
                          timeout=300)


def json_documents(text: str) -> list:
    """The JSON documents printed one after another (each command's --json output)."""
    decoder, found, index = json.JSONDecoder(), [], 0
    while index < len(text):
        start = min((i for i in (text.find("{", index), text.find("[", index)) if i >= 0), default=-1)
        if start < 0:
            break
        value, index = decoder.raw_decode(text, start)
        found.append(value)
    return found


@pytest.mark.modules("billing")
def test_a_morning_at_the_prompt(workspace):
    crm = CrmRunner(workspace, today=None)
    crm("user", "add", "bob", "Bob Vendeur", "--role", "sales")
    result = shell(workspace, [
        'partner add "Durand SARL" --siren 552100554',         # writes: its own transaction and audit record
        "partner add Bad --siren 552100555",                    # refused: one line, nothing written
        "nosuch",                                               # a usage error does not end the shell
        'partner show "Nobody"',
        "--as bob user add carol Carol --role sales",           # the door checks every line, for its actor
        "crm partner list --json",                              # a `crm` typed by habit is accepted
        "whoami --json",
        "today 2026-12-01",
        "whoami --json",
        "--today 2026-12-05 whoami --json",                     # for that line only
        "whoami --json",
        "exit",
        "partner add NeverRun",
    ], "--today", "2026-11-29")
    assert result.returncode == 0, result.stderr
    errors = result.stderr.strip().splitlines()
    assert errors[0].startswith("error: partner 'Bad': siren: invalid SIREN")
    assert "No such command 'nosuch'" in result.stderr
    assert any(line.startswith("error: partner Nobody") or "Nobody" in line for line in errors)
    assert any("bob" in line and "lacks the right" in line for line in errors)
    assert "Traceback" not in result.stderr
    partners, *days = json_documents(result.stdout)
    assert [p["name"] for p in partners] == ["Durand SARL"]
    assert [(d["today"], d["today_from"]) for d in days] == [
        ("2026-11-29", "--today"), ("2026-12-01", "--today"), ("2026-12-05", "--today"), ("2026-12-01", "--today")]
    assert [p["name"] for p in crm("partner", "list", "--json").json] == ["Durand SARL"]
    assert [u["login"] for u in crm("user", "list", "--json").json if u["login"] == "carol"] == []
    commands = [row for row in crm("audit", "--json").json if row["record_type"] == "command"]
    added = [row for row in commands if row["record"] == "partner add"]
    assert [(row["command"], row["business_date"]) for row in added] == [
        ("crm partner add Durand SARL --siren 552100554", "2026-11-29")]
    assert [row["record"] for row in commands].count("user add") == 1   # bob's own creation, not carol's


@pytest.mark.modules("billing")
def test_a_changed_config_is_read_again(workspace):
    crm = CrmRunner(workspace, today=None)
    result = shell(workspace, ["modules list --json", "modules enable procurement", "stock list --json",
                               "modules disable procurement", "stock list"])
    assert result.returncode == 0, result.stderr
    modules, stock = json_documents(result.stdout)
    assert {m["name"]: m["state"] for m in modules}["procurement"] != "enabled"
    assert stock == []                                      # enabled in the shell: its commands are there
    assert result.stderr.strip().splitlines()[-1].endswith("No such command 'stock'.")  # and gone again
    assert {m["name"]: m["state"] for m in crm("modules", "list", "--json").json}["procurement"] != "enabled"


@pytest.mark.modules("billing")
def test_completion_of_commands_options_and_records(workspace, monkeypatch):
    crm = CrmRunner(workspace, today=dt.date(2026, 11, 2))
    crm("partner", "add", "Durand SARL", "--siren", "552100554", "--street", "1 rue Haute", "--postal-code",
        "69001", "--city", "Lyon")
    crm("partner", "add", "Dupont SA")
    crm("product", "add", "LAMP-1", "Lampe", "--price", "10")
    order = crm("order", "create", "--customer", "Durand SARL", "--line", "LAMP-1:2", "--json").json
    crm("order", "confirm", order["number"])
    number = crm("invoice", "list", "--json").json[0]["number"]
    monkeypatch.chdir(workspace.folder)
    prompt = Shell(State(config_path=str(workspace.config_path), today_text="2026-11-02"))
    assert prompt.complete("", "inv") == ["invoice"]
    assert prompt.complete("", "to") == ["today", "token"]
    assert "list" in prompt.complete("invoice", "") and "show" in prompt.complete("invoice", "")
    assert prompt.complete("invoice list", "--ove") == ["--overdue"]
    assert prompt.complete("invoice show", number[:3].lower()) == [number]
    assert prompt.complete("partner show", "du") == ["'Dupont SA'", "'Durand SARL'"]
    assert prompt.complete("product show", "L") == ["LAMP-1"]
    assert "deal" not in prompt.complete("", "d")   # the funnel is not enabled: not offered


@pytest.mark.modules("billing")
def test_at_a_terminal_tab_completes_and_history_is_kept_in_the_workspace(workspace):
    """A real terminal (a pseudo-terminal): readline completes `partner sh<TAB> Dur<TAB>`, and the
    lines typed are in the workspace's .crm_history (owner-only) for the next session."""
    import pty
    import select

    CrmRunner(workspace, today=None)("partner", "add", "Durand SARL")
    main, secondary = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CRM_")}, "TERM": "dumb"}
    process = subprocess.Popen([sys.executable, "-m", "core.cli.main", "--config", str(workspace.config_path),
                                "shell"], stdin=secondary, stdout=secondary, stderr=secondary, env=env,
                               cwd=workspace.folder)
    os.close(secondary)
    output = b""

    def read_until(marker: bytes) -> None:
        nonlocal output
        while marker not in output:
            ready, _, _ = select.select([main], [], [], 60)
            assert ready, output.decode(errors="replace")
            output += os.read(main, 65536)

    read_until(b"crm> ")
    os.write(main, b"partner sh\t")
    read_until(b"partner show ")
    os.write(main, b"Dur\t")
    read_until(b"'Durand SARL'")
    os.write(main, b"--json\n")
    read_until(b'"name": "Durand SARL"')
    os.write(main, b"exit\n")
    assert process.wait(timeout=60) == 0
    os.close(main)
    history = workspace.folder / ".crm_history"
    assert "partner show 'Durand SARL' --json" in history.read_text().splitlines()
    assert history.stat().st_mode & 0o077 == 0


@pytest.mark.modules("billing")
def test_the_app_of_each_command_of_a_warm_process_is_freed_when_it_ends(workspace):
    """``crm shell`` and the demo make an app (engine, sessions, caches) per command in one process:
    once the command is over nothing may keep it. Before, each app's session listeners (the audit
    trail's, the record rules') held it in SQLAlchemy's registry of Session listeners for good: the
    365-day demo grew to 1.5 GB, and each command ran the listeners of all the commands before it."""
    import gc
    import weakref

    from core.services.partners import create_partner, list_partners

    freed = []
    for n in range(3):
        app = workspace.app()
        with app.transaction() as session:  # a query, a flush and a transaction: every listener runs
            create_partner(app, session, {"name": f"Client {n}"})
            assert len(list_partners(session)) == n + 1
        freed.append((weakref.ref(app), weakref.ref(app.engine)))
        app.close()
        del app, session
    gc.collect()
    assert [(app(), engine()) for app, engine in freed] == [(None, None)] * 3
