"""Probabilities learned from the deals we closed: how often a deal that was in a stage was won.

For one pipeline and the deals closed (won or lost) in the last ``learn_months`` months
(``[funnel]`` in crm.toml, default 12), for each open stage S:

- sample(S) = closed deals whose history shows them entering S (a ``funnel_stage_change`` row
  to S, created in it or moved into it), each deal once;
- won(S) = those of them that were won;
- learned(S) = won(S) / sample(S), a percentage with two decimals rounded half up;
- the probability used is learned(S) when sample(S) ≥ ``learn_min_sample`` (default 30), else the
  stage's configured probability (the basis says which);
- days to close from S = the median, over the won deals of the sample, of closed_on − the first
  day they entered S (the mean of the two middle values for an even count).

The same is computed per lead source, per team and per amount band (``learn_amount_bands``,
default ``[1000, 10000]``: under 1000, 1000 to under 10000, 10000 and over), each segment with its
own sample and the same minimum and fallback. One ``GROUP BY`` over the history joined to the
closed deals gives every count; Python adds up a few hundred rows.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Integer, case, func, literal, select

from core.models import Team
from plugins.funnel.models import Lead, Opportunity, StageChange

O = Opportunity.__table__.c
H = StageChange.__table__.c
L = Lead.__table__.c
HUNDRED = Decimal(100)
NO_SOURCE = "(no source)"


def settings(app) -> dict:
    """The learning settings of ``[funnel]``: months of history, minimum sample, amount bands."""
    section = app.config.section("funnel")
    bands = [Decimal(str(b)) for b in section.get("learn_amount_bands", [1000, 10000])]
    return {"months": int(section.get("learn_months", 12)), "minimum_sample": int(section.get("learn_min_sample", 30)),
            "bands": sorted(bands)}


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` minus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def rate(won: int, sample: int) -> Decimal | None:
    """won / sample as a percentage with two decimals, rounded half up; None without a sample."""
    if not sample:
        return None
    return (Decimal(won) * HUNDRED / Decimal(sample)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def median(histogram: dict[int, int]) -> Decimal | None:
    """The median of values given as ``{value: count}`` (the mean of the two middle ones for an even count)."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]
    found, seen = [], 0
    for value in sorted(histogram):
        count = histogram[value]
        while len(found) < 2 and seen <= wanted[len(found)] < seen + count:
            found.append(value)
        seen += count
    return (Decimal(found[0]) + Decimal(found[1])) / 2


def _days(session, later, earlier):
    if session.get_bind().dialect.name == "postgresql":
        return later - earlier
    return func.cast(func.julianday(later) - func.julianday(earlier), Integer())


def _band_label(bands: list[Decimal], index: int) -> str:
    text = [f"{b.normalize():f}" for b in bands]
    if index == 0:
        return f"< {text[0]}" if text else "all"
    if index == len(bands):
        return f">= {text[-1]}"
    return f"{text[index - 1]}-{text[index]}"


def learn(app, session, pipeline, *, today: dt.date | None = None) -> dict:
    """The learned probabilities of ``pipeline``'s open stages, overall and per segment (see the module doc)."""
    config = settings(app)
    today = today or app.today
    since = months_before(today, config["months"])
    minimum = config["minimum_sample"]
    stages = [s for s in pipeline.stages if s.kind == "open"]
    entered = (select(H.opportunity_id.label("deal_id"), H.to_stage_id.label("stage_id"),
                      func.min(H.changed_on).label("first_on"))
               .join(Opportunity, O.id == H.opportunity_id)
               .where(O.pipeline_id == pipeline.id, O.state.in_(("won", "lost")), O.closed_on > since,
                      O.closed_on <= today, H.to_stage_id.in_([s.id for s in stages]))
               .group_by(H.opportunity_id, H.to_stage_id).subquery())
    band = case(*[(O.value < bound, literal(i)) for i, bound in enumerate(config["bands"])],
                else_=literal(len(config["bands"])))
    days = case((O.state == "won", _days(session, O.closed_on, entered.c.first_on)), else_=None)
    rows = session.execute(
        select(entered.c.stage_id, O.state, O.team_id, L.source, band, days, func.count())
        .select_from(entered).join(Opportunity, O.id == entered.c.deal_id).outerjoin(Lead, L.id == O.lead_id)
        .group_by(entered.c.stage_id, O.state, O.team_id, L.source, band, days)).all()
    teams = dict(session.execute(select(Team.id, Team.name)).all())

    def blank():
        return {"sample": 0, "won": 0}

    overall = {s.id: blank() for s in stages}
    histogram = {s.id: {} for s in stages}
    segments = {"source": {}, "team": {}, "amount": {}}
    for stage_id, state, team_id, source, band_index, day_count, count in rows:
        keys = {"source": source or NO_SOURCE, "team": teams.get(team_id, "(no team)"),
                "amount": _band_label(config["bands"], int(band_index))}
        for cell in (overall[stage_id], *(segments[d].setdefault((stage_id, k), blank()) for d, k in keys.items())):
            cell["sample"] += count
            cell["won"] += count if state == "won" else 0
        if state == "won" and day_count is not None:
            histogram[stage_id][int(day_count)] = histogram[stage_id].get(int(day_count), 0) + count

    def figure(stage, cell) -> dict:
        learned = rate(cell["won"], cell["sample"])
        enough = cell["sample"] >= minimum and learned is not None
        return {"sample": cell["sample"], "won": cell["won"], "learned": _text(learned),
                "configured": str(stage.probability), "probability": str(learned if enough else stage.probability),
                "basis": "learned" if enough else "configured"}

    by_id = {s.id: s for s in stages}
    result_stages = []
    for stage in stages:
        typical = median(histogram[stage.id])
        result_stages.append({"stage": stage.name, **figure(stage, overall[stage.id]),
                              "days_to_close": _text(typical), "days_sample": sum(histogram[stage.id].values())})
    result_segments = {}
    for dimension, cells in segments.items():
        ordered = sorted(cells.items(), key=lambda item: (by_id[item[0][0]].sequence, item[0][1]))
        result_segments[dimension] = [{"stage": by_id[stage_id].name, dimension: key, **figure(by_id[stage_id], cell)}
                                      for (stage_id, key), cell in ordered]
    return {"pipeline": pipeline.name, "from": (since + dt.timedelta(days=1)).isoformat(), "to": today.isoformat(),
            "months": config["months"], "minimum_sample": minimum,
            "amount_bands": [str(b) for b in config["bands"]], "stages": result_stages, "segments": result_segments}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def stage_probabilities(app, session, pipeline, *, today: dt.date | None = None) -> dict[int, Decimal]:
    """Stage id -> the probability the ``learned`` forecast uses (learned, or configured below the minimum sample)."""
    learned = {row["stage"]: Decimal(row["probability"]) for row in learn(app, session, pipeline, today=today)["stages"]}
    return {s.id: learned.get(s.name, s.probability) if s.kind == "open" else s.probability for s in pipeline.stages}
