"""Forecast accuracy: a weekly snapshot of each open period's forecast, compared with what was won.

**Snapshot** (job ``funnel.forecast_snapshot``, run daily, one snapshot per ISO week): for the
business date D, the open periods are D's month and the next, D's quarter and the next. For each
period P, each method (configured, learned) and each salesperson (deal owner) and team:

- won = value of their deals won with closed_on in [P's first day, D];
- weighted pipeline = Σ value × probability / 100 of their open deals expected to close in P
  (configured: the deal's override, else its stage's; learned: the stage's learned probability,
  see ``learning.py``), rounded to the cent;
- forecast = won + weighted pipeline.

The first run of a week writes the week's rows; later runs that week add nothing (the snapshot
belongs to its week and is never rewritten: the unique key is week, period, method, subject).

**Accuracy** (``crm forecast accuracy --period P`` once P is over): actual = value won with
closed_on in P; for each snapshot error = forecast − actual; per method and salesperson or team,
over its n snapshots: bias = Σ error / n (positive: over-forecast), absolute error =
Σ |error| / n, both rounded to the cent, and the absolute error as a percentage of actual.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from core.dbutil import insert_ignore
from core.errors import ValidationError
from core.models import Team, User
from core.types import round_money
from plugins.funnel.learning import stage_probabilities
from plugins.funnel.models import FORECAST_METHODS, ForecastSnapshot, Opportunity, Pipeline, Stage
from plugins.funnel.targets import label_of, parse_period

O = Opportunity.__table__.c
HUNDRED = Decimal(100)


def open_periods(day: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(label, first day, last day) of ``day``'s month and the next, ``day``'s quarter and the next."""
    periods = []
    for kind, months in (("month", 1), ("quarter", 3)):
        first_month = (day.month - 1) // months * months + 1
        start = dt.date(day.year, first_month, 1)
        for _ in range(2):
            _, first, last = parse_period(label_of(kind, start, start))
            periods.append((label_of(kind, first, last), first, last))
            start = last + dt.timedelta(days=1)
    return periods


def week_of(day: dt.date) -> str:
    """The ISO week a snapshot taken on ``day`` belongs to: ``2026-W49``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def take_snapshot(app, session, as_of: dt.date) -> dict:
    """Write this week's snapshot of every open period (nothing if the week already has one)."""
    week = week_of(as_of)
    learned: dict[int, Decimal] = {}
    for pipeline in session.scalars(select(Pipeline)):
        learned.update(stage_probabilities(app, session, pipeline, today=as_of))
    configured = dict(session.execute(select(Stage.id, Stage.probability)).all())
    subjects = {f"user:{u}": {"user_id": u, "team_id": None} for u in session.scalars(
        select(User.id).where(User.role == "sales", User.active.is_(True)))}
    subjects.update({f"team:{t}": {"user_id": None, "team_id": t} for t in session.scalars(select(Team.id))})
    rows = []
    for label, start, end in open_periods(as_of):
        figures: dict[tuple[str, str], dict] = {}

        def cell(method, subject):
            return figures.setdefault((method, subject), {"won": Decimal(0), "weighted": Decimal(0), "open": 0})

        for owner_id, team_id, value in session.execute(
                select(O.owner_id, O.team_id, func.sum(O.value)).where(
                    O.state == "won", O.closed_on.between(start, as_of)).group_by(O.owner_id, O.team_id)):
            for subject in _subjects(owner_id, team_id, subjects):
                for method in FORECAST_METHODS:
                    cell(method, subject)["won"] += Decimal(value or 0)
        for owner_id, team_id, stage_id, override, count, value in session.execute(
                select(O.owner_id, O.team_id, O.stage_id, O.probability, func.count(), func.sum(O.value)).where(
                    O.state == "open", O.expected_close.between(start, end))
                .group_by(O.owner_id, O.team_id, O.stage_id, O.probability)):
            for subject in _subjects(owner_id, team_id, subjects):
                for method in FORECAST_METHODS:
                    probability = learned.get(stage_id, configured[stage_id]) if method == "learned" else (
                        override if override is not None else configured[stage_id])
                    target = cell(method, subject)
                    target["weighted"] += Decimal(value or 0) * probability / HUNDRED
                    target["open"] += count
        for subject, who in subjects.items():
            for method in FORECAST_METHODS:
                figure = figures.get((method, subject), {"won": Decimal(0), "weighted": Decimal(0), "open": 0})
                weighted = round_money(figure["weighted"])
                rows.append({"week": week, "taken_on": as_of, "period": label, "period_start": start,
                             "period_end": end, "method": method, "subject": subject, **who,
                             "won": figure["won"], "weighted_pipeline": weighted,
                             "forecast": figure["won"] + weighted, "open_deals": figure["open"]})
    written = insert_ignore(session, ForecastSnapshot.__table__, rows, ["week", "period", "method", "subject"])
    return {"week": week, "snapshots": written}


