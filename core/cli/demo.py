"""``crm demo``: a French company's quarter replayed day by day in a new workspace."""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import sys
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
    setup, crm = how_to_run_crm()
    click.echo(f"The workspace stays on {summary['to']}, the story's last day ([workspace] today in crm.toml; "
               f"--today moves it). Look around:")
    for line in setup:
        click.echo(f"  {line}")
    click.echo(f"  cd {shlex.quote(summary['workspace'])}")
    click.echo(f"  {crm} deal list; {crm} invoice list --overdue; {crm} aging; {crm} po list; {crm} notifications list")
    if "billing" in summary:  # the accountant's hand-off of the period
        click.echo(f"The books: {crm} vat summary --period {summary['to'][:7]}, "
                   f"{crm} export fec --from {summary['from']} --to {summary['to']}")


def how_to_run_crm(argv0: str | None = None, executable: str | None = None, path: str | None = None) -> tuple[list[str], str]:
    """What to type so that ``crm`` runs this installation: (lines to type first, the command word).

    After ``python3 -m venv .venv && .venv/bin/pip install -e .``, ``crm`` is only in ``.venv/bin``:
    the line that activates that environment comes first; a ``crm`` on the PATH needs nothing; any
    other way of starting it (``python -m``) gets the full path of the interpreter.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    script = Path(argv0).absolute() if Path(argv0).name == "crm" else Path(executable).absolute().with_name("crm")
    on_path = shutil.which("crm", path=path)
    if on_path and Path(on_path).absolute() == script:
        return [], "crm"
    activate = script.with_name("activate")
    if script.is_file() and activate.is_file():
        return [f"source {shlex.quote(str(activate))}"], "crm"
    if script.is_file():
        return [], shlex.quote(str(script))
    return [], f"{shlex.quote(str(Path(executable).absolute()))} -m core.cli.main"
