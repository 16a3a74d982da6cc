"""Every key of every section is checked when crm.toml loads: a misspelt key is refused with the key
meant, a value of the wrong type names its key. The sections are read from the real schemas (the
kernel's and the three built-in modules'), so a key added later is covered without editing this."""

from __future__ import annotations

from pathlib import Path

import pytest
from marshmallow import fields

from core import configschema as cs
from core.settings import check_text

MODULES = '[modules]\nenabled = ["funnel", "billing", "procurement"]\n'
#: what a section needs to be well-formed besides the key under test
REQUIRED = {"billing.reminder_levels": 'name = "Relance"\ndelay_days = 3\n'}


def _schemas() -> dict:
    """``{dotted section: schema}`` of the kernel, the three modules and their sub-tables."""
    from core.app import App
    from core.config import parse_config
    from core.settings import gather

    app = App(parse_config(MODULES, Path("/nowhere/crm.toml")), check_settings=False)
    top = {name: schema() for name, schema in cs.CORE_SECTIONS.items()} | cs.kernel_schemas() | gather(app)
    found = {}

    def walk(name, schema):
        found[name] = schema
        for key, field in schema.fields.items():
            if isinstance(field, fields.Nested):
                walk(f"{name}.{key}", field.schema)
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                walk(f"{name}.{key}", field.inner.schema)

    for name, schema in top.items():
        walk(name, schema)
    return found


SCHEMAS = _schemas()
CASES = [(section, key) for section, schema in SCHEMAS.items() for key in sorted(schema.fields)
         if not isinstance(schema.fields[key], fields.Nested)
         and not (isinstance(schema.fields[key], fields.List) and isinstance(schema.fields[key].inner, fields.Nested))]


def test_every_module_declares_its_section():
    assert {"modules", "database", "company", "notifications", "notifications.smtp", "notifications.webhook",
            "jobs", "templates", "billing", "billing.reminder_levels", "funnel", "procurement"} <= set(SCHEMAS)
    assert ("billing", "post_on_confirm") in CASES and ("notifications", "lease_seconds") in CASES
    assert ("jobs", "allow_future_dates") in CASES


def _text(section: str, body: str) -> str:
    prefix = "" if section == "modules" else MODULES
    header = f"[[{section}]]" if section == "billing.reminder_levels" else f"[{section}]"
    key = body.split(" = ")[0]
    required = "".join(line + "\n" for line in REQUIRED.get(section, "").splitlines() if not line.startswith(key + " "))
    return f"{prefix}{header}\n{required}{body}\n"


def _misspelt(key: str) -> str:
    return key[:-1] + ("x" if key[-1] != "x" else "y")


def _where(section: str, key: str) -> str:
    return f"billing.reminder_levels[1].{key}" if section == "billing.reminder_levels" else f"{section}.{key}"


@pytest.mark.parametrize("section, key", CASES, ids=[f"{s}.{k}" for s, k in CASES])
def test_a_misspelt_key_is_refused_with_the_key_meant(tmp_path, section, key):
    path = tmp_path / "crm.toml"
    problems = check_text(_text(section, f"{_misspelt(key)} = 1"), path)
    assert f"crm.toml: {_where(section, _misspelt(key))}: unknown key (did you mean {key}?)" in problems


def _wrong_value(field) -> str:
    if isinstance(field, (cs.Text, fields.String)) or isinstance(field, fields.List):
        return "12"
    if isinstance(field, (cs.Boolean, fields.Boolean)):
        return '"yes"'
    if isinstance(field, cs.Amount):
        return "true"
    return '"ten"'


@pytest.mark.parametrize("section, key", CASES, ids=[f"{s}.{k}" for s, k in CASES])
def test_a_value_of_the_wrong_type_names_its_key(tmp_path, section, key):
    field = SCHEMAS[section].fields[key]
    problems = check_text(_text(section, f"{key} = {_wrong_value(field)}"), tmp_path / "crm.toml")
    assert any(p.startswith(f"crm.toml: {_where(section, key)}") for p in problems), problems


