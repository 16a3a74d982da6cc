"""Commission plans: adding, listing, and finding the one in force for a salesperson on a date.

A salesperson's own plan wins over their team's. Plans are never edited: a new plan with a later
``valid_from`` takes over from that date, and the old one stays to explain past statements.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import StateError
from core.models import Team, TeamMember
from core.schemas import load
from core.services.people import get_team, get_user
from entonnoir_commissions.models import CommissionPlan, CommissionTier


def add_plan(app, session, raw: dict) -> CommissionPlan:
    """Create a plan from CLI values (``salesperson`` login or ``team`` name, ``rate``, ``tiers``...)."""
    from core.security import require

    require(app, session, "commissions.plan")
    from entonnoir_commissions.schemas import PlanSchema

    raw = {"valid_from": app.today.isoformat(), **{k: v for k, v in raw.items() if v is not None}}
    owner = raw.get("salesperson") or raw.get("team") or "?"
    data = load(PlanSchema(), raw, f"plan for {owner}")
    plan = CommissionPlan(valid_from=data["valid_from"], rate=data["rate"], tier_period=data["tier_period"],
                          tiers=[CommissionTier(threshold=t, rate=r) for t, r in sorted(data["tiers"])])
    if data["salesperson"]:
        plan.salesperson = get_user(session, data["salesperson"])
        same = CommissionPlan.salesperson_id == plan.salesperson.id
    else:
        plan.team = get_team(session, data["team"])
        same = CommissionPlan.team_id == plan.team.id
    if session.scalars(select(CommissionPlan.id).where(same, CommissionPlan.valid_from == plan.valid_from)).first():
        raise StateError(f"plan for {owner}: a plan from {plan.valid_from.isoformat()} exists already "
                         f"(plans are never edited: add one from a later date)")
    session.add(plan)
    session.flush()
    return plan


def list_plans(session, *, salesperson: str | None = None, team: str | None = None) -> list[CommissionPlan]:
    """Every plan (or one owner's), by owner then start date."""
    query = select(CommissionPlan).options(selectinload(CommissionPlan.tiers),
                                           selectinload(CommissionPlan.salesperson),
                                           selectinload(CommissionPlan.team))
    if salesperson:
        query = query.where(CommissionPlan.salesperson_id == get_user(session, salesperson).id)
    if team:
        query = query.where(CommissionPlan.team_id == get_team(session, team).id)
    plans = list(session.scalars(query))
    return sorted(plans, key=lambda p: (p.team is not None, _owner(p), p.valid_from))


def plan_for(session, salesperson_id: int, day: dt.date, *, lock: bool = False) -> CommissionPlan | None:
    """The plan in force for a salesperson on ``day``: their own latest, else their teams' latest.

    Among several teams' plans the latest start wins, then the team name (alphabetical), so the
    choice never depends on the order rows were written in. ``lock`` (PostgreSQL) makes two
    payments of the same plan's salespeople book one after the other, so both see the tier
    counter the other left.
    """
    own = (select(CommissionPlan).where(CommissionPlan.salesperson_id == salesperson_id,
                                        CommissionPlan.valid_from <= day)
           .order_by(CommissionPlan.valid_from.desc()).limit(1))
    teams = (select(CommissionPlan).join(Team, Team.id == CommissionPlan.team_id)
             .join(TeamMember, TeamMember.team_id == CommissionPlan.team_id)
             .where(TeamMember.user_id == salesperson_id, CommissionPlan.valid_from <= day)
             .order_by(CommissionPlan.valid_from.desc(), Team.name).limit(1))
    for query in (own, teams):
        if lock and session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=CommissionPlan)
        plan = session.scalars(query).first()
        if plan is not None:
            return plan
    return None


def _owner(plan: CommissionPlan) -> str:
    return plan.salesperson.login if plan.salesperson is not None else plan.team.name


def describe(plan: CommissionPlan) -> str:
    """``5 %, 7 % from 10000.00 (per month)`` — the plan in one line for people."""
    text = f"{plan.rate.normalize():f} %"
    if plan.tiers:
        text += ", " + ", ".join(f"{t.rate.normalize():f} % from {t.threshold}" for t in plan.tiers)
        text += f" (per {plan.tier_period})"
    return text


def plan_dict(plan: CommissionPlan) -> dict:
    """Stable JSON shape of a plan."""
    return {
        "id": plan.id,
        "salesperson": plan.salesperson.login if plan.salesperson is not None else None,
        "team": plan.team.name if plan.team is not None else None,
        "valid_from": plan.valid_from.isoformat(),
        "rate": str(plan.rate),
        "tier_period": plan.tier_period,
        "tiers": [{"threshold": str(t.threshold), "rate": str(t.rate)} for t in plan.tiers],
    }
