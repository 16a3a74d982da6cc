"""Opportunities (deals): creation, product lines, stage moves, won, lost, reopen.

State machine (data, one place)::

    open --move(stage)--> open
    open --win--> won        (creates and confirms the kernel sales order from the lines)
    open --lose(reason)--> lost
    won|lost --reopen--> open

Every transition writes a :class:`StageChange` row with the business date and the user, so
conversion rates and cycle lengths are measured from what happened, not guessed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from core.errors import NotFound, StateError, ValidationError
from core.security import require
from core.services.catalog import get_product
from core.services.partners import get_partner
from core.services.people import get_team, get_user
from core.types import round_money
from plugins.funnel.models_deals import Opportunity, OpportunityLine, StageChange
from plugins.funnel.outcomes import forget_outcome, record_outcome
from plugins.funnel.pipelines import check_not_archived, first_stage, get_pipeline, get_stage, terminal_stage

TRANSITIONS = {
    "move": (("open",), "open"),
    "win": (("open",), "won"),
    "lose": (("open",), "lost"),
    "reopen": (("won", "lost"), "open"),
}


def _check(deal: Opportunity, action: str) -> str:
    sources, target = TRANSITIONS[action]
    if deal.state not in sources:
        raise StateError(f"deal {deal.id}: cannot {action} a deal that is {deal.state} "
                         f"(only from {' or '.join(sources)})")
    return target


def _record(app, session, deal: Opportunity, action: str, from_stage_id, user=None, note=None) -> None:
    """Write the :class:`StageChange` of a transition and keep the deal's history summary in step."""
    session.add(StageChange(opportunity_id=deal.id, action=action, from_stage_id=from_stage_id,
                            to_stage_id=deal.stage_id, changed_on=app.today,
                            user_id=user.id if user is not None else None, note=note))
    summarise_change(deal, deal.stage, app.today)
    session.flush()


def summarise_change(deal: Opportunity, stage, day: dt.date) -> None:
    """Fold one change (entering ``stage`` on ``day``) into the deal's summary columns.

    The summary equals :func:`plugins.funnel.history.rebuild_summary` over the history: min and
    max of the change dates (a replayed earlier ``--today`` may write an older date), and the
    entered stage of highest sequence that is not Lost.
    """
    if deal.first_change_on is None or day < deal.first_change_on:
        deal.first_change_on = day
    if deal.last_change_on is None or day > deal.last_change_on:
        deal.last_change_on = day
    if stage.kind == "lost":
        return
    if deal.furthest_stage_id is None:
        deal.furthest_stage_id = stage.id
        return
    sequence = {s.id: s.sequence for s in deal.pipeline.stages}
    if stage.sequence > sequence.get(deal.furthest_stage_id, -1):
        deal.furthest_stage_id = stage.id


def default_close(app) -> dt.date:
    days = int(app.config.section("funnel").get("default_close_days", 30))
    return app.today + dt.timedelta(days=days)


def create_deal(app, session, raw: dict, *, user=None, record: str | None = None, lead=None,
                contact_id: int | None = None) -> Opportunity:
    """Validate and create an open deal in the pipeline's first stage (or ``stage``), recording its entry."""
    from core.schemas import load
    from plugins.funnel.schemas import DealSchema

    require(app, session, "funnel.deal.write")
    record = record or f"deal {str(raw.get('name', '')).strip()!r}"
    raw = dict(raw)
    if raw.get("expected_close") is None and lead is not None:
        raw["expected_close"] = default_close(app).isoformat()
    data = load(DealSchema(), {k: v for k, v in raw.items() if v is not None}, record)
    pipeline = get_pipeline(session, data["pipeline"])
    stage = get_stage(pipeline, data["stage"]) if data["stage"] else first_stage(pipeline)
    if stage.kind != "open":
        raise ValidationError("a new deal starts in an open stage", record=record, field="stage")
    check_not_archived(stage, record)
    deal = Opportunity(name=data["name"], pipeline=pipeline, stage=stage, state="open",
                       value=data["value"] or Decimal("0"), probability=data["probability"],
                       expected_close=data["expected_close"], created_on=app.today,
                       lead_id=lead.id if lead is not None else None, contact_id=contact_id)
    if data["customer"]:
        deal.customer = get_partner(session, data["customer"])
    deal.owner = get_user(session, data["owner"]) if data["owner"] else user
    # a deal without a team is its owner's team's (a converted lead's too), so team reports see it
    deal.team = get_team(session, data["team"]) if data["team"] else owner_team(session, deal.owner)
    session.add(deal)
    session.flush()
    _record(app, session, deal, "create", None, user)
    return deal


