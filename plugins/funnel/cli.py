"""``crm lead ...`` (thin: parse, call one service, print); the other groups are in cli_deals, cli_work, cli_market."""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.complete import references
from core.cli.context import emit_json, emit_record, emit_table, given, json_option, pass_state


def _lead_id():
    from plugins.funnel.models_leads import Lead

    return Lead.id


def _deal_id():
    from plugins.funnel.models_deals import Opportunity

    return Opportunity.id


#: ``shell_complete`` of the arguments naming a lead or a deal (their numbers)
lead_ref = references(_lead_id)
deal_ref = references(_deal_id)

user_option = click.option("--user", "user_login", default=None, metavar="LOGIN",
                           help="Record the action as done by LOGIN (needs core.impersonate; default: you, "
                                "as `crm whoami` says); kept in the history.")


def current_user(session, login: str | None, *, required: bool = False):
    """The acting user: who runs crm (core.security), or ``--user`` for a holder of core.impersonate."""
    from core.security import acting_user

    return acting_user(session.info["app"], session, login)


LEAD_OPTIONS = [("--company", "company", "Company the person works for."), ("--email", "email", "E-mail address."),
                ("--phone", "phone", "Phone number."), ("--siren", "siren", "The company's SIREN (9 digits)."),
                ("--website", "website", "The company's web site."), ("--source", "source", "Where the lead came from."),
                ("--campaign", "campaign", "Marketing campaign."), ("--owner", "owner", "Login of the owner."),
                ("--team", "team", "Sales team."), ("--notes", "notes", "Free notes.")]


def lead_options(function):
    for flag, dest, text in reversed(LEAD_OPTIONS):
        function = click.option(flag, dest, default=None, help=text)(function)
    return function


LEAD_COLUMNS = [("id", "ID"), ("name", "Name"), ("company", "Company"), ("email", "E-mail"), ("owner", "Owner"),
                ("state", "State"), ("duplicate", "Duplicate of"), ("created_on", "Created")]


def _duplicate_text(data: dict) -> str | None:
    parts = []
    if data["duplicate_of"]:
        parts.append(f"lead {data['duplicate_of']}")
    if data["duplicate_partner"]:
        parts.append(f"partner {data['duplicate_partner']}")
    if not parts:
        return None
    same = (data.get("duplicate_keys") or "").replace("company_name", "company + name").replace(",", ", ")
    return ", ".join(parts) + (f" (same {same})" if same else "")


@click.group()
def lead():
    """Leads: the wide end of the funnel."""


@lead.command("add")
@click.argument("name")
@lead_options
@user_option
@json_option
@pass_state
def lead_add(state, name, user_login, as_json, **values):
    """Add a lead NAME; a duplicate of a lead or partner is flagged (not refused)."""
    from plugins.funnel.leads import create_lead, lead_dict

    app = state.app
    with app.transaction() as session:
        data = lead_dict(session, create_lead(app, session, {"name": name, **given(values)},
                                              user=current_user(session, user_login)))
    if as_json:
        emit_json(data)
        return
    click.echo(f"lead {data['id']}: {data['name']}")
    if _duplicate_text(data):
        click.echo(f"warning: possible duplicate of {_duplicate_text(data)} (see `crm lead merge`)", err=True)


@lead.command("edit")
@click.argument("ref", shell_complete=lead_ref)
@click.option("--name", default=None, help="New name.")
@lead_options
@user_option
@pass_state
def lead_edit(state, ref, user_login, **values):
    """Change fields of lead REF."""
    from plugins.funnel.leads import get_lead, update_lead

    app = state.app
    with app.transaction() as session:
        changes = update_lead(app, session, get_lead(session, ref), given(values),
                              user=current_user(session, user_login))
    click.echo("changed: " + ", ".join(sorted(changes)) if changes else "nothing changed")


@lead.command("list")
@click.option("--state", "state_filter", type=click.Choice(["new", "qualified", "disqualified", "converted", "merged"]),
              default=None, help="Only leads in this state.")
