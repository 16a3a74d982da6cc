"""Hook calls: a failure names the plugin and the hook, and rolls the whole command back.

Also the hook reference: every spec is listed and documented.
"""

import inspect
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import hookspecs
from core.app import App
from core.config import Config
from core.errors import CrmError, HookError, StateError
from core.hookref import hook_table, spec_functions
from core.modules import ModuleEntry, read_manifest

FAKES = Path(__file__).parent / "fakeplugins"


def fake_entries(*names):
    return {name: ModuleEntry(name=name, target=name, package_dir=FAKES / name,
                              manifest=read_manifest(name, FAKES / name / "__init__.py")) for name in names}


@pytest.fixture
def fakes(monkeypatch):
    def forget():
        for name in [n for n in sys.modules if n.startswith("fk_")]:
            del sys.modules[name]

    forget()
    monkeypatch.syspath_prepend(str(FAKES))
    yield
    forget()


def fake_app(*enabled, all_installed=("fk_alpha", "fk_boom", "fk_crmerr", "fk_writer")):
    return App(Config(path=None, enabled=list(enabled)), entries=fake_entries(*all_installed))


# --- attribution, no database -------------------------------------------------------------------

class StubSession:
    """Enough of a session for fk_writer outside a database."""

    def __init__(self):
        self.added = []

    def add(self, obj):
        self.added.append(obj)

    def flush(self):
        pass


@pytest.mark.parametrize("enabled", [["fk_boom"], ["fk_alpha", "fk_boom"], ["fk_boom", "fk_writer"]])
def test_hook_error_names_the_culprit_among_implementers(fakes, enabled):
    app = fake_app(*enabled)
    with pytest.raises(HookError) as info:
        app.call("order_confirmed", app=app, session=StubSession(), order="order")
    error = info.value
    assert error.plugin == "fk_boom"
    assert error.hook == "order_confirmed"
    assert str(error).startswith("plugin 'fk_boom' failed in hook 'order_confirmed': boom on")
    assert isinstance(error.__cause__, RuntimeError) and error.error is error.__cause__
    assert isinstance(error, CrmError)


def test_culprit_is_found_whichever_runs_first(fakes):
    # pluggy calls the last registered first: fk_alpha (registered first) runs after fk_crmerr...
    app = fake_app("fk_alpha", "fk_crmerr")
    with pytest.raises(HookError) as info:
        app.call("order_confirmed", app=app, session=StubSession(), order="o")
    assert info.value.plugin == "fk_crmerr"
    # ...and fk_alpha never ran because the call stopped at the failure
    import fk_alpha

    assert fk_alpha.CALLS == []


def test_healthy_plugins_run_and_return_nothing(fakes):
    app = fake_app("fk_alpha")
    assert app.call("order_confirmed", app=app, session=StubSession(), order="o1") == []
    import fk_alpha

    assert fk_alpha.CALLS == ["o1"]


def test_crm_error_from_a_plugin_is_wrapped_too(fakes):
    app = fake_app("fk_alpha", "fk_crmerr", "fk_writer")
    with pytest.raises(HookError) as info:
        app.call("order_confirmed", app=app, session=StubSession(), order="o")
    assert info.value.plugin == "fk_crmerr"
    assert info.value.hook == "order_confirmed"
    assert isinstance(info.value.__cause__, StateError)
    assert "refused by fk_crmerr" in str(info.value)


def test_call_one_names_the_module(fakes):
    app = fake_app("fk_alpha", "fk_boom")
    assert app.call_one("fk_alpha", "order_confirmed", app=app, session=StubSession(), order="x") == []
    with pytest.raises(HookError) as info:
        app.call_one("fk_boom", "order_confirmed", app=app, session=StubSession(), order="x")
    assert (info.value.plugin, info.value.hook) == ("fk_boom", "order_confirmed")


# --- rollback on the real database --------------------------------------------------------------

def candidate(workspace, *enabled):
    config = workspace.app().config
    return App(replace(config, enabled=list(enabled)), today=workspace.app()._today,
               entries=fake_entries(*enabled))


def test_raising_order_confirmed_rolls_the_confirmation_back(workspace, fakes, factory):
    from core.models import Partner, SalesOrder
    from core.services.orders import confirm_order, get_order

    app = candidate(workspace, "fk_writer", "fk_boom")
    try:
        order = type(factory)(app).order()
        partners_before = _count(app, Partner)
        with pytest.raises(HookError) as info:
            with app.transaction() as session:
                confirm_order(app, session, get_order(session, order.id))
        assert (info.value.plugin, info.value.hook) == ("fk_boom", "order_confirmed")
        with app.transaction() as session:
            again = session.get(SalesOrder, order.id)
            assert again.state == "draft"
            assert again.confirmed_at is None
            assert session.scalars(select(Partner).where(Partner.name == "Written by fk_writer")).all() == []
        assert _count(app, Partner) == partners_before
    finally:
        app.close()


def test_healthy_order_confirmed_commits_with_the_confirmation(workspace, fakes, factory):
    from core.models import Partner, SalesOrder
    from core.services.orders import confirm_order, get_order

    app = candidate(workspace, "fk_writer")
    try:
        order = type(factory)(app).order()
        with app.transaction() as session:
            confirm_order(app, session, get_order(session, order.id))
        with app.transaction() as session:
            assert session.get(SalesOrder, order.id).state == "confirmed"
            assert session.scalar(select(func.count()).select_from(Partner)
                                  .where(Partner.name == "Written by fk_writer")) == 1
    finally:
        app.close()


