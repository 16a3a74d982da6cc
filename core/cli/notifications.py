"""``crm notifications``: see, deliver and retry the outbox."""

from __future__ import annotations

import sys

import click

from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state


@click.group()
def notifications():
    """The notification outbox: list, show, deliver, retry."""


@notifications.command("list")
@click.option("--state", "state_filter", type=click.Choice(["pending", "sent", "failed"]), default=None,
              help="Only notifications in this state.")
@click.option("--related", default=None, help="Only those about this record (e.g. billing_invoice:42).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="How many, newest first.")
@json_option
@pass_state
def notifications_list(state, state_filter, related, limit, as_json):
    """List notifications, newest first."""
    from core.outbox import list_notifications, notification_dict

    with state.app.transaction() as session:
        rows = [notification_dict(n) for n in list_notifications(session, state=state_filter, related=related,
                                                                 limit=limit)]
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("id", "Id"), ("state", "State"), ("channel", "Channel"), ("recipients", "To"),
                      ("subject", "Subject"), ("attempts", "Tries"), ("created_at", "Created"),
                      ("last_error", "Last error")], empty="no notification")


@notifications.command("show")
@click.argument("notification_id", type=int)
@json_option
@pass_state
def notifications_show(state, notification_id, as_json):
    """Show one notification with its text."""
    from core.errors import NotFound
    from core.outbox import Message, Notification, notification_dict

    with state.app.transaction() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise NotFound(f"notification {notification_id}: no such notification")
        data = notification_dict(row) | {"text": Message.from_row(row, state.app, documents=False).text}
    if as_json:
        emit_json(data)
        return
    emit_record(data, [("id", "Id"), ("state", "State"), ("channel", "Channel"), ("recipients", "To"),
                       ("subject", "Subject"), ("related", "About"), ("attempts", "Tries"),
                       ("next_attempt_at", "Next try"), ("claimed_until", "Being sent until"),
                       ("last_error", "Last error"), ("attachments", "Attached")])
    click.echo("")
    click.echo(data["text"])


@notifications.command("deliver")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most this many.")
@json_option
@pass_state
def notifications_deliver(state, limit, as_json):
    """Send the pending notifications now (failures are retried later with backoff).

    Each message is claimed with a lease, sent, and marked sent in its own commit: killed at any
    point, a delivery repeats at most the message in flight (same Message-ID), and its other
    claimed messages go out once the lease ([notifications] lease_seconds) has run out.
    """
    from core.delivery import deliver

    progress = None
    if sys.stderr.isatty() and not as_json:
        progress = lambda done: click.echo(f"\r{done} processed", err=True, nl=False)  # noqa: E731
    report = deliver(state.app, limit=limit, progress=progress)
    if progress:
        click.echo("", err=True)
    if as_json:
        emit_json(report.as_dict())
        return
    click.echo(f"sent {report.sent}, to retry {report.retried}, failed {report.failed}")
    for error in report.errors:
        click.echo(f"  {error}")
    if report.failed:
        raise SystemExit(1)


@notifications.command("retry")
@click.argument("notification_id", required=False)
@click.option("--all-failed", is_flag=True, help="Retry every failed notification.")
@pass_state
def notifications_retry(state, notification_id, all_failed):
    """Put failed notification ID (or all of them) back in the queue."""
    from core.outbox import retry

    with state.app.transaction() as session:
        count = retry(state.app, session, notification_id, all_failed=all_failed)
    click.echo(f"{count} notification(s) queued again")
