"""``crm form list``: the websites' forms of ``[funnel.forms.NAME]`` whose posts become leads."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state


@click.group()
def form():
    """Websites' forms posting leads to crm serve (configured in crm.toml, [funnel.forms.NAME])."""


@form.command("list")
@json_option
@pass_state
def form_list(state, as_json):
    """List the forms: their URL, owner or team, allowed origins, limits, and what is wrong with them.

    A form is added, changed or removed in crm.toml (`[funnel.forms.NAME]`, docs/api.md); an owner
    or team that does not exist is listed under problems (its posts would be refused).
    """
    from plugins.funnel.capture import form_rows

    with state.app.transaction() as session:
        rows = form_rows(state.app, session)
    if as_json:
        emit_json(rows)
        return
    shown = [{**row, "origins": " ".join(row["origins"]) or "any", "to": row["owner"] or row["team"] or "-",
              "limit": f"{row['rate_limit']}/{row['rate_window']}s", "problems": "; ".join(row["problems"])}
             for row in rows]
    emit_table(shown, [("name", "Form"), ("url", "Posts to"), ("to", "Leads to"), ("origins", "Origins"),
                       ("limit", "Per address"), ("problems", "Problems")], empty="no form ([funnel.forms.NAME])")
