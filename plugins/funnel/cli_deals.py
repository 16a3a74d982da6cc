"""``crm deal ...`` (stages, won, lost, reopen) and ``crm pipeline ...``."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_record, emit_table, given, json_option, pass_state
from plugins.funnel.cli import current_user, deal_ref, user_option

DEAL_COLUMNS = [("id", "ID"), ("name", "Deal"), ("customer_name", "Customer"), ("stage", "Stage"),
                ("value", "Value"), ("probability", "Prob. %"), ("expected_close", "Expected close"),
                ("owner", "Owner"), ("team", "Team")]


@click.group()
def deal():
    """Opportunities: stages, won (the order is confirmed), lost, reopen."""


@deal.command("add")
@click.argument("name")
@click.option("--customer", default=None, help="Customer partner (id or name).")
@click.option("--value", default=None, help="Expected value (excl. VAT); product lines replace it.")
@click.option("--probability", default=None, help="Override the stage's default probability (percent).")
@click.option("--expected-close", required=True, metavar="YYYY-MM-DD", help="When the deal should close.")
@click.option("--owner", default=None, help="Owner's login (default: --user).")
@click.option("--team", default=None, help="Sales team.")
@click.option("--pipeline", default=None, help="Pipeline (default: the default one).")
@click.option("--stage", default=None, help="Starting stage (default: the first).")
@user_option
@json_option
@pass_state
def deal_add(state, name, user_login, as_json, **values):
    """Add a deal NAME."""
    from plugins.funnel.deals import create_deal, deal_dict

    app = state.app
    with app.transaction() as session:
        data = deal_dict(session, create_deal(app, session, {"name": name, **given(values)},
                                              user=current_user(session, user_login)))
    emit_json(data) if as_json else click.echo(f"deal {data['id']}: {data['name']} ({data['stage']})")


@deal.command("edit")
@click.argument("ref", shell_complete=deal_ref)
@click.option("--name", default=None)
@click.option("--customer", default=None, help="Customer partner (id or name).")
@click.option("--value", default=None, help="Expected value (deals without product lines).")
@click.option("--probability", default=None, help="Override the stage's probability (percent).")
@click.option("--default-probability", "clear_probability", is_flag=True, help="Follow the stage's probability again.")
@click.option("--expected-close", default=None, metavar="YYYY-MM-DD")
@click.option("--owner", default=None)
@click.option("--team", default=None)
@pass_state
def deal_edit(state, ref, clear_probability, **values):
    """Change fields of deal REF."""
    from plugins.funnel.deals import edit_deal, get_deal

    app = state.app
    with app.transaction() as session:
        changes = edit_deal(app, session, get_deal(session, ref, lock=True), given(values),
                            clear_probability=clear_probability)
    click.echo("changed: " + ", ".join(sorted(changes)) if changes else "nothing changed")


@deal.command("line")
@click.argument("ref", shell_complete=deal_ref)
@click.argument("sku")
@click.argument("quantity")
@click.option("--price", "unit_price", default=None, help="Unit price (default: the product's list price).")
@click.option("--discount", default=None, help="Discount in percent.")
@pass_state
def deal_line(state, ref, sku, quantity, unit_price, discount):
    """Add QUANTITY of product SKU to deal REF (its value becomes the lines' total)."""
    from plugins.funnel.deals import add_line, get_deal

    app = state.app
    with app.transaction() as session:
        deal_ = get_deal(session, ref, lock=True)
        add_line(app, session, deal_, given({"sku": sku, "quantity": quantity, "unit_price": unit_price,
                                             "discount": discount}))
        value = deal_.value
    click.echo(f"deal {ref}: value {value}")


@deal.command("move")
@click.argument("ref", shell_complete=deal_ref)
@click.argument("stage")
@click.option("--note", default=None)
@user_option
@pass_state
def deal_move(state, ref, stage, note, user_login):
    """Move deal REF to STAGE (recorded with the date and the user)."""
    from plugins.funnel.deals import get_deal, move

    app = state.app
    with app.transaction() as session:
        moved = move(app, session, get_deal(session, ref, lock=True), stage, user=current_user(session, user_login),
                     note=note)
        name = moved.stage.name
    click.echo(f"deal {ref}: {name}")


@deal.command("won")
@click.argument("ref", shell_complete=deal_ref)
@user_option
@pass_state
def deal_won(state, ref, user_login):
    """Mark deal REF won: its sales order is created and confirmed."""
    from plugins.funnel.deals import get_deal, win

    app = state.app
    with app.transaction() as session:
        won = win(app, session, get_deal(session, ref, lock=True), user=current_user(session, user_login))
        order_id = won.order_id
    click.echo(f"deal {ref}: won, order {order_id} confirmed")


@deal.command("lost")
@click.argument("ref", shell_complete=deal_ref)
@click.option("--reason", required=True, help="Why the deal was lost.")
@user_option
@pass_state
def deal_lost(state, ref, reason, user_login):
    """Mark deal REF lost, with a reason."""
    from plugins.funnel.deals import get_deal, lose

    app = state.app
    with app.transaction() as session:
        lose(app, session, get_deal(session, ref, lock=True), reason, user=current_user(session, user_login))
    click.echo(f"deal {ref}: lost")


@deal.command("reopen")
@click.argument("ref", shell_complete=deal_ref)
@click.option("--stage", default=None, help="Stage to reopen into (default: the one it was closed from).")
@click.option("--note", default=None)
@user_option
@pass_state
def deal_reopen(state, ref, stage, note, user_login):
    """Reopen a won or lost deal REF (recorded in its history)."""
    from plugins.funnel.deals import get_deal, reopen

    app = state.app
    with app.transaction() as session:
        reopened = reopen(app, session, get_deal(session, ref, lock=True), stage_name=stage,
                          user=current_user(session, user_login), note=note)
        name = reopened.stage.name
    click.echo(f"deal {ref}: reopened in {name}")


@deal.command("list")
@click.option("--state", "state_filter", type=click.Choice(["open", "won", "lost"]), default=None,
              help="Only deals in this state.")
@click.option("--owner", default=None, help="Only deals this user (login) owns.")
@click.option("--team", default=None, help="Only deals of this sales team.")
@click.option("--pipeline", default=None, help="Only deals of this pipeline (default: every pipeline).")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many rows.")
@json_option
@pass_state
def deal_list(state, state_filter, owner, team, pipeline, limit, as_json):
    """List deals."""
    from core.services.people import get_team, get_user
    from plugins.funnel.deals import deal_dict, list_deals
    from plugins.funnel.pipelines import get_pipeline

    app = state.app
    with app.transaction() as session:
        rows = [deal_dict(session, d) for d in list_deals(
            session, state=state_filter, owner=get_user(session, owner) if owner else None,
            team=get_team(session, team) if team else None,
            pipeline=get_pipeline(session, pipeline) if pipeline else None, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["customer_name"] = row["customer"]["name"] if row["customer"] else None
    emit_table(rows, DEAL_COLUMNS, empty="no deals")


@deal.command("show")
@click.argument("ref", shell_complete=deal_ref)
@json_option
@pass_state
def deal_show(state, ref, as_json):
    """Show deal REF with its lines and stage history."""
    from plugins.funnel.deals import deal_dict, get_deal

    app = state.app
    from core.extensions import attach

    with app.transaction() as session:
        found = get_deal(session, ref)
        data = attach(app, session, "deal", found.id, deal_dict(session, found, history=True))
    if as_json:
        emit_json(data)
        return
    data["customer_name"] = data["customer"]["name"] if data["customer"] else None
    data["order_number"] = data["order"]["number"] if data["order"] else None
    emit_record(data, [("id", "Deal"), ("name", "Name"), ("customer_name", "Customer"), ("pipeline", "Pipeline"),
                       ("stage", "Stage"), ("state", "State"), ("value", "Value"), ("probability", "Probability %"),
                       ("weighted_value", "Weighted"), ("expected_close", "Expected close"), ("owner", "Owner"),
                       ("team", "Team"), ("lost_reason", "Lost because"), ("order_number", "Order")])
    for line in data["lines"]:
        click.echo(f"  {line['sequence']}. {line['sku']} × {line['quantity']} @ {line['unit_price']} "
                   f"-{line['discount']}% = {line['subtotal']}")
    for change in data["history"]:
        click.echo(f"  {change['on']}  {change['action']:<7} {change['from'] or '-'} -> {change['to']}"
                   + (f"  ({change['user']})" if change["user"] else "") + (f"  {change['note']}" if change["note"] else ""))


@click.group()
def pipeline():
    """Pipelines and their stages with default probabilities."""


@pipeline.command("list")
@json_option
@pass_state
def pipeline_list(state, as_json):
    """List pipelines with their stages."""
    from plugins.funnel.pipelines import list_pipelines, pipeline_dict

    app = state.app
    with app.transaction() as session:
        rows = [pipeline_dict(session, p) for p in list_pipelines(session)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']}{' (default)' if row['default'] else ''}: " + ", ".join(
            f"{s['name']} {s['probability']}% [{s['deals']}]" + (" (archived)" if s["archived"] else "")
            for s in row["stages"]))


@pipeline.command("add")
@click.argument("name")
@click.option("--stages", required=True, metavar="NAME:PROB,...",
              help="Stages in order with their default probability. End with WON:100,LOST:0 to name the won and "
                   "lost stages (Gagné:100,Perdu:0); otherwise they are added in the company's language.")
@click.option("--default", "make_default", is_flag=True, help="Make it the default pipeline.")
@pass_state
def pipeline_add(state, name, stages, make_default):
    """Add a pipeline NAME."""
    from plugins.funnel.pipelines import create_pipeline, parse_stages, set_default

    app = state.app
    with app.transaction() as session:
        created = create_pipeline(session, name, parse_stages(stages), locale=app.config.company.locale)
        if make_default:
            set_default(session, created)
    click.echo(f"pipeline {name}: created")


@pipeline.command("probability")
@click.argument("name")
@click.argument("stage")
@click.argument("probability")
@pass_state
def pipeline_probability(state, name, stage, probability):
    """Set the default PROBABILITY (percent) of STAGE in pipeline NAME."""
    from plugins.funnel.pipelines import get_pipeline, set_probability

    app = state.app
    with app.transaction() as session:
        set_probability(session, get_pipeline(session, name), stage, probability)
    click.echo(f"pipeline {name}: {stage} at {probability}%")


@pipeline.group("stage")
def pipeline_stage():
    """Rename, reorder, archive or restore a stage (the deals' history is kept)."""


@pipeline_stage.command("rename")
@click.argument("name")
@click.argument("stage")
@click.argument("new_name")
@pass_state
def stage_rename(state, name, stage, new_name):
    """Rename STAGE of pipeline NAME to NEW_NAME (past moves show the new name)."""
    from plugins.funnel.pipelines import get_pipeline
    from plugins.funnel.stages import rename_stage

    app = state.app
    with app.transaction() as session:
        rename_stage(session, get_pipeline(session, name), stage, new_name)
    click.echo(f"pipeline {name}: stage {stage} renamed {new_name}")


@pipeline_stage.command("move")
@click.argument("name")
@click.argument("stage")
@click.argument("position", type=click.IntRange(min=1))
@pass_state
def stage_move(state, name, stage, position):
    """Put open STAGE of pipeline NAME at POSITION (1 = first); Won and Lost stay last."""
    from plugins.funnel.pipelines import get_pipeline
    from plugins.funnel.stages import move_stage

    app = state.app
    with app.transaction() as session:
        move_stage(session, get_pipeline(session, name), stage, position)
    click.echo(f"pipeline {name}: stage {stage} at position {position}")


@pipeline_stage.command("archive")
@click.argument("name")
@click.argument("stage")
@pass_state
def stage_archive(state, name, stage):
    """Archive STAGE of pipeline NAME: its deals keep their history, no deal can be moved into it."""
    from plugins.funnel.pipelines import get_pipeline
    from plugins.funnel.stages import archive_stage

    app = state.app
    with app.transaction() as session:
        archive_stage(session, get_pipeline(session, name), stage)
    click.echo(f"pipeline {name}: stage {stage} archived")


@pipeline_stage.command("restore")
@click.argument("name")
@click.argument("stage")
@pass_state
def stage_restore(state, name, stage):
    """Take archived STAGE of pipeline NAME back into use."""
    from plugins.funnel.pipelines import get_pipeline
    from plugins.funnel.stages import restore_stage

    app = state.app
    with app.transaction() as session:
        restore_stage(session, get_pipeline(session, name), stage)
    click.echo(f"pipeline {name}: stage {stage} restored")