def owner_team(session, owner):
    """The team of ``owner``'s deals: the team they lead, else the first team they belong to (by name)."""
    from core.models import Team, TeamMember

    if owner is None:
        return None
    led = session.scalars(select(Team).where(Team.leader_id == owner.id).order_by(Team.name).limit(1)).first()
    if led is not None:
        return led
    return session.scalars(select(Team).join(TeamMember, TeamMember.team_id == Team.id)
                           .where(TeamMember.user_id == owner.id).order_by(Team.name).limit(1)).first()


def get_deal(session, ref, *, lock: bool = False) -> Opportunity:
    text = str(ref).strip()
    if not text.isdigit():
        raise NotFound(f"deal {text}: no such deal (give its number)")
    query = select(Opportunity).where(Opportunity.id == int(text))
    if lock:
        query = query.with_for_update()
    deal = session.scalars(query).first()
    if deal is None:
        raise NotFound(f"deal {text}: no such deal")
    return deal


def edit_deal(app, session, deal: Opportunity, raw: dict, *, clear_probability: bool = False) -> dict:
    """Change value, probability, expected close, owner, team, customer or name of a deal."""
    from core.schemas import load
    from plugins.funnel.schemas import DealSchema

    require(app, session, "funnel.deal.write")
    record = f"deal {deal.id}"
    current = {"name": deal.name, "expected_close": deal.expected_close.isoformat()}
    data = load(DealSchema(), {**current, **{k: v for k, v in raw.items() if v is not None}}, record)
    changes = {}

    def change(attr, new):
        if getattr(deal, attr) != new:
            changes[attr] = (getattr(deal, attr), new)
            setattr(deal, attr, new)

    for attr in ("name", "expected_close"):
        change(attr, data[attr])
    if raw.get("value") is not None:
        if deal.lines:
            raise ValidationError("the value of a deal with product lines is the sum of its lines", record=record,
                                  field="value")
        change("value", data["value"])
    if raw.get("probability") is not None:
        change("probability", data["probability"])
    if clear_probability:
        change("probability", None)
    if raw.get("owner"):
        change("owner_id", get_user(session, data["owner"]).id)
    if raw.get("team"):
        change("team_id", get_team(session, data["team"]).id)
    if raw.get("customer"):
        change("customer_id", get_partner(session, data["customer"]).id)
    session.flush()
    return changes


def add_line(app, session, deal: Opportunity, raw: dict) -> OpportunityLine:
    """Add a product line (price defaults to the list price); the deal's value becomes the lines' total."""
    from core.schemas import load
    from plugins.funnel.schemas import DealLineSchema

    require(app, session, "funnel.deal.write")
    record = f"deal {deal.id}"
    if deal.state != "open":
        raise StateError(f"deal {deal.id}: lines of a {deal.state} deal cannot change (reopen it first)")
    data = load(DealLineSchema(), raw, record)
    product = get_product(session, data["sku"])
    line = OpportunityLine(sequence=len(deal.lines) + 1, product=product, quantity=data["quantity"],
                           unit_price=product.list_price if data["unit_price"] is None else data["unit_price"],
                           discount=data["discount"])
    deal.lines.append(line)
    deal.value = lines_total(deal)
    session.flush()
    return line


def line_subtotal(line: OpportunityLine) -> Decimal:
    return round_money(line.quantity * line.unit_price * (Decimal(100) - line.discount) / Decimal(100))


