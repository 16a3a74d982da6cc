"""pytest fixtures for Entonnoir and its plugins (loaded through the ``pytest11`` entry point).

A plugin's tests get, without any conftest of their own:

- ``workspace``: a temporary folder with ``crm.toml`` and a migrated database, on SQLite, and
  also on PostgreSQL when ``CRM_TEST_DATABASE_URL`` is set (each test in a schema of its own);
  the modules enabled come from ``@pytest.mark.modules("billing", ...)`` (default: none);
- ``app``: the :class:`core.app.App` of that workspace, with ``today`` fixed (``app_today``);
- ``crm``: runs ``crm`` commands in-process against the workspace and returns the exit code,
  stdout, stderr and parsed JSON; ``crm.as_user("alice")(...)`` runs them as user alice and
  ``crm.with_role("accountant")(...)`` as a user holding that role (the test's OS login or
  database role is the workspace's admin, who holds core.impersonate);
- ``factory``: creates partners, products, users and orders through the services;
- ``api_server``: a real ``crm serve`` process on the workspace (:mod:`core.api.testing`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.api.testing import api_server  # noqa: F401,E402 - a fixture of this plugin too

DEFAULT_TODAY = dt.date(2026, 11, 28)


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("CRM_TEST_DATABASE_URL") else ["sqlite"]


def pytest_configure(config):
    config.addinivalue_line("markers", "modules(*names): modules the workspace fixture enables")


@dataclass
class Workspace:
    """A folder with a config and a database, ready for ``crm`` commands."""

    folder: Path
    database_url: str
    backend: str
    modules: list[str] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.folder / "crm.toml"

    def app(self, today: dt.date | None = DEFAULT_TODAY):
        from core.app import App
        from core.config import load_config

        return App(load_config(self.config_path), today=today)


@contextmanager
def postgres_schema(base_url: str | None = None):
    """A fresh PostgreSQL schema on ``base_url`` (default ``CRM_TEST_DATABASE_URL``), dropped afterwards.

    Yields a URL whose connections use that schema (``search_path``), so each test, or each of
    several workspaces in one test, has tables of its own on one shared server.
    """
    from sqlalchemy import create_engine, text

    from core.db import normalise_url

    base = normalise_url(base_url or os.environ["CRM_TEST_DATABASE_URL"]).split("?")[0]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=_backends())
def database_url(request, tmp_path):
    """A database URL: a SQLite file, or a fresh PostgreSQL schema dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def pg_database_url():
    """A fresh PostgreSQL schema, for tests that need PostgreSQL itself (real concurrency).

    Skipped, with the reason, where ``CRM_TEST_DATABASE_URL`` is not set; CI always sets it.
    """
    if not os.environ.get("CRM_TEST_DATABASE_URL"):
        pytest.skip("CRM_TEST_DATABASE_URL is not set (CI always sets it)")
    with postgres_schema() as url:
        yield url


#: a complete, valid identity (check digits of SIREN, SIRET, VAT number and IBAN hold): invoices post
TEST_COMPANY = {
    "name": "Entonnoir Test SAS", "legal_form": "SAS", "street": "12 rue des Lilas", "postal_code": "69003",
    "city": "Lyon", "country": "FR", "siren": "732829320", "siret": "73282932000009", "trade_register": "RCS",
    "register_city": "Lyon", "share_capital": "50000.00", "vat_number": "FR44732829320",
    "iban": "FR7630006000011234567890189", "bic": "AGRIFRPP", "email": "contact@entonnoir-test.fr",
    "phone": "04 72 00 00 00",
}


def sample_siren(n: int) -> str:
    """A valid SIREN (Luhn key) made of ``n``: test customers get distinct, plausible ones."""
    from stdnum import luhn

    body = f"{(n * 7919 + 31415926) % 10**8:08d}"
    return body + luhn.calc_check_digit(body)


