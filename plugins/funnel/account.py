"""The funnel's part of a customer's account (hook ``partner_account``): deals in progress and activities.

Deals in progress are the customer's open opportunities (value, stage, probability, weighted value,
expected close, owner); activities are those not done yet that concern the customer directly or
through one of its deals, oldest due first, flagged ``overdue`` when today > due date, and the
last ones done.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import or_, select

from core.models import User
from core.types import round_money
from plugins.funnel.deals import effective_probability
from plugins.funnel.models import Activity, Opportunity

DONE_SHOWN = 10


def account_section(app, session, partner):
    """The ``funnel`` section of ``partner``'s account (an ``AccountSection``), None when it has neither."""
    from core.services.partners import AccountSection

    today = app.today
    deals = session.scalars(select(Opportunity).where(Opportunity.customer_id == partner.id,
                                                      Opportunity.state == "open")
                            .order_by(Opportunity.expected_close, Opportunity.id)).all()
    logins = dict(session.execute(select(User.id, User.login)).all())
    concerns = or_(Activity.partner_id == partner.id, Activity.opportunity_id.in_(
        select(Opportunity.id).where(Opportunity.customer_id == partner.id)))
    pending = session.scalars(select(Activity).where(concerns, Activity.done_on.is_(None))
                              .order_by(Activity.due_date, Activity.id)).all()
    done = session.scalars(select(Activity).where(concerns, Activity.done_on.is_not(None))
                           .order_by(Activity.done_on.desc(), Activity.id.desc()).limit(DONE_SHOWN)).all()
    if not deals and not pending and not done:
        return None
    rows = []
    for deal in deals:
        probability = effective_probability(deal)
        rows.append({"id": deal.id, "name": deal.name, "stage": deal.stage.name, "value": str(deal.value),
                     "probability": str(probability),
                     "weighted": str(round_money(deal.value * probability / Decimal(100))),
                     "expected_close": deal.expected_close.isoformat(), "owner": logins.get(deal.owner_id)})
    activities = [_activity(a, logins, today) for a in pending]
    data = {"deals": rows, "pipeline_value": str(sum((deal.value for deal in deals), Decimal("0.00"))),
            "weighted_value": str(sum((Decimal(r["weighted"]) for r in rows), Decimal("0.00"))),
            "activities": activities, "overdue_activities": sum(1 for a in activities if a["overdue"]),
            "done_activities": [_activity(a, logins, today) for a in done]}
    summary = [("deals in progress", str(len(rows))), ("pipeline value", data["pipeline_value"]),
               ("weighted value", data["weighted_value"]), ("activities to do", str(len(activities))),
               ("of which overdue", str(data["overdue_activities"]))]
    tables = [("Deals in progress", rows, [("id", "Id"), ("name", "Deal"), ("stage", "Stage"), ("value", "Value"),
                                           ("probability", "%"), ("expected_close", "Close"), ("owner", "Owner")]),
              ("Activities", activities, [("due_date", "Due"), ("kind", "Kind"), ("subject", "Subject"),
                                          ("owner", "Owner"), ("overdue", "Overdue")])]
    return AccountSection(key="funnel", title="Funnel", order=40, data=data, summary=summary, tables=tables)


def _activity(activity: Activity, logins: dict, today) -> dict:
    return {"id": activity.id, "kind": activity.kind, "subject": activity.subject,
            "due_date": activity.due_date.isoformat(), "owner": logins.get(activity.owner_id),
            "deal": activity.opportunity_id, "done_on": activity.done_on.isoformat() if activity.done_on else None,
            "overdue": activity.done_on is None and today > activity.due_date}