def _subjects(owner_id, team_id, subjects: dict) -> list[str]:
    keys = [f"user:{owner_id}"] if owner_id is not None else []
    if team_id is not None:
        keys.append(f"team:{team_id}")
    for key in keys:  # a deal of someone who left sales (or a new team) still counts for them
        subjects.setdefault(key, {"user_id": owner_id, "team_id": None} if key.startswith("user")
                            else {"user_id": None, "team_id": team_id})
    return keys


def snapshot_job(app, session, as_of: dt.date) -> dict:
    """The job ``funnel.forecast_snapshot``: this week's snapshot of the open periods."""
    return take_snapshot(app, session, as_of)


def accuracy(app, session, period_text: str) -> dict:
    """Each snapshot of a closed period against what was won: bias and absolute error per method and subject."""
    record = f"forecast accuracy {period_text}"
    kind, start, end = parse_period(period_text, record=record)
    label = label_of(kind, start, end)
    if kind not in ("month", "quarter"):
        raise ValidationError("snapshots are taken for months and quarters (2026-11 or 2026-Q4)", record=record,
                              field="period")
    if end >= app.today:
        raise ValidationError(f"the period ends on {end}: its accuracy is known once it is over", record=record,
                              field="period")
    actual: dict[str, Decimal] = {}
    for owner_id, team_id, value in session.execute(
            select(O.owner_id, O.team_id, func.sum(O.value)).where(
                O.state == "won", O.closed_on.between(start, end)).group_by(O.owner_id, O.team_id)):
        for key in ([f"user:{owner_id}"] if owner_id is not None else []) + (
                [f"team:{team_id}"] if team_id is not None else []):
            actual[key] = actual.get(key, Decimal(0)) + Decimal(value or 0)
    users = dict(session.execute(select(User.id, User.login)).all())
    teams = dict(session.execute(select(Team.id, Team.name)).all())
    groups: dict[tuple[str, str], list] = {}
    for snapshot in session.scalars(select(ForecastSnapshot).where(ForecastSnapshot.period == label)
                                    .order_by(ForecastSnapshot.method, ForecastSnapshot.subject,
                                              ForecastSnapshot.week)):
        groups.setdefault((snapshot.method, snapshot.subject), []).append(snapshot)
    rows = []
    for (method, subject), snapshots in sorted(groups.items(), key=lambda item: (
            item[0][0], item[0][1].split(":")[0] == "team", _name(item[0][1], users, teams))):
        won = actual.get(subject, Decimal("0.00"))
        errors = [s.forecast - won for s in snapshots]
        absolute = round_money(sum((abs(e) for e in errors), Decimal(0)) / len(errors))
        rows.append({
            "method": method, "user": users.get(snapshots[0].user_id), "team": teams.get(snapshots[0].team_id),
            "snapshots": len(snapshots), "actual": str(won),
            "bias": str(round_money(sum(errors, Decimal(0)) / len(errors))), "absolute_error": str(absolute),
            "absolute_error_percent": str((absolute * HUNDRED / won).quantize(Decimal("0.01"), ROUND_HALF_UP)) if won else None,
            "weeks": [{"week": s.week, "taken_on": s.taken_on.isoformat(), "won": str(s.won),
                       "weighted_pipeline": str(s.weighted_pipeline), "forecast": str(s.forecast),
                       "error": str(s.forecast - won)} for s in snapshots]})
    return {"period": label, "from": start.isoformat(), "to": end.isoformat(), "rows": rows}


def _name(subject: str, users: dict, teams: dict) -> str:
    kind, _, ident = subject.partition(":")
    return (users if kind == "user" else teams).get(int(ident), "")
