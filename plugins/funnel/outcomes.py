"""What the learned probabilities read: each open stage a closed deal went through, and how it ended.

A deal won or lost gets one :class:`~plugins.funnel.models.StageOutcome` row per open stage its
history entered (the first day it entered it, the day it closed, the days between, and the deal's
team, lead source and value at that moment); a reopened deal loses them until it closes again.
Both happen in the transition's own transaction (``deals.win``, ``deals.lose``, ``deals.reopen``),
so the learning reads one narrow table in index order instead of joining a million deals to
their history. :func:`rebuild_outcomes` recomputes the table from the history, set-based (the
migration that added it ran the same); the tests check both agree.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, text

from plugins.funnel.models_deals import Stage, StageChange, StageOutcome

H = StageChange.__table__.c


def record_outcome(session, deal) -> int:
    """Write the outcome rows of a deal that has just been won or lost; returns how many."""
    from plugins.funnel.models_leads import Lead

    forget_outcome(session, deal)
    entered = session.execute(
        select(H.to_stage_id, func.min(H.changed_on)).join(Stage, Stage.id == H.to_stage_id)
        .where(H.opportunity_id == deal.id, Stage.kind == "open").group_by(H.to_stage_id)).all()
    source = session.get(Lead, deal.lead_id).source if deal.lead_id else None
    session.add_all(StageOutcome(opportunity_id=deal.id, pipeline_id=deal.pipeline_id, stage_id=stage_id,
                                 won=deal.state == "won", entered_on=first, closed_on=deal.closed_on,
                                 days=(deal.closed_on - first).days, team_id=deal.team_id, source=source,
                                 value=deal.value) for stage_id, first in entered)
    session.flush()
    return len(entered)


def forget_outcome(session, deal) -> None:
    """A reopened deal is open again: it teaches nothing until it closes."""
    session.execute(delete(StageOutcome).where(StageOutcome.opportunity_id == deal.id))


def _days(dialect: str) -> str:
    if dialect == "postgresql":
        return "o.closed_on - e.first_on"
    return "CAST(julianday(o.closed_on) - julianday(e.first_on) AS INTEGER)"


def rebuild_sql(dialect: str) -> str:
    """The INSERT ... SELECT that derives every outcome row from the history of the closed deals."""
    return f"""
INSERT INTO funnel_stage_outcome (opportunity_id, pipeline_id, stage_id, won, entered_on, closed_on, days,
                                  team_id, source, value)
SELECT o.id, o.pipeline_id, e.stage_id, o.state = 'won', e.first_on, o.closed_on, {_days(dialect)},
       o.team_id, l.source, o.value
FROM (SELECT h.opportunity_id AS deal_id, h.to_stage_id AS stage_id, MIN(h.changed_on) AS first_on
      FROM funnel_stage_change h JOIN funnel_stage s ON s.id = h.to_stage_id
      WHERE s.kind = 'open' GROUP BY h.opportunity_id, h.to_stage_id) e
JOIN funnel_opportunity o ON o.id = e.deal_id
LEFT JOIN funnel_lead l ON l.id = o.lead_id
WHERE o.state IN ('won', 'lost') AND o.closed_on IS NOT NULL
"""


def rebuild_outcomes(session) -> None:
    """Recompute every outcome row from the stage history (two statements)."""
    session.execute(delete(StageOutcome))
    session.execute(text(rebuild_sql(session.get_bind().dialect.name)))


def outcome_rows(session) -> list[tuple]:
    """Every outcome row without its id, sorted (for checks)."""
    O = StageOutcome
    return sorted(tuple(row) for row in session.execute(
        select(O.opportunity_id, O.pipeline_id, O.stage_id, O.won, O.entered_on, O.closed_on, O.days, O.team_id,
               O.source, O.value)))
