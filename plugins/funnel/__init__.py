"""Funnel module: leads, opportunities through pipeline stages, activities, targets, funnel reports.

Works alone on the kernel; a won opportunity becomes a confirmed kernel sales order, so billing
and procurement react to it without knowing this module exists. Imports here stay cheap: the
models, services and click commands are imported inside the hooks.
"""

from core.hookspecs import hookimpl

# Read by the kernel with ``ast`` (never imported to list, enable or disable the module): keep it literal.
MANIFEST = {
    "name": "funnel",
    "version": "0.1.0",
    "summary": "Leads, opportunities, pipeline stages, activities, targets and funnel reports",
    "depends": [],
    "migrations": "migrations",
    "commands": {"lead": "plugins.funnel.cli:lead", "deal": "plugins.funnel.cli_deals:deal",
                 "pipeline": "plugins.funnel.cli_deals:pipeline", "activity": "plugins.funnel.cli_work:activity",
                 "target": "plugins.funnel.cli_work:target", "funnel": "plugins.funnel.cli_work:funnel",
                 "forecast": "plugins.funnel.cli_work:forecast", "market": "plugins.funnel.cli_market:market",
                 "form": "plugins.funnel.cli_forms:form"},
}


@hookimpl
def register_models():
    from plugins.funnel import models

    return [models]


@hookimpl
def register_routes(register):
    from plugins.funnel.api import deals, leads
    from plugins.funnel.api_capture import forms
    from plugins.funnel.pages import pages

    register(leads)
    register(deals)
    register(forms)
    register(pages)


@hookimpl
def register_data_kinds(register):
    from plugins.funnel.importer import LEADS_KIND

    register(LEADS_KIND)


@hookimpl
def register_settings(register):
    from plugins.funnel.settings import FunnelSettings

    register("funnel", FunnelSettings)


@hookimpl
def register_template_dirs():
    from pathlib import Path

    return [Path(__file__).parent / "templates"]


@hookimpl
def register_jobs(register):
    from core.jobs import Job
    from plugins.funnel.accuracy import snapshot_job
    from plugins.funnel.activities import overdue_job

    # latest: today's digest lists everything overdue; one digest per missed day would be noise
    register(Job(name="funnel.overdue_activities", run=overdue_job, catch_up="latest",
                 summary="tell each owner about their overdue activities (one message per owner per day)"))
    # latest: a snapshot is what the forecast said in its week; the open pipeline of a past week
    # cannot be rebuilt (values, expected dates and overrides are not historised, deals closed since
    # are no longer open), so replaying a missed day would file today's pipeline under an old week.
    # One run as of today takes this week's snapshot if it has none; missed weeks stay missing.
    register(Job(name="funnel.forecast_snapshot", run=snapshot_job, catch_up="latest",
                 summary="snapshot the forecast of the open months and quarters, once a week (forecast accuracy)"))


@hookimpl
def install(app, session):
    """Seed the default pipeline once (New, Qualified, Proposal, Negotiation, Won, Lost; in French for a
    French company: Nouveau, Qualifié, Proposition, Négociation, Gagné, Perdu)."""
    from plugins.funnel.pipelines import ensure_default_pipeline

    ensure_default_pipeline(app, session)


@hookimpl
def report_sections(app, session, period):
    from plugins.funnel.sections import report_section

    return report_section(app, session, period)


@hookimpl
def plan_sections(app, session, period):
    from plugins.funnel.sections import plan_section

    return plan_section(app, session, period)


@hookimpl
def expected_demand(app, session, start, end):
    from plugins.funnel.sections import expected_demand

    return expected_demand(app, session, start, end)


@hookimpl
def partner_account(app, session, partner):
    """Deals in progress and activities of the customer (``crm partner account``)."""
    from plugins.funnel.account import account_section

    return account_section(app, session, partner)


@hookimpl
def register_permissions(register):
    from plugins.funnel.rights import PERMISSIONS

    for permission in PERMISSIONS:
        register(permission)


@hookimpl
def register_record_rules(register):
    from plugins.funnel.rights import record_rules

    record_rules(register)


@hookimpl
def register_fields(register):
    """Other modules may add fields to leads and deals (core.extensions)."""
    from core.extensions import Extensible

    register(Extensible("lead", "funnel_lead"))
    register(Extensible("deal", "funnel_opportunity"))
