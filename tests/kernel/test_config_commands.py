"""`crm config check|set`, and every command showing the real cause of a broken crm.toml."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.modules("funnel", "billing", "procurement")


def _append(workspace, text: str) -> None:
    with open(workspace.config_path, "a", encoding="utf-8") as handle:
        handle.write("\n" + text + "\n")


def test_check_lists_every_problem_and_exits_1(crm, workspace):
    assert crm("config", "check").stdout.strip().endswith("crm.toml: ok")
    _append(workspace, '[billing]\npost_on_confirn = false\ndso_days = "90"\n\n'
                       '[notifications]\nemail = "fax"\n\n[notifications.smtp]\npassword = "hunter2"\n\n'
                       '[procurement]\nallow_negative = "yes"\n[funnell]\nx = 1')
    result = crm("config", "check", expect=1)
    assert sorted(result.stderr.splitlines()) == sorted([
        "crm.toml: billing.post_on_confirn: unknown key (did you mean post_on_confirm?)",
        "crm.toml: billing.dso_days: must be a whole number, not text",
        "crm.toml: notifications.smtp.password: secrets do not belong in the config file: set $CRM_SMTP_PASSWORD instead",
        "crm.toml: notifications.email: no channel named 'fax' (available: file, letter, smtp, webhook)",
        "crm.toml: procurement.allow_negative: must be true or false",
        "crm.toml: [funnell]: unknown section (did you mean [funnel]?)",
    ])
    data = crm("config", "check", "--json", expect=1).json
    assert data["ok"] is False and len(data["problems"]) == 6
    # any other command stops at the first one (the kernel's sections are read first)
    failing = crm("invoice", "list", expect=1)
    assert failing.stderr.strip() == ("error: crm.toml: notifications.smtp.password: secrets do not belong in "
                                      "the config file: set $CRM_SMTP_PASSWORD instead")
    text = workspace.config_path.read_text(encoding="utf-8")
    workspace.config_path.write_text(text.replace('password = "hunter2"', ""), encoding="utf-8")
    failing = crm("invoice", "list", expect=1)
    assert failing.stderr.startswith("error: crm.toml: ")
    assert failing.stderr.strip().endswith("(and 4 more problems: `crm config check` lists them)")


def test_set_keeps_comments_and_layout_and_reads_the_value_by_its_schema(crm, workspace):
    _append(workspace, "# how we bill\n[billing]\n# review invoices before posting\npost_on_confirm = true  # for now\n")
    before = workspace.config_path.read_text(encoding="utf-8")
    crm("config", "set", "billing.post_on_confirm", "false")
    crm("config", "set", "notifications.smtp.port", "2525")
    crm("config", "set", "billing.penalty_margin", "7.5")
    after = workspace.config_path.read_text(encoding="utf-8")
    lines = iter(after.replace("post_on_confirm = false  # for now", "post_on_confirm = true  # for now").splitlines())
    assert all(line in lines for line in before.splitlines())  # every line kept, in its order
    assert "# review invoices before posting\npost_on_confirm = false  # for now" in after
    assert 'penalty_margin = "7.5"' in after and "[notifications.smtp]\nport = 2525" in after
    app = workspace.app()
    assert app.settings("billing")["post_on_confirm"] is False
    assert str(app.settings("billing")["penalty_margin"]) == "7.5"
    assert app.settings("notifications")["smtp"] == {"port": 2525}
    assert crm("config", "check").exit_code == 0


@pytest.mark.parametrize("key, value, message", [
    ("billing.post_on_confirn", "false", "crm.toml: billing.post_on_confirn: unknown key (did you mean post_on_confirm?)"),
    ("billing.dso_days", "ninety", "crm.toml: billing.dso_days: 'ninety' is not a whole number"),
    ("billing.dso_days", "0", "crm.toml: billing.dso_days: must be from 1 to 3660"),
    ("billing.operation_category", "food", "crm.toml: billing.operation_category: 'food' is not one of goods, services, mixed"),
    ("notifications.email", "fax", "crm.toml: notifications.email: no channel named 'fax' (available: file, letter, smtp, webhook)"),
    ("notifications.smtp.password", "hunter2",
     "crm.toml: notifications.smtp.password: secrets do not belong in the config file: set $CRM_SMTP_PASSWORD instead"),
    ("database.url", "mysql://db/crm", "crm.toml: database.url: unsupported database 'mysql': only sqlite "
                                       "(sqlite:///crm.db) and postgresql (postgresql://user@host/db) are supported"),
    ("modules.enabled", "billing", "crm.toml: modules.enabled: set by `crm modules enable|disable`, which migrate "
                                   "the database too"),
    ("biling.dso_days", "30", "crm.toml: [biling]: unknown section (did you mean [billing]?)"),
    ("billing.reminder_levels", "x", "crm.toml: billing.reminder_levels: is a list: edit it in the file"),
    ("company.siren", "123", "crm.toml: company.siren: invalid SIREN '123' (the number has an invalid length)"),
    ("dso_days", "30", "'dso_days': name a key as SECTION.KEY (billing.post_on_confirm, notifications.smtp.port)"),
])
def test_set_refuses_what_the_schema_refuses_and_changes_nothing(crm, workspace, key, value, message):
    before = workspace.config_path.read_bytes()
    result = crm("config", "set", key, value, expect=1)
    assert result.stderr.strip() == f"error: {message}"
    assert workspace.config_path.read_bytes() == before


def test_set_repairs_a_broken_file_and_warns_of_what_is_left(crm, workspace):
    _append(workspace, '[billing]\ndso_days = "90"\noperation_category = "food"')
    crm("invoice", "list", expect=1)
    result = crm("config", "set", "billing.dso_days", "90")
    assert result.stderr.strip() == ("warning: crm.toml: billing.operation_category: 'food' is not one of "
                                     "goods, services, mixed")
    crm("config", "set", "billing.operation_category", "services")
    crm("invoice", "list")


def test_set_replaces_the_file_atomically_keeping_its_mode(crm, workspace):
    os.chmod(workspace.config_path, 0o640)
    crm("config", "set", "jobs.allow_future_dates", "true")
    assert os.stat(workspace.config_path).st_mode & 0o777 == 0o640
    assert [p.name for p in workspace.config_path.parent.iterdir() if p.name.endswith(".part")] == []
    assert workspace.app().settings("jobs") == {"allow_future_dates": True}


def _crm(workspace, *argv):
    return subprocess.run([sys.executable, "-m", "core.cli.main", "--config", str(workspace.config_path), *argv],
                          capture_output=True, text=True)


def test_a_module_command_shows_the_real_cause_of_a_broken_file(workspace):
    """It used to say `No such command 'invoice'`: the command list is built from a quick read of
    [modules], which a broken file defeats."""
    text = workspace.config_path.read_text(encoding="utf-8")
    workspace.config_path.write_text(text + "\n[billing\npost_on_confirm = false\n", encoding="utf-8")
    for argv in (["invoice", "list"], ["lead", "list"], ["partner", "list"]):
        result = _crm(workspace, *argv)
        assert result.returncode == 1, result
        assert result.stderr.startswith("error: crm.toml: not valid TOML: "), result.stderr
    workspace.config_path.write_text(text.replace('enabled = ["funnel", "billing", "procurement"]',
                                                  'enabled = "billing"'), encoding="utf-8")
    result = _crm(workspace, "invoice", "list")
    assert result.stderr.strip() == "error: crm.toml: modules.enabled: Not a valid list"
    workspace.config_path.write_text(text, encoding="utf-8")
    result = _crm(workspace, "invoise", "list")
    assert result.returncode == 2 and "No such command 'invoise'" in result.stderr
