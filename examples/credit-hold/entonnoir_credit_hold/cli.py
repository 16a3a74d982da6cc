"""``crm hold ...``: thin commands over the services, one transaction each."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state


@click.group()
def hold():
    """Credit holds: no order is confirmed for a customer on hold."""


@hold.command("add")
@click.argument("partner")
@click.option("--reason", required=True, help="Why (shown when an order is refused), e.g. 'invoice F2026-0042 unpaid'.")
@click.option("--by", "placed_by", default=None, help="Who places the hold (free text, e.g. a login).")
@pass_state
def hold_add(state, partner, reason, placed_by):
    """Put PARTNER (id or exact name) on credit hold from --today."""
    from entonnoir_credit_hold.services import place_hold

    app = state.app
    with app.transaction() as session:
        placed = place_hold(app, session, partner, reason, placed_by)
        click.echo(f"partner {placed.partner.name} on credit hold since {placed.placed_on.isoformat()}")


@hold.command("remove")
@click.argument("partner")
@click.option("--by", "released_by", default=None, help="Who lifts the hold (free text, e.g. a login).")
@pass_state
def hold_remove(state, partner, released_by):
    """Lift the credit hold of PARTNER (id or exact name); the hold stays in the history."""
    from entonnoir_credit_hold.services import release_hold

    app = state.app
    with app.transaction() as session:
        released = release_hold(app, session, partner, released_by)
        click.echo(f"partner {released.partner.name}: credit hold lifted")


@hold.command("list")
@click.option("--all", "include_released", is_flag=True, help="Include lifted holds (history).")
@json_option
@pass_state
def hold_list(state, include_released, as_json):
    """Customers on credit hold, newest first."""
    from entonnoir_credit_hold.services import hold_dict, list_holds

    with state.app.transaction() as session:
        rows = [hold_dict(h) for h in list_holds(session, include_released=include_released)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["partner"] = row["partner"]["name"]
    columns = [("partner", "Customer"), ("placed_on", "Since"), ("placed_by", "By"), ("reason", "Reason")]
    if include_released:
        columns += [("released_on", "Lifted"), ("released_by", "Lifted by")]
    emit_table(rows, columns, empty="no customer is on credit hold")
