"""The module's HTTP endpoints (``crm serve``): its plans and a period's statement, as ``crm commissions`` shows them.

A third-party module adds routes exactly as the built-in ones do: a flask-smorest Blueprint
given to the kernel's ``register_routes`` hook, views calling the module's services with the
request's session, and a right asked at the door (``requires``).
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields

from core.api.http import Record, requires, session

blp = Blueprint("commissions", __name__, url_prefix="/api/v1/commissions", description="Sales commissions")


class PlanOut(Record):
    id = fields.Integer(required=True)
    salesperson = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    valid_from = fields.String(metadata={"format": "date"})
    rate = fields.String()
    tiers = fields.List(fields.Dict())


class StatementQuery(Record):
    period = fields.String(required=True, metadata={"description": "2026-11, 2026-Q4, 2026-H2 or 2026"})
    salesperson = fields.String(load_default=None)


class StatementOut(Record):
    period = fields.Dict()
    salespeople = fields.List(fields.Dict())
    total = fields.String()


@blp.get("/plans")
@blp.response(200, PlanOut(many=True))
@requires("commissions.read")
def plans():
    """Every plan, salespeople's own first, then teams' (``crm commissions plan list``)."""
    from entonnoir_commissions.services import list_plans, plan_dict

    return [plan_dict(plan) for plan in list_plans(session())]


@blp.get("/statement")
@blp.arguments(StatementQuery, location="query", as_kwargs=True)
@blp.response(200, StatementOut)
@requires("commissions.read")
def statement(period, salesperson):
    """What each salesperson earned in a period (``crm commissions statement``)."""
    from core.reports import parse_period
    from entonnoir_commissions.statement import statement as build

    start, end = parse_period(period)
    return build(session(), start, end, label=period.upper(), salesperson=salesperson)
