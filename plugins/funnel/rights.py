"""The funnel's rights and record rules: who may touch leads, deals, activities, targets and pipelines."""

from __future__ import annotations

from core.security import Permission, RecordRule

PERMISSIONS = (
    Permission("funnel.read", "See leads, deals, activities, targets, pipelines and the funnel's reports",
               roles=("sales", "sales_manager", "accountant", "collections", "purchasing"),
               commands=("lead list", "lead show", "deal list", "deal show", "activity list", "target list",
                         "funnel report", "pipeline list", "market coverage", "market prospects",
                         "forecast accuracy", "form list")),
    Permission("funnel.lead.write", "Add, edit, qualify, disqualify, merge and convert leads",
               roles=("sales", "sales_manager"),
               commands=("lead add", "lead edit", "lead qualify", "lead disqualify", "lead merge", "lead convert")),
    Permission("funnel.lead.import", "Import leads and market data", roles=("sales_manager",),
               commands=("lead import", "market import")),
    Permission("funnel.deal.write", "Add, edit, move, win, lose and reopen deals; add and finish activities",
               roles=("sales", "sales_manager"),
               commands=("deal add", "deal edit", "deal line", "deal move", "deal won", "deal lost", "deal reopen",
                         "activity add", "activity done")),
    Permission("funnel.target.set", "Set the targets of users and teams", roles=("sales_manager",),
               commands=("target set",)),
    Permission("funnel.settings", "Change pipelines and stages, learn stage probabilities",
               roles=("sales_manager",),
               commands=("pipeline add", "pipeline probability", "pipeline stage archive", "pipeline stage move",
                         "pipeline stage rename", "pipeline stage restore", "funnel learn")),
)


def record_rules(register) -> None:
    """Leads, deals and activities belong to their owner."""
    from plugins.funnel.models import Activity, Lead, Opportunity

    register(RecordRule("funnel.lead", Lead, owner="owner_id"))
    register(RecordRule("funnel.deal", Opportunity, owner="owner_id"))
    register(RecordRule("funnel.activity", Activity, owner="owner_id"))
