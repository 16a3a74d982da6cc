"""``crm report period`` and ``crm plan``: the manager's view, one section per enabled module."""

from __future__ import annotations

import click

from core.cli.context import DAY, emit_json, json_option, pass_state

LOCALES = click.Choice(["fr_FR", "en_GB", "en_US"])


def _show(state, hook: str, start, end, team, html_path, as_json, locale, label: str = "") -> None:
    from core.reports import build, make_period, render_html

    app = state.app
    with app.session() as session:
        try:
            period = make_period(session, start, end, app.today, team=team, label=label)
            report = build(app, hook, period, session)
            page = render_html(app, report, locale=locale) if html_path else None
            data = report.as_dict()  # while the records the sections hold are still attached
        finally:
            session.rollback()  # a report writes nothing, whatever a module's query did
    if page is not None:
        _write(html_path, page)
    if as_json:
        emit_json(data)
        return
    click.echo(f"{'Period report' if report.kind == 'report' else 'Plan'}: {period.label}"
               f"{f' (team {team})' if team else ''}")
    for section in report.sections:
        click.echo(f"\n{section.title}")
        width = max((len(label) for label, _ in section.summary), default=0)
        for label, value in section.summary:
            click.echo(f"  {label.ljust(width)}  {value}")
    if not report.sections:
        click.echo("no enabled module contributes to this view")
    if html_path:
        click.echo(f"\nwritten to {html_path}")


def _write(path: str, text: str) -> None:
    from core.files import write_private

    write_private(path, text.encode("utf-8"))


@click.group()
def report():
    """Reports over a period, one section per enabled module."""


@report.command("period")
@click.option("--from", "start", type=DAY, required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=DAY, required=True, help="Last day, included.")
@click.option("--team", default=None, help="Only this sales team's leads, deals, customers and orders.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the report with its charts to this HTML file.")
@click.option("--locale", type=LOCALES, default=None, help="Language of the HTML page (default: the company's).")
@json_option
@pass_state
def report_period(state, start, end, team, html_path, locale, as_json):
    """What happened between two dates: leads and deals, activities, invoicing and collection,
    receivables and their aging, purchases and stock (each enabled module adds its section)."""
    _show(state, "report_sections", start, end, team, html_path, as_json, locale)


@click.command("plan")
@click.option("--period", "period_text", required=True, metavar="PERIOD",
              help="The period to plan: 2027-Q1, 2027-H1, 2027-03 or 2027.")
@click.option("--team", default=None, help="Only this sales team.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the plan with its charts to this HTML file.")
@click.option("--locale", type=LOCALES, default=None, help="Language of the HTML page (default: the company's).")
@json_option
@pass_state
def plan(state, period_text, team, html_path, locale, as_json):
    """What to expect in a coming period: weighted pipeline revenue, cash-in from open invoices,
    purchases needed per supplier, and the gap to targets (each enabled module adds its section);
    and the cash plan: the bank balance week by week from the last statement's closing balance,
    receivables by each customer's own payment delay, bills to pay and orders to be billed."""
    from core.reports import parse_period

    start, end = parse_period(period_text)
    _show(state, "plan_sections", start, end, team, html_path, as_json, locale, label=period_text.upper())
