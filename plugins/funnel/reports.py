"""Funnel analytics and forecast, aggregated in SQL (GROUP BY), never row by row in Python.

Each query returns at most a few rows per stage or per month; Python only combines those
aggregates (exactly, in Decimal). The formulas are documented in docs/funnel.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, select

from core.models import TeamMember
from core.types import round_money
from plugins.funnel.models import Activity, Opportunity, Stage, StageChange, Target

O = Opportunity.__table__.c
H = StageChange.__table__.c
HUNDRED = Decimal(100)


@dataclass
class Scope:
    """What a report looks at: a pipeline, a period, and optionally one owner or one team.

    ``pipeline=None`` means every pipeline: only :func:`forecast`, :func:`lost_reasons` and
    :func:`target_attainment` accept it (the funnel by stage needs one pipeline's stages).
    """

    pipeline: object
    start: dt.date
    end: dt.date
    owner: object = None
    team: object = None

    def filters(self, *, pipeline: bool = True) -> list:
        conditions = [O.pipeline_id == self.pipeline.id] if pipeline and self.pipeline is not None else []
        if self.owner is not None:
            conditions.append(O.owner_id == self.owner.id)
        if self.team is not None:
            conditions.append(O.team_id == self.team.id)
        return conditions


def month_of(session, column):
    """``YYYY-MM`` of a date column, on SQLite (ISO text) and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7)


def percent(numerator, denominator) -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) * HUNDRED / Decimal(denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _days(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), ROUND_HALF_UP))


def funnel_report(app, session, scope: Scope) -> dict:
    """Every figure of the funnel for ``scope`` (see docs/funnel.md for the definitions)."""
    stages = list(scope.pipeline.stages)
    by_id = {s.id: s for s in stages}

    # 1. open deals now, per stage and probability override: count, value, weighted value
    open_rows = session.execute(
        select(O.stage_id, O.probability, func.count(), func.sum(O.value))
        .where(O.state == "open", *scope.filters()).group_by(O.stage_id, O.probability)).all()
    per_stage = {s.id: {"count": 0, "value": Decimal("0"), "weighted": Decimal("0")} for s in stages}
    for stage_id, override, count, value in open_rows:
        value = Decimal(value or 0)
        probability = override if override is not None else by_id[stage_id].probability
        per_stage[stage_id]["count"] += count
        per_stage[stage_id]["value"] += value
        per_stage[stage_id]["weighted"] += value * probability / HUNDRED

    # 2. deals closed in the period, per outcome and day (the index order: no sort), summed by month here
    closed_rows = session.execute(
        select(O.state, O.closed_on, func.count(), func.sum(O.value), func.sum(O.cycle_days))
        .where(O.state.in_(("won", "lost")), O.closed_on.between(scope.start, scope.end), *scope.filters())
        .group_by(O.state, O.closed_on)).all()
    won_count = lost_count = cycle_sum = 0
    won_value = lost_value = Decimal("0")
    trend: dict[str, dict] = {}
    for state, day, count, value, cycles in closed_rows:
        label = _month_label(day)
        row = trend.setdefault(label, _trend_row(label))
        row[f"{state}_count"] += count
        row[f"{state}_value"] += Decimal(value or 0)
        if state == "won":
            won_count += count
            won_value += Decimal(value or 0)
            cycle_sum += int(cycles or 0)
        else:
            lost_count += count
            lost_value += Decimal(value or 0)
    won_stage = next(s for s in stages if s.kind == "won")
    lost_stage = next(s for s in stages if s.kind == "lost")
    per_stage[won_stage.id].update(count=won_count, value=won_value, weighted=won_value)
    per_stage[lost_stage.id].update(count=lost_count, value=lost_value, weighted=Decimal("0"))

    # 3. deals created in the period, per day then month (the trend of what enters the funnel)
    for day, count, value in session.execute(
            select(O.created_on, func.count(), func.sum(O.value))
            .where(O.created_on.between(scope.start, scope.end), *scope.filters()).group_by(O.created_on)).all():
        label = _month_label(day)
        row = trend.setdefault(label, _trend_row(label))
        row["created_count"] += count
        row["created_value"] += Decimal(value or 0)

    conversion = conversion_rates(session, scope, stages)

    open_count = sum(per_stage[s.id]["count"] for s in stages if s.kind == "open")
    open_value = sum((per_stage[s.id]["value"] for s in stages if s.kind == "open"), Decimal("0"))
    weighted = sum((per_stage[s.id]["weighted"] for s in stages if s.kind == "open"), Decimal("0"))
    closed = won_count + lost_count
    average_deal = won_value / won_count if won_count else None
    average_cycle = Decimal(cycle_sum) / won_count if won_count else None
    velocity = None
    if closed and won_count and cycle_sum:
        # open deals × win rate × average deal size ÷ average cycle length (money per day)
        velocity = round_money(Decimal(open_count) * Decimal(won_count) / Decimal(closed) * average_deal
                               / average_cycle)
    return {
        "pipeline": scope.pipeline.name, "from": scope.start.isoformat(), "to": scope.end.isoformat(),
        "owner": scope.owner.login if scope.owner is not None else None,
        "team": scope.team.name if scope.team is not None else None,
        "stages": [{"stage": s.name, "kind": s.kind, "probability": str(s.probability),
                    "count": per_stage[s.id]["count"], "value": str(round_money(per_stage[s.id]["value"])),
                    "weighted_value": str(round_money(per_stage[s.id]["weighted"]))} for s in stages],
        "conversion": conversion,
        "open_count": open_count, "open_value": str(round_money(open_value)),
        "weighted_pipeline": str(round_money(weighted)),
        "won_count": won_count, "lost_count": lost_count, "won_value": str(round_money(won_value)),
        "win_rate": percent(won_count, closed),
        "average_deal_size": str(round_money(average_deal)) if average_deal is not None else None,
        "average_cycle_days": _days(average_cycle) if average_cycle is not None else None,
        "pipeline_velocity": str(velocity) if velocity is not None else None,
        "targets": target_attainment(session, scope),
        "trend": [{k: (str(round_money(v)) if isinstance(v, Decimal) else v) for k, v in trend[key].items()}
                  for key in sorted(trend)],
    }


