"""The funnel's part of the period report and of the plan, and the demand its open deals expect.

Answers three kernel hooks (wired in ``plugins/funnel/__init__.py``):

- ``report_sections``: leads in, deals won and lost (with the reasons), the funnel by stage,
  activities done and overdue, conversion rates and target attainment over ``period``. The funnel
  by stage, won, lost and conversion are those of ``crm funnel report`` on the **default
  pipeline** (:func:`plugins.funnel.reports.funnel_report` is called, not copied); targets count
  every pipeline, as there.
- ``plan_sections``: the weighted revenue expected from the open deals of **every pipeline** per
  month of expected close, and the gap to each target of the period.
- ``expected_demand``: the product quantities of the open deals' lines, weighted by probability,
  for procurement to plan purchases from.

Every figure is a GROUP BY in SQL; Python only combines a few rows. ``period.team`` keeps the
team's deals and leads (their ``team_id``, as ``crm funnel report --team``), its members'
activities (an activity has an owner, no team) and the team's and its members' targets.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import and_, case, func, select

from core.models import User
from core.reports import Chart, Section
from plugins.funnel.models import Activity, Lead, Opportunity, OpportunityLine, Stage
from plugins.funnel.reports import HUNDRED, Scope, forecast, funnel_report, lost_reasons, target_attainment

REPORT_TEMPLATE = "funnel/report_section.html"
PLAN_TEMPLATE = "funnel/plan_section.html"


def report_section(app, session, period) -> Section:
    """The funnel over ``period``: see the module docstring and docs/funnel.md, "Period report"."""
    from plugins.funnel.pipelines import get_pipeline

    scope = Scope(pipeline=get_pipeline(session), start=period.start, end=period.end, team=period.team)
    funnel = funnel_report(app, session, scope)
    lost_value = next(s["value"] for s in funnel["stages"] if s["kind"] == "lost")
    leads = leads_in(session, period)
    activities = activity_counts(session, period)
    data = {
        "pipeline": funnel["pipeline"],
        "leads": leads,
        "won": {"count": funnel["won_count"], "value": funnel["won_value"]},
        "lost": {"count": funnel["lost_count"], "value": lost_value, "reasons": lost_reasons(session, scope)},
        "win_rate": funnel["win_rate"],
        "stages": funnel["stages"],
        "open_count": funnel["open_count"], "open_value": funnel["open_value"],
        "weighted_pipeline": funnel["weighted_pipeline"],
        "conversion": funnel["conversion"],
        "activities": activities,
        "targets": funnel["targets"],
    }
    charts = {
        "stage_count": Chart("Deals per stage", [(s["stage"], s["count"]) for s in funnel["stages"]], kind="bars"),
        "stage_value": Chart("Value per stage", [(s["stage"], Decimal(s["value"])) for s in funnel["stages"]],
                             unit="money", kind="bars"),
    }
    summary = [("pipeline", funnel["pipeline"]), ("leads in", str(leads["count"])),
               ("won", f"{funnel['won_count']} · {funnel['won_value']}"),
               ("lost", f"{funnel['lost_count']} · {lost_value}"),
               ("win rate %", funnel["win_rate"] or "-"), ("weighted pipeline", funnel["weighted_pipeline"]),
               ("activities done", str(activities["done"])), ("activities overdue", str(activities["overdue"]))]
    summary += [(f"target {t['user'] or t['team']} {t['period']}",
                 f"{t['won']} / {t['target']} ({t['attainment'] or '-'} %)") for t in funnel["targets"]]
    return Section(key="funnel", title="Sales funnel", template=REPORT_TEMPLATE, data=data, order=10,
                   summary=summary, charts=charts)


def leads_in(session, period) -> dict:
    """Leads created in the period, per source (a lead merged into another is the same person: not counted)."""
    conditions = [Lead.created_on.between(period.start, period.end), Lead.state != "merged"]
    if period.team is not None:
        conditions.append(Lead.team_id == period.team.id)
    rows = session.execute(select(Lead.source, func.count()).where(*conditions).group_by(Lead.source)).all()
    rows = sorted(rows, key=lambda row: (-row[1], row[0] is None, row[0] or ""))
    return {"count": sum(count for _, count in rows),
            "by_source": [{"source": source, "count": count} for source, count in rows]}


def activity_counts(session, period) -> dict:
    """Activities done in the period and open ones overdue on ``period.today`` (today > due date), per owner."""
    done = Activity.done_on.between(period.start, period.end)
    overdue = and_(Activity.done_on.is_(None), Activity.due_date < period.today)
    conditions = [done | overdue]
    if period.team is not None:
        conditions.append(Activity.owner_id.in_(period.member_ids))
    rows = session.execute(
        select(User.login, func.sum(case((done, 1), else_=0)), func.sum(case((overdue, 1), else_=0)))
        .join(User, User.id == Activity.owner_id).where(*conditions).group_by(User.login).order_by(User.login)).all()
    per_owner = [{"owner": login, "done": int(d or 0), "overdue": int(o or 0)} for login, d, o in rows]
    return {"done": sum(r["done"] for r in per_owner), "overdue": sum(r["overdue"] for r in per_owner),
            "per_owner": per_owner}


def plan_section(app, session, period) -> Section:
    """Weighted revenue expected per month of the period (every pipeline) and the gap to each target."""
    scope = Scope(pipeline=None, start=period.start, end=period.end, team=period.team)
    found = {row["period"]: row for row in forecast(app, session, scope, period="month")}
    months = [found.get(label, {"period": label, "count": 0, "value": "0.00", "weighted_value": "0.00"})
              for label in month_labels(period.start, period.end)]
    months = [{"month": m["period"], "count": m["count"], "value": m["value"], "weighted_value": m["weighted_value"]}
              for m in months]
    expected = sum((Decimal(m["weighted_value"]) for m in months), Decimal("0.00"))
    targets = [{key: row[key] for key in ("user", "team", "period", "target", "won", "weighted_pipeline", "gap")}
               for row in target_attainment(session, scope, gap=True)]
    data = {
        "pipelines": "all",
        "months": months,
        "expected_count": sum(m["count"] for m in months),
        "expected_value": str(sum((Decimal(m["value"]) for m in months), Decimal("0.00"))),
        "expected_revenue": str(expected),
        "targets": targets,
    }
    charts = {"expected": Chart("Expected revenue per month (weighted pipeline)",
                                [(m["month"], Decimal(m["weighted_value"])) for m in months], unit="money")}
    summary = [("open deals closing", str(data["expected_count"])), ("pipeline value", data["expected_value"]),
               ("expected revenue (weighted)", data["expected_revenue"])]
    summary += [(f"gap {t['user'] or t['team']} {t['period']}", t["gap"]) for t in targets]
    return Section(key="funnel", title="Expected sales", template=PLAN_TEMPLATE, data=data, order=10,
                   summary=summary, charts=charts)


def month_labels(start: dt.date, end: dt.date) -> list[str]:
    """``YYYY-MM`` of every month the two dates span."""
    labels, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        labels.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def expected_demand(app, session, start: dt.date, end: dt.date) -> list[dict]:
    """What the open pipeline expects to sell between ``start`` and ``end`` (both included).

    One row per product, expected close date and probability (the deal's override, else its
    stage's default) of the open deals with product lines, every pipeline: ``quantity`` is
    Σ line quantity × probability / 100, exact. A won deal is a sales order already (procurement
    sees it there), a lost one sells nothing, so both are left out.
    """
    L = OpportunityLine.__table__.c
    O = Opportunity.__table__.c
    probability = func.coalesce(O.probability, Stage.probability)
    rows = session.execute(
        select(L.product_id, O.expected_close, probability, func.sum(L.quantity))
        .select_from(OpportunityLine).join(Opportunity, O.id == L.opportunity_id).join(Stage, Stage.id == O.stage_id)
        .where(O.state == "open", O.expected_close.between(start, end))
        .group_by(L.product_id, O.expected_close, probability)).all()
    demand = [{"product_id": product_id, "expected_on": _date(day), "probability": Decimal(rate),
               "quantity": Decimal(quantity) * Decimal(rate) / HUNDRED}
              for product_id, day, rate, quantity in rows]
    return sorted(demand, key=lambda row: (row["expected_on"], row["product_id"], row["probability"]))


def _date(value) -> dt.date:
    """A grouped date column comes back as ISO text on SQLite."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
