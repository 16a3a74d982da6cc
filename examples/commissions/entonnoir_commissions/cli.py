"""``crm commissions ...``: thin commands over the services, one transaction each."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state


@click.group()
def commissions():
    """Sales commissions: plans, and statements of what was earned on collected payments."""


@commissions.group()
def plan():
    """Commission plans per salesperson or team (a salesperson's own plan wins)."""


@plan.command("add")
@click.option("--salesperson", default=None, help="Login of the salesperson the plan is for.")
@click.option("--team", default=None, help="Team whose members get the plan (unless they have their own).")
@click.option("--rate", required=True, help="Percent of the collected amount excl. VAT, e.g. 5.")
@click.option("--tier", "tiers", multiple=True, metavar="THRESHOLD:RATE",
              help="From THRESHOLD collected (excl. VAT) in the period, RATE on what is above; repeat.")
@click.option("--per", "tier_period", type=click.Choice(["month", "quarter"]), default="month", show_default=True,
              help="The calendar period tier thresholds count over.")
@click.option("--from", "valid_from", default=None, help="First day it applies, YYYY-MM-DD (default --today).")
@json_option
@pass_state
def plan_add(state, salesperson, team, rate, tiers, tier_period, valid_from, as_json):
    """Add a plan; it replaces the owner's previous one from --from (plans are never edited)."""
    from entonnoir_commissions.services import add_plan, describe, plan_dict

    app = state.app
    with app.transaction() as session:
        added = add_plan(app, session, {"salesperson": salesperson, "team": team, "rate": rate,
                                        "tiers": list(tiers), "tier_period": tier_period, "valid_from": valid_from})
        data, text = plan_dict(added), describe(added)
    if as_json:
        emit_json(data)
        return
    click.echo(f"plan {data['id']} for {data['salesperson'] or 'team ' + data['team']} from {data['valid_from']}: {text}")


@plan.command("list")
@click.option("--salesperson", default=None, help="Only this salesperson's own plans (login).")
@click.option("--team", default=None, help="Only this team's plans.")
@json_option
@pass_state
def plan_list(state, salesperson, team, as_json):
    """Every plan, salespeople's own first, then teams', oldest first."""
    from entonnoir_commissions.services import describe, list_plans, plan_dict

    with state.app.transaction() as session:
        plans = list_plans(session, salesperson=salesperson, team=team)
        rows = [plan_dict(p) | {"rates": describe(p)} for p in plans]
    if as_json:
        emit_json([{k: v for k, v in row.items() if k != "rates"} for row in rows])
        return
    for row in rows:
        row["owner"] = row["salesperson"] or f"team {row['team']}"
    emit_table(rows, [("id", "Id"), ("owner", "For"), ("valid_from", "From"), ("rates", "Rates")],
               empty="no commission plan (add one with `crm commissions plan add`)")


@commissions.command("statement")
@click.option("--period", "period_text", required=True, metavar="PERIOD",
              help="2026-11 (a month), 2026-Q4, 2026-H2 or 2026.")
@click.option("--salesperson", default=None, help="Only this salesperson (login), even with nothing earned.")
@click.option("--send", is_flag=True,
              help="Also e-mail each salesperson their statement as a PDF (through the outbox; once per period).")
@json_option
@pass_state
def statement_command(state, period_text, salesperson, send, as_json):
    """What each salesperson earned in PERIOD: one line per payment (and tier band) and per
    reversing credit note, with the collected base excl. VAT, the rate and the commission.

    The PDF of one statement: `crm documents print commissions.statement LOGIN:PERIOD`.
    """
    from core.reports import parse_period
    from entonnoir_commissions.statement import statement

    start, end = parse_period(period_text)
    if send:
        from entonnoir_commissions.documents import send_statements

        with state.app.transaction() as session:
            queued, repeated = send_statements(state.app, session, period_text, salesperson)
        click.echo(f"statements queued: {queued}" + (f" ({repeated} already queued before)" if repeated else ""),
                   err=as_json)
    with state.app.transaction() as session:
        data = statement(session, start, end, label=period_text.upper(), salesperson=salesperson)
    if as_json:
        emit_json(data)
        return
    if not data["salespeople"]:
        click.echo(f"no commission in {data['period']['label']}")
        return
    for person in data["salespeople"]:
        click.echo(f"{person['name']} ({person['login']}) — {data['period']['label']}")
        rows = [line | {"reference": line["credit_note"] or line["payment_date"], "rate": line["rate"] or ""}
                for line in person["lines"]]
        emit_table(rows, [("date", "Booked"), ("invoice", "Invoice"), ("reference", "Payment / credit note"),
                          ("collected", "Collected"), ("base", "Base excl. VAT"), ("rate", "Rate %"),
                          ("commission", "Commission")], empty="  nothing booked")
        click.echo(f"  accrued {person['accrued']}  reversed {person['reversed']}  total {person['total']}\n")
    click.echo(f"total {data['total']}")