def lines_total(deal: Opportunity) -> Decimal:
    """Sum of the lines' subtotals excluding VAT, each rounded to the cent as the order will."""
    return sum((line_subtotal(line) for line in deal.lines), Decimal("0.00"))


def move(app, session, deal: Opportunity, stage_name: str, *, user=None, note: str | None = None) -> Opportunity:
    """Move an open deal to another open stage of its pipeline (the won/lost stages go through win/lose)."""
    require(app, session, "funnel.deal.write")
    _check(deal, "move")
    stage = get_stage(deal.pipeline, stage_name)
    if stage.kind != "open":
        raise ValidationError(f"use `crm deal {'won' if stage.kind == 'won' else 'lost'}` to close a deal",
                              record=f"deal {deal.id}", field="stage")
    if stage.id == deal.stage_id:
        raise StateError(f"deal {deal.id}: already in stage {stage.name}")
    check_not_archived(stage, f"deal {deal.id}")
    previous = deal.stage_id
    deal.stage = stage
    session.flush()
    _record(app, session, deal, "move", previous, user, note)
    return deal


def win(app, session, deal: Opportunity, *, user=None) -> Opportunity:
    """Won: the deal's lines become a kernel sales order, created and confirmed through the kernel
    (``order_confirmed`` lets billing and procurement react), in this same transaction."""
    require(app, session, "funnel.deal.write")
    from core.models import SalesOrder
    from core.services.orders import confirm_order, create_order

    target = _check(deal, "win")
    record = f"deal {deal.id}"
    if deal.customer_id is None:
        raise ValidationError("a won deal needs a customer (crm deal edit --customer)", record=record,
                              field="customer")
    order = session.get(SalesOrder, deal.order_id) if deal.order_id else None
    if order is None or order.state == "cancelled":  # won again after a reopen: the live order stays
        if not deal.lines:
            raise ValidationError("a won deal needs product lines for its order (crm deal line DEAL SKU QTY)",
                                  record=record, field="lines")
        order = create_order(app, session, {
            "customer": str(deal.customer_id), "salesperson": deal.owner.login if deal.owner else None,
            "team": deal.team.name if deal.team else None, "origin": f"funnel:deal:{deal.id}",
            "lines": [{"sku": line.product.sku, "quantity": str(line.quantity), "unit_price": str(line.unit_price),
                       "discount": str(line.discount)} for line in deal.lines]}, record=record)
        confirm_order(app, session, order)
        deal.order_id = order.id
    previous = deal.stage_id
    deal.state = target
    deal.stage = terminal_stage(deal.pipeline, "won")
    deal.closed_on = app.today
    deal.cycle_days = (app.today - deal.created_on).days
    deal.lost_reason = None
    session.flush()
    _record(app, session, deal, "won", previous, user, f"order {order.number}")
    record_outcome(session, deal)
    return deal


def lose(app, session, deal: Opportunity, reason: str, *, user=None) -> Opportunity:
    require(app, session, "funnel.deal.write")
    target = _check(deal, "lose")
    if not reason or not reason.strip():
        raise ValidationError("a reason is required to mark a deal lost", record=f"deal {deal.id}", field="reason")
    previous = deal.stage_id
    deal.state = target
    deal.stage = terminal_stage(deal.pipeline, "lost")
    deal.closed_on = app.today
    deal.cycle_days = None
    deal.lost_reason = reason.strip()
    session.flush()
    _record(app, session, deal, "lost", previous, user, reason.strip())
    record_outcome(session, deal)
    return deal


