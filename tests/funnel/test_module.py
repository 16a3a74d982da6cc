"""The module's life: its tables match its migration, it can be disabled and enabled again without
losing data, and the kernel works with it disabled."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.migrate import tables_of
from plugins.funnel import models  # noqa: F401 - puts the funnel tables on the metadata

pytestmark = pytest.mark.modules("funnel")


def test_models_match_the_migration(app):
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, tables_of(("core_", "funnel_")))

    assert [d for d in diffs if "funnel_" in repr(d)] == []


def test_disable_and_enable_keep_the_data(crm, workspace):
    crm("lead", "add", "Jean", "--email", "jean@acme.fr")
    crm("deal", "add", "Big deal", "--value", "1000", "--expected-close", "2026-12-31")
    crm("modules", "disable", "funnel")
    assert crm("lead", "list", expect=2).exit_code == 2          # the commands are gone
    crm("partner", "add", "ACME", "--email", "acme@acme.fr")      # the kernel works without the funnel
    crm("product", "add", "WID", "Widget", "--price", "10")
    order = crm("order", "create", "--customer", "ACME", "--line", "WID:2", "--json").json
    crm("order", "confirm", order["number"])
    crm("modules", "enable", "funnel")
    assert [lead["name"] for lead in crm("lead", "list", "--json").json] == ["Jean"]
    assert [deal["value"] for deal in crm("deal", "list", "--json").json] == ["1000.00"]
    assert len(crm("pipeline", "list", "--json").json) == 1      # the seed is not duplicated
