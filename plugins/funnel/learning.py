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
own sample and the same minimum and fallback. The team, source and value are the deal's when it
closed. The history of the closed deals is read from its digest ``funnel_stage_outcome`` (see
``outcomes.py``): one ``GROUP BY`` in index order, and one range per amount band.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from core.models import Team
from plugins.funnel.models_deals import StageOutcome

X = StageOutcome
HUNDRED = Decimal(100)
NO_SOURCE = "(no source)"
#: above any deal's value: the largest amount a BIGINT of cents holds
MAX_VALUE = Decimal(2 ** 63 - 1) / 100


def settings(app) -> dict:
    """The learning settings of ``[funnel]``: months of history, minimum sample, amount bands."""
    from plugins.funnel.settings import FunnelSettings

    # checked with its defaults by plugins/funnel/settings.py when the modules are loaded
    section = {**FunnelSettings().load({}), **app.config.section("funnel")}
    return {"months": section["learn_months"], "minimum_sample": section["learn_min_sample"],
            "bands": [Decimal(str(b)) for b in section["learn_amount_bands"]]}


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


def _band_label(bands: list[Decimal], index: int) -> str:
    text = [f"{b.normalize():f}" for b in bands]
    if index == 0:
        return f"< {text[0]}" if text else "all"
    if index == len(bands):
        return f">= {text[-1]}"
    return f"{text[index - 1]}-{text[index]}"


def learn(app, session, pipeline, *, today: dt.date | None = None) -> dict:
    """The learned probabilities of ``pipeline``'s open stages, overall and per segment (see the module doc).

    Reads ``funnel_stage_outcome`` (``outcomes.py``): one ``GROUP BY`` streamed in the order of
    its segments index, then one range of values per amount band from its amount index.
    """
    config = settings(app)
    today = today or app.today
    since = months_before(today, config["months"])
    minimum = config["minimum_sample"]
    stages = [s for s in pipeline.stages if s.kind == "open"]
    window = [X.pipeline_id == pipeline.id, X.closed_on > since, X.closed_on <= today,
              X.stage_id.in_([s.id for s in stages])]
    rows = session.execute(
        select(X.stage_id, X.won, X.team_id, X.source, X.days, func.count()).where(*window)
        .group_by(X.stage_id, X.won, X.team_id, X.source, X.days)).all()
    teams = dict(session.execute(select(Team.id, Team.name)).all())

    def blank():
        return {"sample": 0, "won": 0}

    overall = {s.id: blank() for s in stages}
    histogram = {s.id: {} for s in stages}
    segments = {"source": {}, "team": {}, "amount": {}}
    for stage_id, won, team_id, source, days, count in rows:
        keys = {"source": source or NO_SOURCE, "team": teams.get(team_id, "(no team)")}
        for cell in (overall[stage_id], *(segments[d].setdefault((stage_id, k), blank()) for d, k in keys.items())):
            cell["sample"] += count
            cell["won"] += count if won else 0
        if won:
            histogram[stage_id][days] = histogram[stage_id].get(days, 0) + count
    # both ends of every band are given: with one open end SQLite's planner reads the values through
    # the segments index and the table (seconds) instead of a range of the amount index (milliseconds)
    bounds = [Decimal(0), *config["bands"], MAX_VALUE]
    for index, (low, high) in enumerate(zip(bounds, bounds[1:])):
        label = _band_label(config["bands"], index)
        for stage_id, won, count in session.execute(
                select(X.stage_id, X.won, func.count()).where(*window, X.value >= low, X.value < high)
                .group_by(X.stage_id, X.won)):
            cell = segments["amount"].setdefault((stage_id, label), blank())
            cell["sample"] += count
            cell["won"] += count if won else 0

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
    band_order = {_band_label(config["bands"], i): i for i in range(len(config["bands"]) + 1)}
    result_segments = {}
    for dimension, cells in segments.items():
        ordered = sorted(cells.items(), key=lambda item: (by_id[item[0][0]].sequence, band_order.get(item[0][1], 0),
                                                          item[0][1]))
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
