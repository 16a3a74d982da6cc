"""Targets: a revenue objective (and optionally a count of done activities) per user or team per period."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from sqlalchemy import select

from core.errors import ValidationError
from core.security import require
from core.services.people import get_team, get_user
from plugins.funnel.models import Target

PERIODS = (
    ("half", re.compile(r"^(\d{4})-[Hh]([12])$")),
    ("quarter", re.compile(r"^(\d{4})-[Qq]([1-4])$")),
    ("week", re.compile(r"^(\d{4})-[Ww](\d{2})$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("year", re.compile(r"^(\d{4})$")),
    ("range", re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")),
)
PERIOD_HELP = "2026 (year), 2027-H1 (half), 2026-Q4 (quarter), 2026-11 (month), 2026-W49 (ISO week) " \
              "or 2026-11-03..2026-11-20 (any range of days)"


def parse_period(text: str, *, record: str = "target") -> tuple[str, dt.date, dt.date]:
    """A period as typed -> (kind, first day, last day), both days included.

    ``2026`` (year), ``2027-H1`` (half-year), ``2026-Q4`` (quarter), ``2026-11`` (month),
    ``2026-W49`` (ISO week: Monday to Sunday, week 1 holds the year's first Thursday) or
    ``2026-11-03..2026-11-20`` (any range).
    """
    from core.validators import FIRST_DATE, LAST_DATE

    value = (text or "").strip()
    years = [int(y) for y in re.findall(r"(?<!\d)(\d{4})(?=-|$|\.)", value)]
    if any(not FIRST_DATE.year <= year <= LAST_DATE.year for year in years):
        raise ValidationError(f"{text!r}: the year is out of range ({FIRST_DATE.year} to {LAST_DATE.year})",
                              record=record, field="period")
    for kind, pattern in PERIODS:
        match = pattern.match(value)
        if match is None:
            continue
        try:
            if kind == "range":
                start, end = dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2])
                if start > end:
                    break
                return kind, start, end
            if kind == "week":
                start = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
                return kind, start, start + dt.timedelta(days=6)
        except ValueError:
            break
        year, part = int(match[1]), int(match[2]) if pattern.groups > 1 else 1
        first, months = {"half": (6 * part - 5, 6), "quarter": (3 * part - 2, 3), "month": (part, 1),
                         "year": (1, 12)}[kind]
        if not 1 <= first <= 12:
            break
        last_month = first + months - 1
        end = dt.date(year, last_month, calendar.monthrange(year, last_month)[1])
        return kind, dt.date(year, first, 1), end
    raise ValidationError(f"{text!r} is not a period: {PERIOD_HELP}", record=record, field="period")


def label_of(kind: str, start: dt.date, end: dt.date) -> str:
    """The period's name as typed: ``2026-11``, ``2026-Q4``, ``2027-H1``, ``2026``, ``2026-W49``, ``A..B``."""
    if kind == "month":
        return f"{start.year}-{start.month:02d}"
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if kind == "half":
        return f"{start.year}-H{1 if start.month <= 6 else 2}"
    if kind == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "range":
        return f"{start.isoformat()}..{end.isoformat()}"
    return str(start.year)


def period_label(target: Target) -> str:
    return label_of(target.period_kind, target.period_start, target.period_end)


def set_target(app, session, raw: dict) -> Target:
    """Create or replace the target of a user or team for a period."""
    from core.schemas import load
    from plugins.funnel.schemas import TargetSchema

    require(app, session, "funnel.target.set")
    record = f"target {raw.get('user') or raw.get('team') or ''} {raw.get('period') or ''}".strip()
    data = load(TargetSchema(), {k: v for k, v in raw.items() if v is not None}, record)
    kind, start, end = parse_period(data["period"], record=record)
    user = get_user(session, data["user"]) if data["user"] else None
    team = get_team(session, data["team"]) if data["team"] else None
    query = select(Target).where(Target.period_kind == kind, Target.period_start == start, Target.period_end == end)
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