@click.option("--owner", default=None, help="Only this owner's leads.")
@click.option("--duplicates", is_flag=True, help="Only leads flagged as duplicates (not yet merged or converted).")
@click.option("--search", default=None, help="Text in the name, company or e-mail.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many rows.")
@json_option
@pass_state
def lead_list(state, state_filter, owner, duplicates, search, limit, as_json):
    """List leads."""
    from core.services.people import get_user
    from plugins.funnel.leads import lead_dict, list_leads

    app = state.app
    with app.transaction() as session:
        rows = [lead_dict(session, lead) for lead in list_leads(
            session, state=state_filter, owner=get_user(session, owner) if owner else None,
            duplicates=duplicates, search=search, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["duplicate"] = _duplicate_text(row)
    emit_table(rows, LEAD_COLUMNS, empty="no leads")


@lead.command("show")
@click.argument("ref", shell_complete=lead_ref)
@json_option
@pass_state
def lead_show(state, ref, as_json):
    """Show lead REF with its history."""
    from plugins.funnel.leads import get_lead, lead_dict

    app = state.app
    from core.extensions import attach

    with app.transaction() as session:
        found = get_lead(session, ref)
        data = attach(app, session, "lead", found.id, lead_dict(session, found, history=True))
    if as_json:
        emit_json(data)
        return
    data["duplicate"] = _duplicate_text(data)
    emit_record(data, [("id", "Lead"), ("name", "Name"), ("company", "Company"), ("email", "E-mail"),
                       ("phone", "Phone"), ("source", "Source"), ("campaign", "Campaign"), ("owner", "Owner"),
                       ("team", "Team"), ("state", "State"), ("disqualify_reason", "Reason"),
                       ("duplicate", "Duplicate of"), ("partner", "Partner"), ("deals", "Deals"),
                       ("merged_into", "Merged into"), ("created_on", "Created"), ("notes", "Notes")])
    for event in data["history"]:
        click.echo(f"  {event['on']}  {event['action']:<12} {event['detail'] or ''}"
                   + (f"  ({event['user']})" if event["user"] else ""))


@lead.command("qualify")
@click.argument("ref", shell_complete=lead_ref)
@user_option
@pass_state
def lead_qualify(state, ref, user_login):
    """Mark lead REF qualified."""
    from plugins.funnel.leads import get_lead, qualify

    app = state.app
    with app.transaction() as session:
        qualify(app, session, get_lead(session, ref), user=current_user(session, user_login))
    click.echo(f"lead {ref}: qualified")


@lead.command("disqualify")
@click.argument("ref", shell_complete=lead_ref)
@click.option("--reason", required=True, help="Why the lead is not worth pursuing.")
@user_option
@pass_state
def lead_disqualify(state, ref, reason, user_login):
    """Mark lead REF disqualified, with a reason."""
    from plugins.funnel.leads import disqualify, get_lead

    app = state.app
    with app.transaction() as session:
        disqualify(app, session, get_lead(session, ref), reason, user=current_user(session, user_login))
    click.echo(f"lead {ref}: disqualified")


@lead.command("convert")
@click.argument("ref", shell_complete=lead_ref)
@click.option("--partner", "partner_ref", default=None, help="Link this existing partner (id or name).")
@click.option("--new-partner", is_flag=True, help="Create a partner even if a matching one exists.")
@click.option("--deal-name", default=None, help="Name of the deal (default: the company or the lead's name).")
@click.option("--value", default=None, help="Expected value of the deal.")
@click.option("--expected-close", default=None, metavar="YYYY-MM-DD", help="Expected close date (default: in 30 days).")
@click.option("--pipeline", default=None, help="Pipeline (default: the default pipeline).")
@user_option
@json_option
@pass_state
def lead_convert(state, ref, partner_ref, new_partner, deal_name, value, expected_close, pipeline, user_login,
                 as_json):
    """Convert lead REF into a deal, creating or linking the customer, in one transaction."""
    from plugins.funnel.deals import deal_dict
    from plugins.funnel.leads import convert, get_lead

    app = state.app
    with app.transaction() as session:
        deal = convert(app, session, get_lead(session, ref), partner_ref=partner_ref,
                       create_partner_always=new_partner, user=current_user(session, user_login),
                       deal=given({"name": deal_name, "value": value, "expected_close": expected_close,
                                   "pipeline": pipeline}))
        data = deal_dict(session, deal)
    if as_json:
        emit_json(data)
        return
    click.echo(f"lead {ref}: converted into deal {data['id']} for partner {data['customer']['id']} "
               f"({data['customer']['name']})")


@lead.command("merge")
@click.argument("keep")
@click.argument("other")
@user_option
@pass_state
def lead_merge(state, keep, other, user_login):
    """Merge lead OTHER into lead KEEP (history and activities move; OTHER stays, marked merged)."""
    from plugins.funnel.leads import get_lead, merge

    app = state.app
    with app.transaction() as session:
        merge(app, session, get_lead(session, keep), get_lead(session, other), user=current_user(session, user_login))
    click.echo(f"lead {other}: merged into lead {keep}")


@lead.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Write the good rows; put the bad ones, with the reason, in a CSV.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the rejected rows go (default: FILE.rejected.csv).")
@click.option("--duplicates", type=click.Choice(["create", "skip", "update"]), default="create", show_default=True,
              help="What to do with a row matching a lead or partner: create it flagged, skip it, or update the lead.")
@click.option("--map", "pairs", multiple=True, metavar="FILECOLUMN=FIELD", help="Rename a column of the file.")
@json_option
@pass_state
def lead_import(state, file, skip_invalid, rejects, duplicates, pairs, as_json):
    """Import leads from a CSV FILE (every row validated; a bad row writes nothing unless --skip-invalid)."""
    from core.cli.data import parse_mapping, run_with_report
    from plugins.funnel.importer import import_leads

    app = state.app
    result = run_with_report(lambda progress: import_leads(
        app, file, skip_invalid=skip_invalid, duplicates=duplicates, rejects_path=rejects,
        mapping=parse_mapping(pairs), progress=progress), kind="leads", as_json=as_json)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(f"leads: {result.created} imported, {result.updated} updated, {result.skipped} skipped, "
               f"{result.duplicates} duplicates, {len(result.rejected)} rejected"
               + (f" (see {result.rejects_file})" if result.rejects_file else ""))

