"""The per-deal summary of the stage history (first and last change dates, furthest stage entered).

``deals._record`` keeps it in step with every :class:`StageChange` it writes, in the same
transaction; :func:`rebuild_summary` recomputes it from the history, set-based (the migration
that added it runs the same statement, and the tests check both agree after every kind of change).
"""

from __future__ import annotations

from sqlalchemy import select, text

REBUILD = """
UPDATE funnel_opportunity SET
    first_change_on = (SELECT min(h.changed_on) FROM funnel_stage_change h
                       WHERE h.opportunity_id = funnel_opportunity.id),
    last_change_on = (SELECT max(h.changed_on) FROM funnel_stage_change h
                      WHERE h.opportunity_id = funnel_opportunity.id),
    furthest_stage_id = (SELECT h.to_stage_id FROM funnel_stage_change h
                         JOIN funnel_stage s ON s.id = h.to_stage_id
                         WHERE h.opportunity_id = funnel_opportunity.id AND s.kind <> 'lost'
                         ORDER BY s.sequence DESC LIMIT 1)
"""


def rebuild_summary(session) -> None:
    """Recompute every deal's history summary from ``funnel_stage_change`` (one UPDATE)."""
    session.execute(text(REBUILD))


def summary_rows(session) -> list[tuple]:
    """``(deal id, first change, last change, furthest stage id)`` for every deal, by id (for checks)."""
    from plugins.funnel.models import Opportunity as O

    return [tuple(row) for row in session.execute(
        select(O.id, O.first_change_on, O.last_change_on, O.furthest_stage_id).order_by(O.id))]