@pytest.mark.modules("funnel", "billing", "procurement")
def test_the_issue_example_stops_every_command(crm, workspace):
    """`[billing] post_on_confirn = false` was silently ignored: invoices were posted and numbered."""
    with open(workspace.config_path, "a", encoding="utf-8") as handle:
        handle.write("\n[billing]\npost_on_confirn = false\n")
    expected = "error: crm.toml: billing.post_on_confirn: unknown key (did you mean post_on_confirm?)"
    for argv in (["invoice", "list"], ["partner", "list"], ["jobs", "list"]):
        result = crm(*argv, expect=1)
        assert result.stderr.strip() == expected


@pytest.mark.parametrize("line, message", [
    ('[notifications.smtp]\nhost = "smtp.acme.fr"\npassword = "hunter2"',
     "crm.toml: notifications.smtp.password: secrets do not belong in the config file: set $CRM_SMTP_PASSWORD instead"),
    ('[notifications.webhook]\nurl = "https://hooks.acme.fr/crm"\nsecret = "s3"',
     "crm.toml: notifications.webhook.secret: secrets do not belong in the config file: set $CRM_WEBHOOK_SECRET instead"),
    ('[billing]\napi_token = "abc"',
     "crm.toml: billing.api_token: secrets do not belong in the config file: set it in the environment instead"),
    ('[notifications]\nemail = "fax"',
     "crm.toml: notifications.email: no channel named 'fax' (available: file, letter, smtp, webhook)"),
    ('[[billing.reminder_levels]]\nname = "R1"\ndelay_days = 3\nchannel = "fax"',
     "crm.toml: billing.reminder_levels[1].channel: 'fax' is not one of email, letter"),
    ('[billing]\noperation_category = "food"',
     "crm.toml: billing.operation_category: 'food' is not one of goods, services, mixed"),
    ('[billing]\npenalty_margin = 8.5', 'crm.toml: billing.penalty_margin: write it as a string ("8.5"), money is exact'),
    ('[notifications]\nlease_seconds = 0', "crm.toml: notifications.lease_seconds: must be from 1 to 86400"),
    ('[biling]\npost_on_confirm = false', "crm.toml: [biling]: unknown section (did you mean [billing]?)"),
    ('[database]\nurl = "mysql://root:pw@db/crm"',
     "crm.toml: database.url: unsupported database 'mysql': only sqlite (sqlite:///crm.db) and postgresql "
     "(postgresql://user@host/db) are supported"),
])
def test_secrets_channels_choices_and_sections(tmp_path, line, message):
    problems = check_text(MODULES + line + "\n", tmp_path / "crm.toml")
    assert message in problems


def test_a_channel_name_is_resolved_against_the_enabled_modules(tmp_path):
    """`letter` is billing's channel: without billing the name does not exist."""
    text = '[modules]\nenabled = ["procurement"]\n[notifications]\nemail = "letter"\n'
    assert check_text(text, tmp_path / "crm.toml") == [
        "crm.toml: notifications.email: no channel named 'letter' (available: file, smtp, webhook)"]
    assert check_text(MODULES + '[notifications]\nemail = "letter"\n', tmp_path / "crm.toml") == []


def test_defaults_are_what_readers_get(tmp_path):
    from decimal import Decimal

    from core.app import App
    from core.config import parse_config

    app = App(parse_config(MODULES + '[billing]\ndso_days = 60\n', tmp_path / "crm.toml"))
    billing = app.settings("billing")
    assert billing["dso_days"] == 60 and billing["post_on_confirm"] is True
    assert billing["penalty_margin"] == Decimal("10")
    assert app.settings("notifications")["lease_seconds"] == 300
    assert app.settings("jobs") == {"allow_future_dates": False}
    assert app.settings("procurement") == {"allow_negative": False, "ship_on_confirm": False,
                                           "confirm_generated": False, "bill_price_tolerance": Decimal("0"),
                                           "bill_amount_tolerance": Decimal("0.05"), "bill_payment_days": 30,
                                           "bills_schematron": False}
    assert app.config.section("funnel")["default_close_days"] == 30