def _month_label(day) -> str:
    """``YYYY-MM`` of a date (SQLite may hand back ISO text for a grouped date column)."""
    return day[:7] if isinstance(day, str) else f"{day.year}-{day.month:02d}"


def _trend_row(label: str) -> dict:
    return {"month": label, "created_count": 0, "created_value": Decimal("0"), "won_count": 0,
            "won_value": Decimal("0"), "lost_count": 0, "lost_value": Decimal("0")}


def conversion_rates(session, scope: Scope, stages) -> list[dict]:
    """Stage-to-stage conversion from the stage history of the period.

    Each deal counts once, at the furthest stage it entered during the period (won is beyond every
    open stage; lost is not progress). A deal that reached stage k+1 also passed stage k, even if
    it skipped it, so ``reached(k) = deals whose furthest stage is k or later`` and
    ``conversion(k -> k+1) = reached(k+1) / reached(k)``.

    Set-based and cheap: the deals with a change in the period are those whose summary
    (``first_change_on``, ``last_change_on``) overlaps it, read from one covering index. When all
    of a deal's changes fall in the period its furthest stage in the period is the summary's
    ``furthest_stage_id``; only the deals whose history straddles a bound of the period look at
    their own few ``funnel_stage_change`` rows of the period (an index seek per deal).
    """
    ladder = [s for s in stages if s.kind != "lost"]
    ladder_ids = [s.id for s in ladder]
    rank = {s.id: s.sequence for s in ladder}
    overlaps = [O.pipeline_id == scope.pipeline.id, O.furthest_stage_id.in_(ladder_ids),
                O.last_change_on >= scope.start, O.first_change_on <= scope.end, *scope.filters(pipeline=False)]
    inside = and_(O.first_change_on >= scope.start, O.last_change_on <= scope.end)
    # every change in the period: the furthest stage of the period is the deal's furthest stage
    counts = dict.fromkeys(rank.values(), 0)
    for stage_id, count in session.execute(
            select(O.furthest_stage_id, func.count()).where(*overlaps, inside).group_by(O.furthest_stage_id)):
        counts[rank[stage_id]] += count
    # the history straddles a bound: the deal's own changes of the period (a few rows, one index seek)
    in_period = (select(func.max(case(rank, value=H.to_stage_id)))
                 .where(H.opportunity_id == O.id, H.changed_on.between(scope.start, scope.end),
                        H.to_stage_id.in_(ladder_ids))
                 .scalar_subquery().label("furthest"))
    straddling = select(in_period).where(*overlaps, ~inside).subquery()
    for sequence, count in session.execute(
            select(straddling.c.furthest, func.count()).group_by(straddling.c.furthest)):
        if sequence is not None:
            counts[sequence] += count
    reached, running = {}, 0
    for stage in reversed(ladder):
        running += counts.get(stage.sequence, 0)
        reached[stage.id] = running
    return [{"from": a.name, "to": b.name, "reached_from": reached[a.id], "reached_to": reached[b.id],
             "rate": percent(reached[b.id], reached[a.id])} for a, b in zip(ladder, ladder[1:])]


