"""Targets: a revenue objective (and optionally a count of done activities) per user or team per period."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from core.errors import ValidationError
from core.schemas import load
from core.services.people import get_team, get_user
from plugins.funnel.models import Target
from plugins.funnel.schemas import TargetSchema

PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2})|-[Qq]([1-4]))?$")


def parse_period(text: str, *, record: str = "target") -> tuple[str, dt.date, dt.date]:
    """``2026`` (year), ``2026-Q4`` (quarter) or ``2026-11`` (month) -> (kind, first day, last day)."""
    match = PERIOD_RE.match((text or "").strip())
    if not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        raise ValidationError(f"{text!r} is not a period (2026, 2026-Q4 or 2026-11)", record=record, field="period")
    year = int(match.group(1))
    if match.group(2):
        kind, first, months = "month", int(match.group(2)), 1
    elif match.group(3):
        kind, first, months = "quarter", (int(match.group(3)) - 1) * 3 + 1, 3
    else:
        kind, first, months = "year", 1, 12
    start = dt.date(year, first, 1)
    end_month = first + months
    end = (dt.date(year + 1, 1, 1) if end_month > 12 else dt.date(year, end_month, 1)) - dt.timedelta(days=1)
    return kind, start, end


def period_label(target: Target) -> str:
    start = target.period_start
    if target.period_kind == "month":
        return f"{start.year}-{start.month:02d}"
    if target.period_kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def set_target(app, session, raw: dict) -> Target:
    """Create or replace the target of a user or team for a period."""
    record = f"target {raw.get('user') or raw.get('team') or ''} {raw.get('period') or ''}".strip()
    data = load(TargetSchema(), {k: v for k, v in raw.items() if v is not None}, record)
    kind, start, end = parse_period(data["period"], record=record)
    user = get_user(session, data["user"]) if data["user"] else None
    team = get_team(session, data["team"]) if data["team"] else None
    query = select(Target).where(Target.period_kind == kind, Target.period_start == start)
    query = query.where(Target.user_id == user.id) if user else query.where(Target.team_id == team.id)
    target = session.scalars(query).first()
    if target is None:
        target = Target(user_id=user.id if user else None, team_id=team.id if team else None, period_kind=kind,
                        period_start=start, period_end=end, revenue=data["revenue"])
        session.add(target)
    target.revenue = data["revenue"]
    target.activities = data["activities"]
    session.flush()
    return target


def list_targets(session, *, start: dt.date | None = None, end: dt.date | None = None):
    query = select(Target).order_by(Target.period_start, Target.period_kind, Target.team_id, Target.user_id)
    if start is not None:
        query = query.where(Target.period_end >= start)
    if end is not None:
        query = query.where(Target.period_start <= end)
    return session.scalars(query).all()


def target_dict(target: Target) -> dict:
    return {"id": target.id, "user": target.user.login if target.user else None,
            "team": target.team.name if target.team else None, "period": period_label(target),
            "period_kind": target.period_kind, "start": target.period_start.isoformat(),
            "end": target.period_end.isoformat(), "revenue": str(target.revenue), "activities": target.activities}
