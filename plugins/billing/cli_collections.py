"""``crm collections ...`` and ``crm invoice penalties``: thin commands over the services, one transaction each.

A CASE is the number (or id) of the overdue invoice the case is about. Who acts is who runs crm
(``crm whoami``), kept in the case's history; ``--user LOGIN`` records someone else, which needs the
right core.impersonate. ``list --mine`` means the acting user.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import click

from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state

user_option = click.option("--user", "login", default=None, metavar="LOGIN",
                           help="Record the action as done by LOGIN (needs core.impersonate; default: you, "
                                "as `crm whoami` says); kept in the case's history.")

CASE_COLUMNS = [("case", "Case"), ("customer", "Customer"), ("state", "State"), ("assignee", "Assignee"),
                ("level", "Level"), ("due_date", "Due"), ("days_late", "Days late"), ("residual", "Open"),
                ("promise_date", "Promised for"), ("promise_amount", "Promised")]


@click.group()
def collections():
    """Collection cases: one per overdue invoice, assigned, with notes, promises, disputes and closing."""


@collections.command("list")
@click.option("--mine", is_flag=True, help="Only the cases assigned to you (or to --user).")
@click.option("--state", "state_", type=click.Choice(["open", "promised", "disputed", "closed"]), default=None,
              help="Only the cases in this state (default: every case not closed).")
@user_option
@json_option
@pass_state
def collections_list(state, mine, state_, login, as_json):
    """The cases, oldest due first."""
    from core.security import acting_user
    from plugins.billing.services_collections import list_cases

    app = state.app
    with app.transaction() as session:
        me = acting_user(app, session, login) if mine else None
        rows = list_cases(app, session, state=state_, assignee=(me.login if me else "") if mine else None)
    emit_json(rows) if as_json else emit_table(rows, CASE_COLUMNS, empty="no collection case")


@collections.command("show")
@click.argument("case")
@json_option
@pass_state
def collections_show(state, case, as_json):
    """Case CASE with its history (reminders, assignments, notes, promises, disputes, closing)."""
    from plugins.billing.services_collections import show_case

    app = state.app
    with app.transaction() as session:
        data = show_case(app, session, case)
    if as_json:
        emit_json(data)
        return
    emit_record(data, [("case", "Case"), ("customer", "Customer"), ("state", "State"), ("assignee", "Assignee"),
                       ("level", "Level"), ("due_date", "Due date"), ("days_late", "Days late"),
                       ("residual", "Open"), ("hold_reason", "Dispute"), ("promise_date", "Promised for"),
                       ("promise_amount", "Promised"), ("opened_on", "Opened"), ("closed_on", "Closed"),
                       ("closed_reason", "Closed because")])
    click.echo("History:")
    for entry in data["history"]:
        extra = " ".join(f"{key}={entry[key]}" for key in ("level", "assignee", "promise_date", "amount")
                         if entry.get(key) is not None)
        who = f" ({entry['user']})" if entry.get("user") else ""
        click.echo(f"  {entry['date']}  {entry['kind']}{who}  {extra}  {entry.get('text') or ''}".rstrip())


def _change(state, login, action, *args, **kwargs):
    """Run one change of a case in one transaction; print the case's new state."""
    from plugins.billing import services_collections as services

    app = state.app
    with app.transaction() as session:
        user = services.acting_user(session, login)
        case = getattr(services, action)(app, session, *args, user=user, **kwargs)
        data = services.show_case(app, session, case.invoice_id)
    click.echo(f"case {data['case']}: {data['state']}" + (f", assigned to {data['assignee']}"
                                                           if data["assignee"] else ""))


@collections.command("assign")
@click.argument("case")
@click.argument("assignee", metavar="USER")
@user_option
@pass_state
def collections_assign(state, case, assignee, login):
    """Give case CASE to USER (a login)."""
    _change(state, login, "assign_case", case, assignee)


@collections.command("note")
@click.argument("case")
@click.argument("text")
@user_option
@pass_state
def collections_note(state, case, text, login):
    """Write TEXT in the history of case CASE."""
    _change(state, login, "add_note", case, text)


@collections.command("promise")
@click.argument("case")
@click.argument("date", metavar="DATE")
@click.option("--amount", default=None, help="Amount promised (default: all that is open).")
@user_option
@pass_state
def collections_promise(state, case, date, amount, login):
    """The customer promises to pay case CASE by DATE (YYYY-MM-DD): no reminder until then.

    The first reminder run after DATE checks it: kept if the amount was paid, else broken (the
    case re-opens, the assignee and the sales owner are told).
    """
    _change(state, login, "promise", case, _date(date, "date"), _amount(amount))


@collections.command("dispute")
@click.argument("case")
@click.option("--reason", required=True, help="What the customer disputes.")
@user_option
@pass_state
def collections_dispute(state, case, reason, login):
    """The customer disputes case CASE: the invoice is held, no reminder until `resume`."""
    _change(state, login, "dispute", case, reason)


@collections.command("resume")
@click.argument("case")
@click.option("--note", default=None, help="How the dispute was settled.")
@user_option
@pass_state
def collections_resume(state, case, note, login):
    """The dispute of case CASE is settled without a credit note: reminders resume."""
    _change(state, login, "resume", case, note)


@collections.command("close")
@click.argument("case")
@click.option("--reason", required=True, help="Why the case is closed by hand.")
@user_option
@pass_state
def collections_close(state, case, reason, login):
    """Close case CASE by hand (payment, credit and write-off close it by themselves)."""
    _change(state, login, "close_by_hand", case, reason)


@collections.command("reopen")
@click.argument("case")
@click.option("--reason", default=None, help="Why.")
@user_option
@pass_state
def collections_reopen(state, case, reason, login):
    """Re-open case CASE closed by hand (its invoice still open): reminders resume."""
    _change(state, login, "reopen", case, reason)


@click.command("penalties")
@click.argument("ref")
@json_option
@pass_state
def invoice_penalties(state, ref, as_json):
    """Invoice the late interest and the 40 EUR indemnity of invoice REF (its case reached the formal notice).

    Interest runs to the day of payment (paid) or to today; a second call invoices only the
    interest accrued since the last penalty invoice. Numbered PEN<year>-NNNNNN, outside the scope of VAT.
    """
    from plugins.billing.services_invoices import get_invoice
    from plugins.billing.services_penalties import invoice_penalties as issue, penalty_dict

    app = state.app
    with app.transaction() as session:
        penalty = issue(app, session, get_invoice(session, ref, lock=app.dialect == "postgresql"))
        data = penalty_dict(session, penalty)
    if as_json:
        emit_json(data)
        return
    click.echo(f"penalty invoice {data['number']} for {data['invoice']}: interest {data['interest']} "
               f"({data['interest_from']} to {data['interest_to']}, {data['days']} days), "
               f"indemnity {data['indemnity']}, total {data['total']}")


def _date(value: str, field: str) -> dt.date:
    from core.errors import ValidationError

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)", record="case", field=field) from None


def _amount(value: str | None) -> Decimal | None:
    from core.errors import ValidationError

    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValidationError(f"{value!r} is not an amount", record="case", field="amount") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(f"{value!r}: an amount has at most 2 decimals", record="case", field="amount")
    return amount

