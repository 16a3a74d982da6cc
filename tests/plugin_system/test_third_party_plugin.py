"""A third-party module, installed with pip the way a user would, driven through the ``crm`` command.

The module is ``examples/credit-hold`` (distribution ``entonnoir-credit-hold``). It is built and
installed by pip into a temporary folder, never into the project's environment, and every ``crm``
command runs as a subprocess with that folder on ``PYTHONPATH``, so the kernel finds the module only
through its entry point, as it would on a user's machine. Each test runs on SQLite, and on
PostgreSQL too when ``CRM_TEST_DATABASE_URL`` is set (the ``database_url`` fixture of core.testing).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from installed_plugin import Crm, pip_install

PACKAGE = "entonnoir_credit_hold"
TABLE = "credit_hold_partner_hold"
TODAY = "2026-11-28"
REASON = "invoice F2026-0042 unpaid"
REFUSAL = (f"error: plugin 'credit_hold' failed in hook 'order_confirmed': "
           f"customer Dupont SA is on credit hold since {TODAY}: {REASON}")


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """A folder holding the installed distribution (package + dist-info with its entry point)."""
    site, _ = pip_install("credit-hold", tmp_path_factory.mktemp("credit_hold_install"))
    assert (site / PACKAGE / "__init__.py").is_file()
    return site


@pytest.fixture
def crm(plugin_site, database_url, tmp_path) -> Crm:
    """A fresh workspace with no module enabled, on the backend of ``database_url``."""
    Crm(plugin_site, tmp_path, TODAY)("init", "ws", "--modules", "", "--name", "Plugin Test SAS",
                                      "--database-url", database_url)
    return Crm(plugin_site, tmp_path / "ws", TODAY)


def holds_in_database(database_url: str) -> list[tuple[str, str | None]] | None:
    """``[(reason, released_on)]`` read straight from the table, or None if the table does not exist."""
    from sqlalchemy import inspect, text

    from core.db import make_engine

    engine = make_engine(database_url)
    try:
        if not inspect(engine).has_table(TABLE):
            return None
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT reason, released_on FROM {TABLE} ORDER BY id"))
            return [(reason, str(released) if released else None) for reason, released in rows]
    finally:
        engine.dispose()


def count_orders(database_url: str, *, state: str | None = None) -> int:
    """Sales orders in the database (in ``state``), counted straight from the kernel's table."""
    from sqlalchemy import text

    from core.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            query = "SELECT count(*) FROM core_sales_order" + (" WHERE state = :state" if state else "")
            return connection.execute(text(query), {"state": state}).scalar_one()
    finally:
        engine.dispose()


def implementers(crm: Crm) -> dict[str, list[str]]:
    return {row["name"]: row["implemented_by"] for row in crm("hooks", "--json").json}


def test_installed_module_is_listed_but_never_loaded_while_disabled(crm, database_url):
    listing = crm("modules", "list", "--json", trace_imports=True)
    row = next(row for row in listing.json if row["name"] == "credit_hold")
    assert row == {
        "name": "credit_hold", "version": "0.1.0", "state": "disabled",
        "summary": "Credit holds: no order confirmed for a customer on hold", "depends": [],
        "distribution": "entonnoir-credit-hold", "entry_point": PACKAGE, "problem": None,
    }
    # The manifest is read from the source: listing modules runs none of the module's code.
    assert "core.modules" in listing.imported
    assert PACKAGE not in listing.imported

    unknown = crm("hold", "list", expect=2, trace_imports=True)
    assert "No such command 'hold'" in unknown.stderr
    assert PACKAGE not in unknown.imported

    hooks = crm("hooks", "--json", trace_imports=True)
    assert all("credit_hold" not in row["implemented_by"] for row in hooks.json)
    assert PACKAGE not in hooks.imported
    assert holds_in_database(database_url) is None


