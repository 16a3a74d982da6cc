"""Activities (calls, meetings, e-mails, tasks) and the daily job that reports overdue ones.

Overdue means today > due date: an activity due today is not late yet.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from core.errors import NotFound, StateError, ValidationError
from core.models import TeamMember, User
from core.security import require
from core.services.partners import get_partner
from core.services.people import get_user
from plugins.funnel.models import Activity, Lead, Opportunity


def create_activity(app, session, raw: dict) -> Activity:
    from core.schemas import load
    from plugins.funnel.schemas import ActivitySchema

    require(app, session, "funnel.deal.write")
    record = f"activity {str(raw.get('subject', '')).strip()!r}"
    data = load(ActivitySchema(), {k: v for k, v in raw.items() if v is not None}, record)
    activity = Activity(kind=data["kind"], subject=data["subject"], due_date=data["due_date"], note=data["note"],
                        created_on=app.today, owner_id=get_user(session, data["owner"]).id)
    if data["lead"] is not None:
        if session.get(Lead, data["lead"]) is None:
            raise NotFound(f"lead {data['lead']}: no such lead")
        activity.lead_id = data["lead"]
    if data["deal"] is not None:
        if session.get(Opportunity, data["deal"]) is None:
            raise NotFound(f"deal {data['deal']}: no such deal")
        activity.opportunity_id = data["deal"]
    if data["partner"]:
        activity.partner_id = get_partner(session, data["partner"]).id
    session.add(activity)
    session.flush()
    return activity


def get_activity(session, ref) -> Activity:
    text = str(ref).strip()
    activity = session.get(Activity, int(text)) if text.isdigit() else None
    if activity is None:
        raise NotFound(f"activity {text}: no such activity")
    return activity


def mark_done(app, session, activity: Activity, outcome: str) -> Activity:
    require(app, session, "funnel.deal.write")
    if activity.done_on is not None:
        raise StateError(f"activity {activity.id}: already done on {activity.done_on.isoformat()}")
    if not outcome or not outcome.strip():
        raise ValidationError("say how it went (--outcome)", record=f"activity {activity.id}", field="outcome")
    activity.done_on = app.today
    activity.outcome = outcome.strip()
    session.flush()
    return activity


def list_activities(app, session, *, owner: User | None = None, team=None, overdue: bool = False,
                    open_only: bool = True, limit: int | None = 500):
    query = select(Activity).order_by(Activity.due_date, Activity.id)
    if open_only or overdue:
        query = query.where(Activity.done_on.is_(None))
    if overdue:
        query = query.where(Activity.due_date < app.today)
    if owner is not None:
        query = query.where(Activity.owner_id == owner.id)
    if team is not None:
        query = query.where(Activity.owner_id.in_(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
    if limit:
        query = query.limit(limit)
    return session.scalars(query).all()


def activity_dict(app, activity: Activity) -> dict:
    link = ("lead", activity.lead_id) if activity.lead_id else ("deal", activity.opportunity_id) \
        if activity.opportunity_id else ("partner", activity.partner_id) if activity.partner_id else (None, None)
    return {"id": activity.id, "kind": activity.kind, "subject": activity.subject, "owner": activity.owner.login,
            "due_date": activity.due_date.isoformat(), "linked_to": f"{link[0]} {link[1]}" if link[0] else None,
            "done_on": activity.done_on.isoformat() if activity.done_on else None, "outcome": activity.outcome,
            "overdue": activity.done_on is None and activity.due_date < app.today, "note": activity.note}


def overdue_job(app, session, as_of: dt.date) -> dict:
    """Daily: one outbox message per owner listing their open activities due before ``as_of``.

    The dedup key (owner, day) makes a rerun of the same day write nothing twice; owners without
    an e-mail address are counted, not failed.
    """
    from core.outbox import notification_row, notify_many

    rows = session.execute(
        select(User.id, User.login, User.email, Activity.id, Activity.kind, Activity.subject, Activity.due_date)
        .join(User, User.id == Activity.owner_id)
        .where(Activity.done_on.is_(None), Activity.due_date < as_of)
        .order_by(User.login, Activity.due_date, Activity.id)).all()
    per_owner: dict[int, list] = {}
    for row in rows:
        per_owner.setdefault(row[0], []).append(row)
    messages, without_address = [], 0
    for owner_id, items in per_owner.items():
        login, email = items[0][1], items[0][2]
        if not email:
            without_address += 1
            continue
        lines = [f"- {kind} #{aid}: {subject} (due {due.isoformat()}, {(as_of - due).days} days late)"
                 for _, _, _, aid, kind, subject, due in items]
        messages.append(notification_row(
            app, recipients=[email], subject=f"{len(items)} overdue activit{'y' if len(items) == 1 else 'ies'}",
            text=f"Hello {login},\n\nthese activities are overdue on {as_of.isoformat()}:\n" + "\n".join(lines)
            + "\n\nMark them done with `crm activity done ID --outcome ...`.\n",
            related=f"core_user:{owner_id}", dedup_key=f"funnel:overdue:{owner_id}:{as_of.isoformat()}"))
    written = notify_many(app, session, messages)
    return {"owners": len(per_owner), "notified": written, "overdue": len(rows), "without_address": without_address}


def activity_counts(session, start: dt.date, end: dt.date, *, user_ids=None) -> dict[int, int]:
    """Done activities per owner between two dates (targets' activity counts)."""
    query = select(Activity.owner_id, func.count()).where(Activity.done_on.between(start, end)) \
        .group_by(Activity.owner_id)
    if user_ids is not None:
        query = query.where(Activity.owner_id.in_(list(user_ids)))
    return dict(session.execute(query).all())