def _count(app, model):
    with app.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- hook reference -----------------------------------------------------------------------------

def _declared_specs():
    source = Path(hookspecs.__file__).read_text(encoding="utf-8")
    return re.findall(r"^@hookspec(?:\(.*\))?\s*\ndef (\w+)\(", source, flags=re.M)


def test_hook_table_lists_every_spec_in_declaration_order():
    declared = _declared_specs()
    assert declared, "no @hookspec found in core/hookspecs.py"
    assert [row["name"] for row in hook_table()] == declared


def test_hook_table_arguments_match_the_specs():
    for row in hook_table():
        spec = getattr(hookspecs, row["name"])
        assert row["arguments"] == list(inspect.signature(spec).parameters)
        assert row["summary"]


def test_hook_table_without_a_workspace_shows_the_kernel_implementations():
    """Outside any workspace only the kernel's own implementations (plugin "core") are listed."""
    implemented = {row["name"]: row["implemented_by"] for row in hook_table()}
    assert implemented["register_data_kinds"] == ["core"]
    assert implemented["register_channels"] == ["core"]
    assert implemented["register_jobs"] == ["core"]
    assert implemented["order_confirmed"] == []


@pytest.mark.parametrize("function", spec_functions(), ids=lambda f: f.__name__)
def test_every_hook_is_documented(function):
    doc = inspect.getdoc(function)
    assert doc, f"hook {function.__name__} has no docstring"
    assert re.search(r"^:returns: \S", doc, flags=re.M), f"hook {function.__name__}: no ':returns:' line"
    assert "Called" in doc, f"hook {function.__name__}: does not say when it is called"
    for argument in inspect.signature(function).parameters:
        if argument not in ("app", "session"):
            assert f":param {argument}:" in doc, f"hook {function.__name__}: argument {argument} undocumented"


def test_hook_table_names_implementers(fakes):
    app = fake_app("fk_alpha", "fk_writer")
    rows = {row["name"]: row for row in hook_table(app)}
    assert rows["order_confirmed"]["implemented_by"] == ["fk_alpha", "fk_writer"]
    assert rows["register_data_kinds"]["implemented_by"] == ["core"]
    assert rows["order_cancelled"]["implemented_by"] == []


# --- every hook is called where its docstring says ----------------------------------------------

def test_every_hook_is_called_with_all_its_arguments(workspace, fakes):
    """A recording module implements every spec; doing what a user does must call each of them,
    with every argument the spec documents. A new hook nothing calls fails here."""
    import datetime as dt

    import click
    import fk_recorder

    from core.channels import channels
    from core.cli.context import State
    from core.cli.main import cli
    from core.config import load_config
    from core.documents import kinds
    from core.importexport import data_kinds
    from core.jobs import collect_jobs
    from core.lifecycle import enable_module
    from core.migrate import model_drift
    from core.modules import discover
    from core.rendering import environment
    from core.reports import build, make_period
    from core.services.catalog import create_product
    from core.services.orders import cancel_order, confirm_order, create_order, deliver_order
    from core.services.partners import account_sections, create_partner, get_partner, update_partner

    fk_recorder.CALLS.clear()
    with open(workspace.config_path, "a", encoding="utf-8") as handle:
        handle.write("\n[procurement]\nallow_negative = true\n")  # sell what is not in stock
    app = App(load_config(workspace.config_path), today=dt.date(2026, 11, 28),
              entries={**discover(), **fake_entries("fk_recorder")})
    app = enable_module(app, "fk_recorder")
    app = enable_module(app, "procurement")  # its plan asks the modules for the expected demand

    with app.engine.connect() as connection:
        model_drift(app, connection)
    state = State()
    state.set_app(app)
    cli.list_commands(click.Context(cli, obj=state))
    data_kinds(app), environment(app), kinds(app), collect_jobs(app), channels(app)
    from core.security import permissions, record_rules

    permissions(app), record_rules(app)
    from core.api.web import create_app

    create_app(app)  # crm serve gathers every module's routes
    with app.transaction() as session:
        customer = create_partner(app, session, {"name": "Dupont SA", "is_customer": True})
        update_partner(app, session, customer, {"city": "Lyon"})
        create_product(session, {"sku": "LED-1", "name": "Lampe", "list_price": "10"})
        for step in ("deliver", "cancel"):
            order = create_order(app, session, {"customer": "Dupont SA", "lines": [{"sku": "LED-1", "quantity": "1"}]})
            confirm_order(app, session, order)
            deliver_order(app, session, order) if step == "deliver" else cancel_order(app, session, order, "test")
    with app.session() as session:
        period = make_period(session, dt.date(2027, 1, 1), dt.date(2027, 3, 31), app.today)
        build(app, "report_sections", period, session)
        build(app, "plan_sections", period, session)
        account_sections(app, session, get_partner(session, "Dupont SA"))

    expected = {f.__name__: set(inspect.signature(f).parameters) for f in spec_functions()}
    assert fk_recorder.CALLS == expected
