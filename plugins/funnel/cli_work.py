"""``crm activity ...``, ``crm target ...``, ``crm funnel report`` and ``crm forecast``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from core.cli.context import emit_json, emit_table, given, json_option, pass_state
from plugins.funnel.cli import current_user, user_option

ACTIVITY_COLUMNS = [("id", "ID"), ("kind", "Kind"), ("subject", "Subject"), ("owner", "Owner"),
                    ("due_date", "Due"), ("linked_to", "About"), ("overdue", "Overdue"), ("done_on", "Done"),
                    ("outcome", "Outcome")]


@click.group()
def activity():
    """Calls, meetings, e-mails and tasks with due dates."""


@activity.command("add")
@click.argument("kind", type=click.Choice(["call", "meeting", "email", "task"]))
@click.argument("subject")
@click.option("--due", "due_date", required=True, metavar="YYYY-MM-DD", help="Due date.")
@click.option("--owner", default=None, help="Owner's login (default: --user).")
@click.option("--lead", default=None, help="Lead id.")
@click.option("--deal", default=None, help="Deal id.")
@click.option("--partner", default=None, help="Partner (id or name).")
@click.option("--note", default=None)
@user_option
@json_option
@pass_state
def activity_add(state, kind, subject, owner, user_login, as_json, **values):
    """Plan an activity of KIND (call, meeting, email, task) about SUBJECT."""
    from plugins.funnel.activities import activity_dict, create_activity

    app = state.app
    with app.transaction() as session:
        data = activity_dict(app, create_activity(app, session, given(
            {"kind": kind, "subject": subject, "owner": owner or user_login, **values})))
    emit_json(data) if as_json else click.echo(f"activity {data['id']}: {data['kind']} due {data['due_date']}")


@activity.command("done")
@click.argument("ref")
@click.option("--outcome", required=True, help="How it went.")
@pass_state
def activity_done(state, ref, outcome):
    """Mark activity REF done, with its outcome."""
    from plugins.funnel.activities import get_activity, mark_done

    app = state.app
    with app.transaction() as session:
        mark_done(app, session, get_activity(session, ref), outcome)
    click.echo(f"activity {ref}: done")


@activity.command("list")
@click.option("--mine", is_flag=True, help="Only yours (the user `crm whoami` names, or --user).")
@click.option("--owner", default=None, help="Only this user's.")
@click.option("--team", default=None, help="Only the members of this team.")
@click.option("--overdue", is_flag=True, help="Only open activities whose due date is past.")
@click.option("--all", "show_all", is_flag=True, help="Done activities too.")
@user_option
@json_option
@pass_state
def activity_list(state, mine, owner, team, overdue, show_all, user_login, as_json):
    """List open activities (by due date)."""
    from core.services.people import get_team, get_user
    from plugins.funnel.activities import activity_dict, list_activities

    app = state.app
    with app.transaction() as session:
        who = current_user(session, user_login, required=True) if mine else (
            get_user(session, owner) if owner else None)
        rows = [activity_dict(app, a) for a in list_activities(
            app, session, owner=who, team=get_team(session, team) if team else None, overdue=overdue,
            open_only=not show_all)]
    emit_json(rows) if as_json else emit_table(rows, ACTIVITY_COLUMNS, empty="no activities")


@click.group()
def target():
    """Revenue (and activity) targets per user or team and period."""


@target.command("set")
@click.option("--user", "user", default=None, help="User's login.")
@click.option("--team", default=None, help="Team name.")
@click.option("--period", required=True, help="2026 (year), 2027-H1 (half), 2026-Q4 (quarter), 2026-11 (month), "
              "2026-W49 (ISO week) or 2026-11-03..2026-11-20 (any range of days).")
@click.option("--revenue", required=True, help="Revenue target (excl. VAT).")
@click.option("--activities", default=None, help="Number of activities to complete.")
@json_option
@pass_state
def target_set(state, as_json, **values):
    """Set the target of a user or a team for a period (replaces the previous one)."""
    from plugins.funnel.targets import set_target, target_dict

    app = state.app
    with app.transaction() as session:
        data = target_dict(set_target(app, session, given(values)))
    emit_json(data) if as_json else click.echo(
        f"target {data['user'] or data['team']} {data['period']}: {data['revenue']}")


@target.command("list")
@json_option
@pass_state
def target_list(state, as_json):
    """List targets."""
    from plugins.funnel.targets import list_targets, target_dict

    app = state.app
    with app.transaction() as session:
        rows = [target_dict(t) for t in list_targets(session)]
    emit_json(rows) if as_json else emit_table(rows, [("user", "User"), ("team", "Team"), ("period", "Period"),
                                                      ("revenue", "Revenue"), ("activities", "Activities")],
                                               empty="no targets")


def _scope(app, session, start, end, team, owner, pipeline, *, default_year: bool = True):
    from core.services.people import get_team, get_user
    from plugins.funnel.pipelines import get_pipeline
    from plugins.funnel.reports import Scope

    if start is None and default_year:
        start = dt.date(app.today.year, 1, 1)
    if end is None and default_year:
        end = app.today
    if start is not None and end is not None and start > end:
        from core.errors import ValidationError

        raise ValidationError(f"{start} is after {end}", record="report", field="from")
    return Scope(pipeline=get_pipeline(session, pipeline), start=start, end=end,
                 owner=get_user(session, owner) if owner else None, team=get_team(session, team) if team else None)


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def scope_options(function):
    for option in reversed([
        click.option("--from", "start", default=None, callback=_date, metavar="YYYY-MM-DD",
                     help="First day (default: 1 January of the current year)."),
        click.option("--to", "end", default=None, callback=_date, metavar="YYYY-MM-DD", help="Last day (default: today)."),
        click.option("--team", default=None, help="Only this team's deals."),
        click.option("--owner", default=None, help="Only this owner's deals."),
        click.option("--pipeline", default=None, help="Pipeline (default: the default one)."),
    ]):
        function = option(function)
    return function


@click.group()
def funnel():
    """Funnel analytics."""


@funnel.command("report")
@scope_options
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the report with its charts to this HTML file.")
@click.option("--locale", type=click.Choice(["fr_FR", "en_GB", "en_US"]), default=None,
              help="Language of the HTML page (default: the company's).")
@json_option
@pass_state
def funnel_report_command(state, start, end, team, owner, pipeline, html_path, locale, as_json):
    """Count and value per stage, conversion, win rate, deal size, cycle, weighted pipeline, velocity, targets."""
    from plugins.funnel.reports import funnel_report

    app = state.app
    with app.transaction() as session:
        data = funnel_report(app, session, _scope(app, session, start, end, team, owner, pipeline))
    if html_path is not None:
        from core.rendering import render
        from plugins.funnel.charts import charts

        from core.files import write_private

        write_private(html_path, render(app, "funnel/report.html", locale=locale, report=data,
                                        charts=charts(data)).encode("utf-8"))
    if as_json:
        emit_json(data)
        return
    print_report(data)
    if html_path is not None:
        click.echo(f"HTML report written to {html_path}")


@funnel.command("learn")
@click.option("--pipeline", default=None, help="Pipeline (default: the default one).")
@json_option
@pass_state
def funnel_learn(state, pipeline, as_json):
    """Probabilities learned from the deals closed in the last months, beside the configured ones.

    Per open stage: the closed deals that were in it (sample), how many were won, the learned
    probability, the configured one, which one the learned forecast uses (below the minimum
    sample: the configured one) and the median days from entering the stage to winning. Then
    the same per lead source, team and amount band. Settings: [funnel] learn_months,
    learn_min_sample, learn_amount_bands in crm.toml.
    """
    from plugins.funnel.learning import learn
    from plugins.funnel.pipelines import get_pipeline

    app = state.app
    with app.transaction() as session:
        data = learn(app, session, get_pipeline(session, pipeline))
    if as_json:
        emit_json(data)
        return
    click.echo(f"Pipeline {data['pipeline']}: deals closed from {data['from']} to {data['to']} "
               f"(minimum sample {data['minimum_sample']})")
    columns = [("sample", "Closed"), ("won", "Won"), ("learned", "Learned %"), ("configured", "Configured %"),
               ("probability", "Used %"), ("basis", "Basis")]
    emit_table(data["stages"], [("stage", "Stage"), *columns, ("days_to_close", "Days to close")])
    for dimension, title in (("source", "Source"), ("team", "Team"), ("amount", "Amount")):
        if data["segments"][dimension]:
            emit_table(data["segments"][dimension], [("stage", "Stage"), (dimension, title), *columns])


def print_report(data: dict) -> None:
    click.echo(f"Funnel {data['pipeline']} from {data['from']} to {data['to']}"
               + (f", owner {data['owner']}" if data["owner"] else "") + (f", team {data['team']}" if data["team"] else ""))
    emit_table(data["stages"], [("stage", "Stage"), ("probability", "Prob. %"), ("count", "Count"),
                                ("value", "Value"), ("weighted_value", "Weighted")])
    emit_table(data["conversion"], [("from", "From"), ("to", "To"), ("reached_from", "Reached"),
                                    ("reached_to", "Went on"), ("rate", "Conversion %")], empty="no stage history")
    for key, label in (("open_count", "Open deals"), ("open_value", "Open value"),
                       ("weighted_pipeline", "Weighted pipeline"), ("won_count", "Won"), ("lost_count", "Lost"),
                       ("win_rate", "Win rate %"), ("average_deal_size", "Average deal size"),
                       ("average_cycle_days", "Average cycle (days)"), ("pipeline_velocity", "Velocity (per day)")):
        click.echo(f"{label:<22}{data[key] if data[key] is not None else '-'}")
    if data["targets"]:
        emit_table(data["targets"], [("user", "User"), ("team", "Team"), ("period", "Period"), ("target", "Target"),
                                     ("won", "Won"), ("attainment", "Attainment %"), ("open_pipeline", "Pipeline"),
                                     ("coverage", "Coverage %")])


@click.group("forecast", invoke_without_command=True)
@click.option("--period", type=click.Choice(["month", "quarter", "year"]), default="month", show_default=True)
@click.option("--method", type=click.Choice(["configured", "learned"]), default="configured", show_default=True,
              help="configured: each deal's probability (override, else its stage's); learned: the stage's "
                   "probability learned from closed deals (crm funnel learn).")
@click.option("--from", "start", default=None, callback=_date, metavar="YYYY-MM-DD", help="Expected close from.")
@click.option("--to", "end", default=None, callback=_date, metavar="YYYY-MM-DD", help="Expected close until.")
@click.option("--team", default=None, help="Only this team's deals.")
@click.option("--owner", default=None, help="Only this owner's deals.")
@click.option("--pipeline", default=None, help="Pipeline (default: the default one).")
@json_option
@pass_state
@click.pass_context
def forecast(ctx, state, period, method, start, end, team, owner, pipeline, as_json):
    """Weighted expected revenue of the open deals by expected close month (or quarter, year).

    `crm forecast accuracy` compares the weekly snapshots of past periods with what was won.
    """
    if ctx.invoked_subcommand is not None:
        return
    from plugins.funnel.learning import stage_probabilities
    from plugins.funnel.reports import forecast as compute

    app = state.app
    with app.transaction() as session:
        scope = _scope(app, session, start, end, team, owner, pipeline, default_year=False)
        probabilities = stage_probabilities(app, session, scope.pipeline) if method == "learned" else None
        rows = [{**row, "method": method} for row in compute(app, session, scope, period=period,
                                                              probabilities=probabilities)]
    emit_json(rows) if as_json else emit_table(rows, [("period", "Period"), ("count", "Deals"), ("value", "Value"),
                                                      ("weighted_value", "Weighted"), ("method", "Method"),
                                                      ("overdue", "Past")], empty="no open deals")


@forecast.command("accuracy")
@click.option("--period", "period_text", required=True, metavar="2026-Q4|2026-11",
              help="A month or quarter that is over.")
@json_option
@pass_state
def forecast_accuracy(state, period_text, as_json):
    """Compare each weekly snapshot of a past period's forecast with what was won.

    Per method (configured, learned) and salesperson or team: the number of weekly snapshots,
    what was won, the bias (mean of forecast - won: positive means over-forecast) and the mean
    absolute error (also as a percentage of what was won). Snapshots are taken by the job
    funnel.forecast_snapshot (crm jobs run).
    """
    from plugins.funnel.accuracy import accuracy

    app = state.app
    with app.transaction() as session:
        data = accuracy(app, session, period_text)
    if as_json:
        emit_json(data)
        return
    click.echo(f"Forecast accuracy for {data['period']} ({data['from']} to {data['to']})")
    emit_table(data["rows"], [("method", "Method"), ("user", "Salesperson"), ("team", "Team"),
                              ("snapshots", "Weeks"), ("actual", "Won"), ("bias", "Bias"),
                              ("absolute_error", "Abs. error"), ("absolute_error_percent", "Abs. error %")],
               empty="no snapshot of this period (the job funnel.forecast_snapshot takes them weekly)")
