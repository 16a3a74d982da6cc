"""The services check their right whatever the door: a script, a job or an HTTP handler calling
them directly meets the same refusal as the CLI (both databases)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry
from core.security import PermissionDenied

pytestmark = pytest.mark.modules("funnel", "billing", "procurement")


@pytest.fixture
def books(crm, tmp_path):
    crm("user", "add", "sam", "Sam", "--role", "sales")
    crm("user", "add", "pat", "Pat", "--role", "purchasing")
    crm("product", "add", "P1", "Pose", "--price", "100", "--not-stocked")
    crm("partner", "add", "Alpha", "--siren", "732829320", "--street", "1 rue de la Paix", "--postal-code", "75002",
        "--city", "Paris")
    crm("invoice", "create", "--customer", "Alpha", "--line", "P1:1")
    order = crm("order", "create", "--customer", "Alpha", "--line", "P1:1", "--json").json["number"]
    (tmp_path / "partners.csv").write_text("name,email\nBeta,beta@example.com\n", encoding="utf-8")
    return {"order": order, "csv": tmp_path / "partners.csv"}


def _invoice(session):
    from plugins.billing.services_invoices import get_invoice
    from plugins.billing.models import Invoice

    return get_invoice(session, session.scalars(select(Invoice.id)).first())


# (who, the right they lack, what they try): each a service a door would call
CASES = {
    "add a user": ("sam", "core.users", lambda app, s, b: __import__("core.services.people", fromlist=["x"])
                   .create_user(s, {"login": "eve", "name": "Eve"})),
    "add a team": ("sam", "core.users", lambda app, s, b: __import__("core.services.people", fromlist=["x"])
                   .create_team(s, {"name": "East", "leader": "sam"})),
    "give a role": ("sam", "core.users", lambda app, s, b: __import__("core.services.roles", fromlist=["x"])
                    .give_role(app, s, "sam", "admin")),
    "post an invoice": ("sam", "billing.invoice.post", lambda app, s, b: __import__(
        "plugins.billing.services_invoices", fromlist=["x"]).post_invoice(app, s, _invoice(s))),
    "create an invoice": ("sam", "billing.invoice.write", lambda app, s, b: __import__(
        "plugins.billing.services_invoices", fromlist=["x"]).create_invoice(
        app, s, {"customer": "Alpha", "lines": [{"sku": "P1", "quantity": "1"}]})),
    "block an invoice": ("sam", "billing.invoice.block", lambda app, s, b: __import__(
        "plugins.billing.services_invoices", fromlist=["x"]).set_hold(s, _invoice(s), "blocked", "x")),
    "record a payment": ("sam", "billing.payment.record", lambda app, s, b: __import__(
        "plugins.billing.services_payments", fromlist=["x"]).record_payment(
        app, s, {"customer": "Alpha", "amount": "10.00"})),
    "add a rate": ("sam", "billing.settings", lambda app, s, b: __import__(
        "plugins.billing.services_rates", fromlist=["x"]).add_rate(s, "legal", dt.date(2026, 1, 1), Decimal("3"))),
    "add a partner": ("pat", "core.partner.write", None),  # purchasing may: checked below as allowed
    "add a product": ("sam", "core.product.write", lambda app, s, b: __import__(
        "core.services.catalog", fromlist=["x"]).create_product(s, {"sku": "P2", "name": "Spot"})),
    "create an order": ("pat", "core.order.write", lambda app, s, b: __import__(
        "core.services.orders", fromlist=["x"]).create_order(
        app, s, {"customer": "Alpha", "lines": [{"sku": "P1", "quantity": "1"}]})),
    "cancel an order": ("pat", "core.order.write", lambda app, s, b: __import__(
        "core.services.orders", fromlist=["x"]).cancel_order(app, s, __import__(
            "core.services.orders", fromlist=["x"]).get_order(s, b["order"]))),
    "change the company": ("sam", "core.company", lambda app, s, b: __import__(
        "core.services.company", fromlist=["x"]).set_company(app, s, {"phone": "01 02 03 04 05"})),
    "add a lead": ("pat", "funnel.lead.write", lambda app, s, b: __import__(
        "plugins.funnel.leads", fromlist=["x"]).create_lead(app, s, {"name": "Léa", "email": "lea@x.example"})),
    "set a target": ("sam", "funnel.target.set", lambda app, s, b: __import__(
        "plugins.funnel.targets", fromlist=["x"]).set_target(app, s, {"user": "sam", "period": "2026-Q4",
                                                                      "revenue": "1000"})),
    "add a reorder rule": ("sam", "procurement.settings", lambda app, s, b: __import__(
        "plugins.procurement.services_rules", fromlist=["x"]).set_rule(
        app, s, {"sku": "P1", "minimum": "1", "maximum": "5"})),
    "adjust stock": ("sam", "procurement.po.receive", lambda app, s, b: __import__(
        "plugins.procurement.services_stock", fromlist=["x"]).adjust_stock(
        app, s, {"sku": "P1", "quantity": "3", "reason": "x"})),
}


def _trail(workspace) -> int:
    app = workspace.app()
    try:
        with app.transaction() as session:
            return session.scalar(select(func.count()).select_from(AuditEntry))
    finally:
        app.close()


@pytest.mark.parametrize("case", [name for name, (_, _, call) in CASES.items() if call is not None])
def test_each_service_refuses_who_lacks_its_right_and_writes_nothing(workspace, books, case):
    who, right, call = CASES[case]
    before = _trail(workspace)
    app = workspace.app()
    app.as_login = who  # the operator (an admin) acting for them, as `crm --as` does
    try:
        with pytest.raises(PermissionDenied) as refused:
            with app.transaction() as session:
                call(app, session, books)
    finally:
        app.close()
    assert f"as {who} (roles: " in str(refused.value)
    assert f"lacks the right {right} " in str(refused.value) and "roles that have it: " in str(refused.value)
    assert _trail(workspace) == before


def test_a_job_and_an_import_check_who_launches_them(workspace, books):
    from core.importexport import get_kind, run_import
    from core.scheduler import run_due

    app = workspace.app()
    app.as_login = "sam"
    try:
        with pytest.raises(PermissionDenied, match="lacks the right core.jobs.run"):
            run_due(app, app.today)
        with pytest.raises(PermissionDenied, match="lacks the right core.import"):
            run_import(app, get_kind(app, "partners"), books["csv"])
    finally:
        app.close()
    assert _trail(workspace) is not None


def test_a_flow_posts_under_its_own_right_and_an_allowed_user_passes(workspace, books, crm):
    """Confirming an order posts its invoice as part of the confirmation: a salesperson may."""
    crm.as_user("sam")("order", "confirm", books["order"])
    numbers = [i["number"] for i in crm("invoice", "list", "--json").json if i["state"] != "draft"]
    assert len(numbers) == 1
    app = workspace.app()
    app.as_login = "pat"
    try:
        with app.transaction() as session:
            from core.services.partners import create_partner

            create_partner(app, session, {"name": "Gamma", "email": "gamma@example.com"})
    finally:
        app.close()