def reopen(app, session, deal: Opportunity, *, stage_name: str | None = None, user=None,
           note: str | None = None) -> Opportunity:
    """Won or lost -> open again, in ``stage_name`` or the stage it was closed from; recorded in the history."""
    require(app, session, "funnel.deal.write")
    target = _check(deal, "reopen")
    if stage_name:
        stage = get_stage(deal.pipeline, stage_name)
        if stage.kind != "open":
            raise ValidationError("reopen into an open stage", record=f"deal {deal.id}", field="stage")
    else:
        last_close = session.scalars(select(StageChange).where(
            StageChange.opportunity_id == deal.id, StageChange.action.in_(("won", "lost")))
            .order_by(StageChange.id.desc()).limit(1)).first()
        stage = last_close.from_stage if last_close and last_close.from_stage else first_stage(deal.pipeline)
    check_not_archived(stage, f"deal {deal.id}")
    previous = deal.stage_id
    deal.state = target
    deal.stage = stage
    deal.closed_on = None
    deal.cycle_days = None
    session.flush()
    _record(app, session, deal, "reopen", previous, user, note)
    forget_outcome(session, deal)
    return deal


def list_deals(session, *, state: str | None = None, owner=None, team=None, pipeline=None, stage=None,
               limit: int | None = 200):
    """The deals matching the filters, oldest first, with what :func:`deal_dict` reads loaded in a
    few queries (not one per deal and per line)."""
    query = deals_query(state=state, owner=owner, team=team, pipeline=pipeline, stage=stage)
    return load_deals(session, query.limit(limit) if limit else query)


def deals_query(*, state: str | None = None, owner=None, team=None, pipeline=None, stage=None):
    """The ``Select`` of :func:`list_deals`, oldest first (the API reads it a page at a time)."""
    query = select(Opportunity).order_by(Opportunity.id)
    if state:
        query = query.where(Opportunity.state == state)
    if owner is not None:
        query = query.where(Opportunity.owner_id == owner.id)
    if team is not None:
        query = query.where(Opportunity.team_id == team.id)
    if pipeline is not None:
        query = query.where(Opportunity.pipeline_id == pipeline.id)
    if stage is not None:
        query = query.where(Opportunity.stage_id == stage.id)
    return query


def load_deals(session, query) -> list[Opportunity]:
    """The deals of ``query`` with what :func:`deal_dict` reads, in a few queries."""
    from sqlalchemy.orm import joinedload, selectinload

    deals = session.scalars(query.options(
        joinedload(Opportunity.pipeline), joinedload(Opportunity.stage), joinedload(Opportunity.owner),
        joinedload(Opportunity.team), joinedload(Opportunity.customer), joinedload(Opportunity.order),
        selectinload(Opportunity.lines).joinedload(OpportunityLine.product))).unique().all()
    return deals


def effective_probability(deal: Opportunity) -> Decimal:
    return deal.probability if deal.probability is not None else deal.stage.probability


def deal_dict(session, deal: Opportunity, *, history: bool = False) -> dict:
    order = deal.order
    result = {
        "id": deal.id, "name": deal.name, "pipeline": deal.pipeline.name, "stage": deal.stage.name,
        "state": deal.state, "value": str(deal.value), "probability": str(effective_probability(deal)),
        "probability_override": str(deal.probability) if deal.probability is not None else None,
        "weighted_value": str(round_money(deal.value * effective_probability(deal) / Decimal(100))),
        "expected_close": deal.expected_close.isoformat(), "owner": deal.owner.login if deal.owner else None,
        "team": deal.team.name if deal.team else None,
        "customer": {"id": deal.customer.id, "name": deal.customer.name} if deal.customer else None,
        "lead": deal.lead_id, "created_on": deal.created_on.isoformat(),
        "closed_on": deal.closed_on.isoformat() if deal.closed_on else None, "lost_reason": deal.lost_reason,
        "order": {"id": order.id, "number": order.number, "state": order.state} if order else None,
        "lines": [{"sequence": line.sequence, "sku": line.product.sku, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "discount": str(line.discount),
                   "subtotal": str(line_subtotal(line))} for line in deal.lines],
    }
    if history:
        changes = session.scalars(select(StageChange).where(StageChange.opportunity_id == deal.id)
                                  .order_by(StageChange.id))
        result["history"] = [{"on": c.changed_on.isoformat(), "action": c.action,
                              "from": c.from_stage.name if c.from_stage else None, "to": c.to_stage.name,
                              "user": c.user.login if c.user else None, "note": c.note} for c in changes]
    return result
