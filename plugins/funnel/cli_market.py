"""``crm market import|coverage|prospects``: the French company register beside our customers."""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state
from plugins.funnel.cli import current_user, user_option


def segment_options(function):
    for option in reversed([
        click.option("--naf", default=None, help="APE/NAF code or prefix: 4321A, 43.21A, 43."),
        click.option("--department", default=None, help="Département: 69, 2A, 974."),
        click.option("--size", default=None, help="Headcount range (10-49, 250+) or INSEE band code (12)."),
    ]):
        function = option(function)
    return function


@click.group()
def market():
    """The market: the French company register (Sirene) beside our customers, leads and lost deals."""


@market.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_state
def market_import(state, file, as_json):
    """Replace the market by FILE, a Sirene StockEtablissement CSV extract (all or nothing).

    Every row is checked (SIREN and SIRET check digits, NAF code, postal code, headcount band,
    dates, state A/F); a bad row refuses the whole file, naming the line and the field.
    """
    from core.cli.data import run_with_report
    from plugins.funnel.market import import_market

    app = state.app
    result = run_with_report(lambda progress: import_market(app, file, progress=progress), kind="market",
                             as_json=as_json)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(f"market: {result.imported} establishments imported ({result.active} active)")


@market.command("coverage")
@click.option("--by", type=click.Choice(["naf", "department", "size"]), default="naf", show_default=True,
              help="Segment by activity code, département or headcount band.")
@segment_options
@json_option
@pass_state
def market_coverage(state, by, naf, department, size, as_json):
    """Per segment: active companies (SIREN), our customers, leads and lost deals there, our revenue."""
    from plugins.funnel.market_report import coverage

    app = state.app
    with app.transaction() as session:
        data = coverage(session, by=by, naf=naf, department=department, size=size)
    if as_json:
        emit_json(data)
        return
    columns = [("label", {"naf": "NAF", "department": "Département", "size": "Headcount"}[by]),
               ("companies", "Companies"), ("customers", "Customers"), ("penetration", "Customers %"),
               ("leads", "Leads"), ("lost", "Lost"), ("revenue", "Revenue")]
    emit_table(data["segments"], columns, empty="no company in the market (crm market import FILE)")
    total = data["total"]
    click.echo(f"Total: {total['companies']} companies, {total['customers']} customers, {total['leads']} leads, "
               f"{total['lost']} lost, revenue {total['revenue']}")


@market.command("prospects")
@segment_options
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--create-leads", is_flag=True, help="Turn the companies listed into leads (source Sirene).")
@click.option("--owner", default=None, help="Owner of the leads created.")
@click.option("--team", default=None, help="Team of the leads created.")
@user_option
@json_option
@pass_state
def market_prospects(state, naf, department, size, limit, create_leads, owner, team, user_login, as_json):
    """Active companies of a segment we have never contacted (no lead, no partner with their SIREN)."""
    from plugins.funnel.market_report import create_leads as make_leads
    from plugins.funnel.market_report import prospects

    app = state.app
    with app.transaction() as session:
        rows = prospects(session, naf=naf, department=department, size=size, limit=limit)
        if create_leads:
            for row, lead_id in zip(rows, make_leads(app, session, rows, owner=owner, team=team,
                                                     user=current_user(session, user_login))):
                row["lead"] = lead_id
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("siren", "SIREN"), ("name", "Name"), ("naf", "NAF"), ("postal_code", "Postal code"),
                      ("city", "Town"), ("size", "Headcount"), *([("lead", "Lead")] if create_leads else [])],
               empty="no company left to contact in this segment")
    if create_leads:
        click.echo(f"{len(rows)} leads created")