def make_workspace(folder: Path, database_url: str, modules=()) -> Workspace:
    """Create a migrated workspace in ``folder`` on ``database_url`` with ``modules`` enabled,
    for :data:`TEST_COMPANY`."""
    from core.lifecycle import init_workspace

    app = init_workspace(folder, company=TEST_COMPANY, database_url=database_url, modules=list(modules),
                         today=DEFAULT_TODAY)
    app.close()
    return Workspace(folder=folder, database_url=database_url,
                     backend="sqlite" if database_url.startswith("sqlite") else "postgresql", modules=list(modules))


@pytest.fixture
def workspace(request, tmp_path, database_url, monkeypatch) -> Workspace:
    """A migrated workspace with the modules of ``@pytest.mark.modules(...)`` enabled."""
    marker = request.node.get_closest_marker("modules")
    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    return make_workspace(tmp_path / "workspace", database_url, marker.args if marker else ())


@pytest.fixture
def app_today() -> dt.date:
    """The business date the ``app`` fixture and ``crm`` runner use; override the fixture to change it."""
    return DEFAULT_TODAY


@pytest.fixture
def app(workspace, app_today):
    """The app of the workspace (a fresh one: it reads crm.toml as it is now)."""
    instance = workspace.app(today=app_today)
    yield instance
    instance.close()


