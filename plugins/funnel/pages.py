"""The funnel's web pages: the pipeline board (deals as cards per stage) and a deal's stage move."""

from __future__ import annotations

from flask import redirect, request, url_for

from core.api.http import app as crm
from core.api.http import requires, session
from core.api.pages import Pages, page, render_page

pages = Pages("funnel_pages", __name__, menu=[("Pipeline", "funnel_pages.pipeline")])


@pages.get("/pipeline")
@requires("funnel.read")
@page
def pipeline():
    """The open deals of a pipeline (``?pipeline=NAME``, default the default one), one column per stage.

    A salesperson sees their own deals, a manager their team's (the record rules).
    """
    from plugins.funnel.deals import list_deals
    from plugins.funnel.pipelines import get_pipeline, list_pipelines

    chosen = get_pipeline(session(), request.args.get("pipeline") or None)
    stages = [s for s in chosen.stages if s.kind == "open" and not s.archived]
    cards = {stage.id: [] for stage in stages}
    for deal in list_deals(session(), state="open", pipeline=chosen, limit=None):
        cards.setdefault(deal.stage_id, []).append(deal)
    columns = [{"stage": stage.name, "deals": [{"id": d.id, "name": d.name, "value": d.value,
                                                "owner": d.owner.login if d.owner else None,
                                                "customer": d.customer.name if d.customer else None,
                                                "expected_close": d.expected_close} for d in cards[stage.id]],
                "total": sum((d.value for d in cards[stage.id]), start=0)} for stage in stages]
    return render_page("funnel/web/board.html", title=f"Pipeline {chosen.name}", pipeline=chosen.name,
                       pipelines=[p.name for p in list_pipelines(session())], columns=columns,
                       stages=[s.name for s in stages])


@pages.post("/deals/<ref>/move")
@requires("funnel.deal.write")
@page
def move_deal(ref):
    """Move a deal to the stage of the form (``crm deal move``); back to its board."""
    from core.security import acting_user
    from plugins.funnel.deals import get_deal, move

    deal = get_deal(session(), ref, lock=True)
    move(crm(), session(), deal, request.form.get("stage", ""), user=acting_user(crm(), session()),
         note=request.form.get("note") or None)
    return redirect(url_for("funnel_pages.pipeline", pipeline=deal.pipeline.name), 303)
