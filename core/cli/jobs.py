"""``crm jobs``: list, run and work through the modules' scheduled jobs."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state


@click.group()
def jobs():
    """Scheduled jobs of the enabled modules (reminders, reorders, delivery)."""


@jobs.command("list")
@json_option
@pass_state
def jobs_list(state, as_json):
    """Each job with its schedule, how it catches up missed days, its last run and result."""
    from core.scheduler import job_status

    rows = job_status(state.app)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["last_counts"] = ", ".join(f"{k} {v}" for k, v in row["last_counts"].items())
        row["last_error"] = (row["last_error"] or "").splitlines()[0][:80] if row["last_error"] else ""
    emit_table(rows, [("name", "Job"), ("schedule", "Schedule"), ("catch_up", "Catch-up"), ("last_slot", "Last slot"),
                      ("last_outcome", "Outcome"), ("last_counts", "Counts"), ("last_error", "Error")],
               empty="no job (enable a module that has some)")


@jobs.command("run")
@click.option("--only", default=None, metavar="NAME", help="Run only this job.")
@click.option("--catch-up", is_flag=True,
              help="Make up the days missed since each daily job's last run, as the job declares: "
                   "'replay' jobs run each missed day in order, 'latest' jobs run once for --today.")
@click.option("--force", is_flag=True, help="Run even if the day is already done (recorded as a rerun).")
@click.option("--allow-future", is_flag=True,
              help="Accept a --today after the calendar date (a replay; or set [jobs] allow_future_dates = true).")
@json_option
@pass_state
def jobs_run(state, only, catch_up, force, allow_future, as_json):
    """Run the jobs due on --today (each job-day once; exit 1 if any failed or had failed records).

    Jobs that write messages run first, outbox delivery last, so this run's messages go out with
    it. A --today after the calendar date is refused unless --allow-future.
    """
    from core.scheduler import run_due

    app = state.app
    lines = []

    def show(result):
        if as_json:
            return
        text = f"{result.job} [{result.slot}]: {result.outcome}"
        if result.reason:
            text += f" ({result.reason})"
        if result.counts:
            text += " - " + ", ".join(f"{k} {v}" for k, v in result.counts.items())
        if result.error:
            text += f" - {result.error}"
        click.echo(text)
        for failure in result.failures:
            click.echo(f"  failed: {failure}")
        lines.append(text)

    results = run_due(app, app.today, only=only, catch_up=catch_up, force=force, on_result=show,
                      allow_future=allow_future)
    if as_json:
        emit_json([r.as_dict() for r in results])
    bad = [r for r in results if not r.ok]
    if bad:
        raise SystemExit(1)


@jobs.command("history")
@click.option("--job", default=None, help="Only this job's runs.")
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True, help="How many runs.")
@json_option
@pass_state
def jobs_history(state, job, limit, as_json):
    """The latest job runs, newest first (outcome, counts, errors)."""
    from core.scheduler import history

    rows = history(state.app, job=job, limit=limit)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["counts"] = ", ".join(f"{k} {v}" for k, v in row["counts"].items())
        row["error"] = (row["error"] or "").splitlines()[0][:80] if row["error"] else ""
    emit_table(rows, [("id", "Run"), ("job", "Job"), ("slot", "Slot"), ("outcome", "Outcome"),
                      ("started_at", "Started"), ("finished_at", "Finished"), ("counts", "Counts"),
                      ("error", "Error")], empty="no run yet")


@jobs.command("worker")
@click.option("--interval", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds between two rounds.")
@click.option("--max-rounds", type=click.IntRange(min=1), default=None, help="Stop after this many rounds.")
@click.option("--allow-future", is_flag=True,
              help="Accept a --today after the calendar date (a replay; or set [jobs] allow_future_dates = true).")
@pass_state
def jobs_worker(state, interval, max_rounds, allow_future):
    """Run what is due, sleep, repeat; stops cleanly on SIGTERM or Ctrl-C (the current job finishes).

    Each round catches up missed days as each job declares (see `crm jobs run --catch-up`) and
    ends with outbox delivery. Without --today, the business date is the calendar date.
    """
    import datetime as dt
    import signal
    import threading

    from core.scheduler import run_due

    app = state.app
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    app.today  # read once: --today, $CRM_TODAY or the workspace's own day stay fixed, the calendar moves on
    fixed_today = app.today_source != "calendar"
    rounds = 0
    click.echo(f"worker started (every {interval:g} s); SIGTERM or Ctrl-C stops it", err=True)
    while not stop.is_set():
        as_of = app.today if fixed_today else dt.date.today()
        for result in run_due(app, as_of, catch_up=True, allow_future=allow_future):
            if result.outcome != "skipped":
                click.echo(f"{result.job} [{result.slot}]: {result.outcome}"
                           + (f" ({result.reason})" if result.reason else "")
                           + (f" - {result.error}" if result.error else ""))
        rounds += 1
        if max_rounds is not None and rounds >= max_rounds:
            break
        stop.wait(interval)
    click.echo("worker stopped", err=True)