def target_attainment(session, scope: Scope, *, gap: bool = False) -> list[dict]:
    """Each target overlapping the period: won revenue in the target's period, attainment, coverage.

    Attainment = won ÷ target; coverage = open pipeline value expected to close in the target's
    period ÷ remaining target (target − won), none when nothing remains. All pipelines count.
    With ``gap`` (the plan), each row also has ``weighted_pipeline`` (Σ value × probability of
    those open deals, rounded to the cent) and ``gap`` = target − won − weighted_pipeline
    (negative: the target should be passed by that much).
    """
    from plugins.funnel.targets import period_label

    query = select(Target).where(Target.period_end >= scope.start, Target.period_start <= scope.end) \
        .order_by(Target.period_start, Target.period_kind, Target.id)
    if scope.owner is not None:
        query = query.where(Target.user_id == scope.owner.id)
    elif scope.team is not None:
        members = select(TeamMember.user_id).where(TeamMember.team_id == scope.team.id)
        query = query.where((Target.team_id == scope.team.id) | Target.user_id.in_(members))
    rows = []
    for target in session.scalars(query):
        who = O.owner_id == target.user_id if target.user_id else O.team_id == target.team_id
        won = session.execute(select(func.sum(O.value)).where(
            O.state == "won", O.closed_on.between(target.period_start, target.period_end), who)).scalar()
        pipeline = session.execute(select(func.sum(O.value)).where(
            O.state == "open", O.expected_close.between(target.period_start, target.period_end), who)).scalar()
        won, pipeline = won or Decimal("0.00"), pipeline or Decimal("0.00")
        remaining = max(target.revenue - won, Decimal("0"))
        activities = None
        if target.activities is not None:
            done = select(func.count()).select_from(Activity).where(
                Activity.done_on.between(target.period_start, target.period_end))
            if target.user_id:
                done = done.where(Activity.owner_id == target.user_id)
            else:
                done = done.where(Activity.owner_id.in_(
                    select(TeamMember.user_id).where(TeamMember.team_id == target.team_id)))
            activities = session.execute(done).scalar()
        row = {
            "user": target.user.login if target.user else None, "team": target.team.name if target.team else None,
            "period": period_label(target), "target": str(target.revenue), "won": str(won),
            "attainment": percent(won, target.revenue), "remaining": str(remaining),
            "open_pipeline": str(pipeline), "coverage": percent(pipeline, remaining),
            "activities_target": target.activities, "activities_done": activities,
            "activities_attainment": percent(activities, target.activities) if activities is not None else None,
        }
        if gap:
            weighted = round_money(weighted_value(session, O.state == "open", who,
                                                  O.expected_close.between(target.period_start, target.period_end)))
            row.update(weighted_pipeline=str(weighted), gap=str(target.revenue - won - weighted))
        rows.append(row)
    return rows