def test_credit_hold_blocks_confirmation_until_lifted_and_survives_disable(crm, database_url):
    crm("partner", "add", "Dupont SA")
    crm("partner", "add", "Martin SARL")
    crm("product", "add", "WID-1", "Widget", "--price", "100.00")

    assert crm("modules", "enable", "credit_hold").stdout.strip() == "enabled: credit_hold"
    assert holds_in_database(database_url) == []
    hooks = implementers(crm)
    assert "credit_hold" in hooks["order_confirmed"]
    assert "credit_hold" in hooks["register_commands"]

    # Collections puts Dupont on hold.
    placed = crm("hold", "add", "Dupont SA", "--reason", REASON, "--by", "mlefevre")
    assert placed.stdout.strip() == f"partner Dupont SA on credit hold since {TODAY}"
    [hold] = crm("hold", "list", "--json").json
    assert hold["partner"]["name"] == "Dupont SA"
    assert (hold["reason"], hold["placed_on"], hold["placed_by"], hold["active"]) == (REASON, TODAY, "mlefevre", True)

    # Creating and confirming in one command: the hook's refusal rolls back the creation too.
    refused = crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:1", "--confirm", expect=1)
    assert refused.stderr.splitlines() == [REFUSAL]
    assert count_orders(database_url) == 0

    # A quote may be drafted; confirming it is refused and it stays a draft.
    draft = crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:2", "--json").json
    assert draft["state"] == "draft"
    refused = crm("order", "confirm", draft["number"], expect=1)
    assert refused.stderr.splitlines() == [REFUSAL]
    assert count_orders(database_url, state="draft") == 1
    # Other customers are not affected.
    other = crm("order", "create", "--customer", "Martin SARL", "--line", "WID-1:1", "--confirm", "--json").json
    assert other["state"] == "confirmed"

    # The customer paid: the hold is lifted, the draft can be confirmed.
    assert crm("hold", "remove", "Dupont SA").stdout.strip() == "partner Dupont SA: credit hold lifted"
    assert crm("order", "confirm", draft["number"]).stdout.strip() == f"order {draft['number']} confirmed"

    # A new hold, then the module is disabled: its hook no longer runs, its commands are gone,
    # its data stays.
    crm("hold", "add", "Dupont SA", "--reason", "cheque bounced")
    second = crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:1", "--json").json
    crm("modules", "disable", "credit_hold")
    assert "No such command 'hold'" in crm("hold", "list", expect=2).stderr
    assert crm("order", "confirm", second["number"]).stdout.strip() == f"order {second['number']} confirmed"
    assert holds_in_database(database_url) == [(REASON, TODAY), ("cheque bounced", None)]

    # Enabled again: the migrations are already applied and the hold is still in force.
    assert crm("modules", "enable", "credit_hold").stdout.strip() == "enabled: credit_hold"
    history = crm("hold", "list", "--all", "--json").json
    assert [(h["reason"], h["active"], h["released_on"]) for h in history] == [
        ("cheque bounced", True, None), (REASON, False, TODAY)]


def test_credit_limit_and_hold_are_partner_fields_everywhere_the_partner_goes(crm, tmp_path):
    """credit_hold's extension fields (register_fields): set, shown, listed, exported, imported, checked."""
    crm("modules", "enable", "credit_hold")
    crm("product", "add", "WID-1", "Widget", "--price", "100.00")
    added = crm("partner", "add", "Dupont SA", "--set", "credit_hold.limit=500", "--json").json
    assert added["credit_hold"] == {"limit": "500.00", "on_hold_since": None, "open_orders": None}
    bad = crm("partner", "edit", "Dupont SA", "--set", "credit_hold.limit=-5", expect=1)
    assert bad.stderr.strip() == f"error: partner {added['id']}: credit_hold.limit: must be at least 0"

    # 2 x 100 + 20 % VAT = 240 open; a third order would bring it to 600, above the limit
    crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:2", "--confirm")
    refused = crm("order", "create", "--customer", "Dupont SA", "--line", "WID-1:3", "--confirm", expect=1)
    assert refused.stderr.strip() == ("error: plugin 'credit_hold' failed in hook 'order_confirmed': customer "
                                      "Dupont SA would have 600.00 in open orders, above the credit limit 500.00")
    lowered = crm("partner", "edit", "Dupont SA", "--set", "credit_hold.limit=200", expect=1)
    assert lowered.stderr.strip() == ("error: plugin 'credit_hold' refused partner \"Dupont SA\": "
                                      "credit_hold.limit: 200.00 is below the open orders' total 240.00")

    crm("hold", "add", "Dupont SA", "--reason", REASON)
    shown = crm("partner", "show", "Dupont SA", "--json").json
    assert shown["credit_hold"] == {"limit": "500.00", "on_hold_since": TODAY, "open_orders": "240.00"}
    listed = crm("partner", "list", "--json").json
    assert listed[0]["credit_hold"] == {"limit": "500.00", "on_hold_since": TODAY}
    assert "500.00" in crm("partner", "list").stdout

    exported = crm("export", "partners").stdout.splitlines()
    assert exported[0].endswith(",credit_hold.limit") and exported[1].endswith(",500.00")
    source = tmp_path / "partners.csv"
    source.write_text("name,email,credit_hold.limit\nMartin SARL,m@martin.fr,1500\n", encoding="utf-8")
    crm("import", "partners", str(source))
    assert crm("partner", "show", "Martin SARL", "--json").json["credit_hold"]["limit"] == "1500.00"

    # disabled, the fields are gone from the partner; enabled again, they are back
    crm("modules", "disable", "credit_hold")
    assert "credit_hold" not in crm("partner", "show", "Dupont SA", "--json").json
    crm("modules", "enable", "credit_hold")
    assert crm("partner", "show", "Dupont SA", "--json").json["credit_hold"]["limit"] == "500.00"