@dataclass
class Result:
    """What a ``crm`` run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<Result exit={self.exit_code} stdout={self.stdout[:300]!r} stderr={self.stderr[:300]!r}>"


#: ``crm user add --role`` (who is notified, a role too) for a role-holder the runner creates: one
#: the role includes (a custom role's holder is also a salesperson)
ROLE_COLUMN = {"collections": "collections", "purchasing": "purchasing", "admin": "admin", "accountant": "collections"}


class CrmRunner:
    """Runs ``crm`` in this process, as a user would type it, against one workspace."""

    def __init__(self, workspace: Workspace, today: dt.date | None, acting: str | None = None):
        self.workspace = workspace
        self.today = today
        #: the user the commands run as (``crm --as LOGIN``; the operator holds core.impersonate)
        self.acting = acting

    def as_user(self, login: str) -> "CrmRunner":
        """The same runner acting as user ``login``: ``crm.as_user("alice")("lead", "list")``."""
        return CrmRunner(self.workspace, self.today, acting=login)

    def with_role(self, role: str) -> "CrmRunner":
        """A runner acting as a user who holds only ``role`` (built-in or custom), created on first use."""
        login = f"as_{role}"
        if not any(u["login"] == login for u in self("user", "list", "--json").json):
            self("user", "add", login, f"Holder of {role}", "--role", ROLE_COLUMN.get(role, "sales"))
            if role not in ("sales", "collections", "purchasing", "admin"):
                self("user", "role", login, role)
        return self.as_user(login)

    def __call__(self, *args: str, expect: int | None = 0, input: str | None = None) -> Result:
        from click.testing import CliRunner

        from core.cli.main import main

        argv = ["--config", str(self.workspace.config_path)]
        if self.acting is not None:
            argv += ["--as", self.acting]
        if self.today is not None:
            argv += ["--today", self.today.isoformat()]
        argv += [str(a) for a in args]
        runner = CliRunner()
        code = 0
        with runner.isolation(input=input) as streams:
            try:
                main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            sys.stdout.flush()
            sys.stderr.flush()
            stdout = streams[0].getvalue().decode()
            stderr = streams[1].getvalue().decode()
        result = Result(code, stdout, stderr)
        if expect is not None and code != expect:
            raise AssertionError(f"crm {' '.join(map(str, args))}: expected exit {expect}, got {result!r}")
        return result


    #: the command showing each extensible entity (``crm ENTITY show REF --json``)
    SHOW = {"partner": ("partner", "show"), "product": ("product", "show"), "order": ("order", "show"),
            "invoice": ("invoice", "show"), "purchase_order": ("po", "show"), "lead": ("lead", "show"),
            "deal": ("deal", "show")}

    def fields(self, entity: str, ref, module: str) -> dict:
        """``module``'s extension fields of a record, read through the CLI as a user would see them.

        ``crm.fields("partner", "Dupont SA", "credit_hold") == {"limit": "5000.00", ...}``; set
        them with ``crm("partner", "edit", "Dupont SA", "--set", "credit_hold.limit=5000")``.
        """
        data = self(*self.SHOW[entity], str(ref), "--json").json
        if module not in data:
            raise AssertionError(f"{entity} {ref}: no fields of module {module!r} (is it enabled, does it "
                                 f"extend {entity!r}?)")
        return data[module]


@pytest.fixture
def crm(workspace, app_today) -> CrmRunner:
    """``crm("partner", "list", "--json").json`` — the CLI bound to the workspace."""
    return CrmRunner(workspace, app_today)


class Factory:
    """Creates kernel records through the services, each in its own committed transaction."""

    def __init__(self, app):
        self.app = app
        self.count = 0

    def _next(self) -> int:
        self.count += 1
        return self.count

    def partner(self, **values):
        from core.services.partners import create_partner

        n = self._next()
        data = {"name": f"Customer {n}", "email": f"customer{n}@example.com", "street": f"{n} rue du Commerce",
                "postal_code": "75011", "city": "Paris", **values}
        if data.get("kind", "company") == "company" and data.get("country", "FR") == "FR" and "siren" not in values:
            data["siren"] = sample_siren(1000 + n)  # a French business buyer's SIREN: a mandatory mention
        with self.app.transaction() as session:
            return create_partner(self.app, session, data)

    def product(self, **values):
        from core.services.catalog import create_product

        n = self._next()
        data = {"sku": f"SKU-{n}", "name": f"Product {n}", "list_price": "10.00", **values}
        with self.app.transaction() as session:
            return create_product(session, data)

    def user(self, **values):
        from core.services.people import create_user

        n = self._next()
        data = {"login": f"user{n}", "name": f"User {n}", "email": f"user{n}@example.com", **values}
        with self.app.transaction() as session:
            return create_user(session, data)

    def order(self, customer=None, lines=None, *, confirm: bool = False, **values):
        from core.services.orders import confirm_order, create_order

        customer = customer or self.partner()
        lines = lines or [{"sku": self.product().sku, "quantity": "1"}]
        with self.app.transaction() as session:
            order = create_order(self.app, session, {"customer": str(customer.id), "lines": lines, **values})
            if confirm:
                confirm_order(self.app, session, order)
            return order


@pytest.fixture
def factory(app) -> Factory:
    return Factory(app)


class Outbox:
    """The workspace's notifications, for asserting on messages: ``outbox.messages(subject="...")``."""

    def __init__(self, app):
        self.app = app

    def messages(self, **filters) -> list[dict]:
        """Every notification (oldest first) as a dict with ``recipients``, ``subject``, ``text``...

        ``filters`` keep those whose field equals the value (``related="billing_invoice:3"``) or,
        for ``recipient``, those sent to that address.
        """
        from sqlalchemy import select

        from core.outbox import Message, Notification, notification_dict

        recipient = filters.pop("recipient", None)
        with self.app.transaction() as session:
            rows = []
            for row in session.scalars(select(Notification).order_by(Notification.id)):
                message = Message.from_row(row, self.app, documents=False)  # templated rows are worded as at delivery
                rows.append(notification_dict(row) | {"text": message.text, "html": message.html})
        return [row for row in rows
                if all(row.get(key) == value for key, value in filters.items())
                and (recipient is None or recipient in row["recipients"])]

    def __len__(self) -> int:
        return len(self.messages())


@pytest.fixture
def outbox(app) -> Outbox:
    """The notifications written so far in the workspace (see :class:`Outbox`)."""
    return Outbox(app)