def weighted_value(session, *conditions) -> Decimal:
    """Σ value × probability / 100 of the deals matching ``conditions``, exact (not rounded).

    Grouped in SQL by effective probability (the deal's override, else its stage's default), so
    Python multiplies a handful of sums, whatever the number of deals.
    """
    probability = func.coalesce(O.probability, Stage.probability)
    rows = session.execute(select(probability, func.sum(O.value)).select_from(Opportunity)
                           .join(Stage, Stage.id == O.stage_id).where(*conditions).group_by(probability)).all()
    return sum((Decimal(value or 0) * Decimal(rate) / HUNDRED for rate, value in rows), Decimal("0"))


def lost_reasons(session, scope: Scope) -> list[dict]:
    """Deals lost in the period per reason (count, value), the costliest reason first."""
    rows = session.execute(
        select(O.lost_reason, func.count(), func.sum(O.value))
        .where(O.state == "lost", O.closed_on.between(scope.start, scope.end), *scope.filters())
        .group_by(O.lost_reason)).all()
    rows = sorted(rows, key=lambda row: (-Decimal(row[2] or 0), -row[1], row[0] or ""))
    return [{"reason": reason, "count": count, "value": str(round_money(Decimal(value or 0)))}
            for reason, count, value in rows]


def forecast(app, session, scope: Scope, *, period: str = "month", probabilities: dict | None = None) -> list[dict]:
    """Open deals by expected close month (or quarter): count, value, weighted value (Σ value × probability).

    A scope without a pipeline counts the open deals of every pipeline (the plan does).
    ``probabilities`` (stage id -> percent, the learned method) replaces both the stage's
    default and the deal's override; without it each deal has its override, else its stage's.
    """
    stages = scope.pipeline.stages if scope.pipeline is not None else session.scalars(select(Stage))
    by_id = {s.id: s for s in stages}
    month = month_of(session, O.expected_close)
    conditions = [O.state == "open", *scope.filters()]
    if scope.start is not None:
        conditions.append(O.expected_close >= scope.start)
    if scope.end is not None:
        conditions.append(O.expected_close <= scope.end)
    rows = session.execute(select(month, O.stage_id, O.probability, func.count(), func.sum(O.value))
                           .where(and_(*conditions)).group_by(month, O.stage_id, O.probability)).all()
    buckets: dict[str, dict] = {}
    for label, stage_id, override, count, value in rows:
        if period == "quarter":
            label = f"{label[:4]}-Q{(int(label[5:7]) - 1) // 3 + 1}"
        elif period == "year":
            label = label[:4]
        bucket = buckets.setdefault(label, {"period": label, "count": 0, "value": Decimal("0"),
                                            "weighted": Decimal("0")})
        value = Decimal(value or 0)
        if probabilities is not None:
            probability = probabilities[stage_id]
        else:
            probability = override if override is not None else by_id[stage_id].probability
        bucket["count"] += count
        bucket["value"] += value
        bucket["weighted"] += value * probability / HUNDRED
    result = []
    for label in sorted(buckets):
        bucket = buckets[label]
        result.append({"period": label, "count": bucket["count"], "value": str(round_money(bucket["value"])),
                       "weighted_value": str(round_money(bucket["weighted"])),
                       "overdue": label < _label(app.today, period)})
    return result


def _label(day: dt.date, period: str) -> str:
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    return f"{day.year}-{day.month:02d}"


__all__ = ["Scope", "funnel_report", "forecast", "conversion_rates", "target_attainment", "lost_reasons",
           "weighted_value"]
