"""``crm demo``: a French company's quarter replayed day by day in a new workspace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from core.cli.context import emit_json, json_option


def _date(ctx, param, value):
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="entonnoir-demo")
@click.option("--days", type=click.IntRange(min=1, max=3660), default=90, show_default=True,
              help="How many days to replay.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same company and same story.")
@click.option("--start", default="2026-09-01", show_default=True, callback=_date, metavar="YYYY-MM-DD",
              help="First business day of the story.")
@click.option("--modules", "modules_text", default="funnel,billing,procurement", show_default=True,
              help="Modules to enable, comma-separated; the parts of the others are skipped.")
@json_option
def demo(folder, days, seed, start, modules_text, as_json):
    """Create a workspace in FOLDER (default ./entonnoir-demo) and replay DAYS days of a company in it.

    Every step is a `crm` command run with `--today` set to the day: leads arrive and become deals,
    deals are won (orders, invoices, stock) or lost, customers pay (or not), the daily jobs send
    reminders and draft purchase orders, which are confirmed and received. Ends with a summary and
    the paths of the reports it wrote.
    """
    from core.demo import Demo

    modules = [m.strip() for m in modules_text.split(",") if m.strip()]
    summary = Demo(folder, days=days, seed=seed, start=start, modules=modules, quiet=as_json).run()
    if as_json:
        emit_json(summary)
    else:
        render_summary(summary)


def render_summary(summary: dict) -> None:
    """The summary for a person, then where the reports are and how to open them."""
    def line(label, value):
        click.echo(f"  {label:<28}{value}")

    click.echo(f"Demo: {summary['days']} days from {summary['from']} to {summary['to']} "
               f"(seed {summary['seed']}, modules: {', '.join(summary['modules']) or 'none'})")
    if "funnel" in summary:
        f = summary["funnel"]
        click.echo("Funnel")
        line("leads", f"{f['leads']} ({f['duplicates_flagged']} flagged as duplicates, {f['merged']} merged)")
        line("qualified / disqualified", f"{f['qualified']} / {f['disqualified']}")
        line("converted to deals", f["converted"])
        line("deals won", f"{f['deals_won']} for {f['won_value']} EUR")
        line("deals lost", f"{f['deals_lost']} for {f['lost_value']} EUR")
        line("win rate", f"{f['win_rate']} %" if f["win_rate"] else "-")
        line("deals still open", f"{f['deals_open']} for {f['open_value']} EUR")
        line("activities done / planned", f"{f['activities_done']} / {f['activities_planned']}")
    o = summary["orders"]
    click.echo("Sales orders")
    states = ", ".join(f"{k} {v}" for k, v in o.items() if k in ("draft", "confirmed", "delivered", "cancelled"))
    line("orders", f"{o['count']} for {o['value_excl_vat']} EUR excl. VAT ({states})")
    line("refused for want of stock", o["refused_for_stock"])
    if "billing" in summary:
        b = summary["billing"]
        click.echo("Billing")
        line("invoices issued", f"{b['invoices']} for {b['invoiced']} EUR incl. VAT")
        line("paid / partly paid", f"{b.get('invoices_paid', 0)} / {b.get('invoices_partially_paid', 0)}")
        line("payments received", f"{b['payments']} for {b['collected']} EUR")
        line("overdue", f"{b['overdue']} for {b['overdue_amount']} EUR")
        line("open receivables", f"{b['open_receivables']} EUR (DSO {b['dso_days']} days)")
        levels = ", ".join(f"level {k}: {v}" for k, v in b["reminders_by_level"].items()) or "none"
        line("reminders sent", f"{b['reminders_sent']} messages ({levels})")
    if "procurement" in summary:
        p = summary["procurement"]
        click.echo("Procurement")
        states = ", ".join(f"{k} {v}" for k, v in p.items() if k in ("draft", "confirmed", "partial", "received",
                                                                      "cancelled"))
        line("purchase orders", f"{p['purchase_orders']} for {p['value_excl_vat']} EUR ({states})")
        line("products below minimum", ", ".join(p["products_below_minimum"]) or "none")
    n = summary["notifications"]
    click.echo("Notifications")
    line("messages written", f"{n['messages']} ({n['eml_files']} .eml files in {n['outbox']})")
    click.echo(f"{summary['commands']} crm commands run.")
    if summary["problems"]:
        click.echo(f"{len(summary['problems'])} commands failed (the story went on without them):")
        for problem in summary["problems"][:10]:
            click.echo(f"  {problem}")
    reports = summary["reports"]
    if reports:
        click.echo("Reports")
        for path in reports.values():
            click.echo(f"  {path}")
        if "period_html" in reports:
            click.echo(f"Open the period report with: python3 -m webbrowser file://{reports['period_html']}")
    click.echo(f"Look around: cd {summary['workspace']} && crm deal list, crm invoice list --overdue, "
               f"crm aging, crm po list, crm notifications list")
    if "billing" in summary:  # the accountant's hand-off of the period
        click.echo(f"The books: crm vat summary --period {summary['to'][:7]}, "
                   f"crm export fec --from {summary['from']} --to {summary['to']}")
