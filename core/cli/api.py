"""``crm serve`` (the HTTP API) and ``crm token`` (personal API tokens)."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_table, json_option, pass_state


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="IP address to listen on (keep loopback behind a reverse proxy; 0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8069, show_default=True, help="TCP port.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes: each serves one request at a time (about 2 per core).")
@click.option("--proxies", type=click.IntRange(0, 5), default=0, show_default=True,
              help="Reverse proxies in front whose X-Forwarded-For/-Proto/-Host are believed (0: none).")
@click.option("--access-log", is_flag=True, help="Log every request on stdout.")
@pass_state
def serve(state, host, port, workers, proxies, access_log):
    """Serve the JSON API (docs/api.md): the same services, rights and audit trail as the commands.

    Requests authenticate with a personal token (`crm token create`); the OpenAPI document is at
    /openapi.json. `--today` sets the business date of every request; an admin's request may
    send `X-Crm-Today` instead.
    """
    from core.api.server import check_address, serve as run

    check_address(host, port)
    app = state.app
    config, today, entries = app.config, app.__dict__.get("_today"), app.entries
    app.close()  # each worker opens its own engine after the fork

    def make_app():
        from core.app import App

        return App(config, today=today, entries=entries)

    click.echo(f"serving the API on http://{host}:{port}/api/v1/ ({workers} workers); Ctrl-C stops", err=True)
    run(make_app, host=host, port=port, workers=workers, proxies=proxies, access_log=access_log)


@click.group()
def token():
    """Personal API tokens: create (shown once), list, revoke."""


@token.command("create")
@click.argument("name")
@click.option("--user", "login", default=None, help="For this user (needs core.users; default: yourself).")
@click.option("--right", "rights", multiple=True, metavar="RIGHT",
              help="Limit the token to this right (repeat; default: every right of its user).")
@click.option("--days", type=int, default=90, show_default=True, help="Days until it expires (1 to 366).")
@json_option
@pass_state
def token_create(state, name, login, rights, days, as_json):
    """Create a token called NAME: it is printed once, only its hash is kept."""
    from core.api.tokens import create_token, token_dict

    app = state.app
    with app.transaction() as session:
        row, secret = create_token(app, session, name=name, login=login, rights=list(rights), days=days)
        data = token_dict(row, row_login(session, row)) | {"token": secret}
    if as_json:
        emit_json(data)
    else:
        click.echo(f"token {data['id']} for {data['user']}, expires {data['expires_at']} UTC "
                   f"(shown once, keep it secret):\n{secret}")


def row_login(session, row) -> str:
    from core.models import User

    return session.get(User, row.user_id).login


@token.command("list")
@click.option("--user", "login", default=None, help="This user's tokens (needs core.users).")
@click.option("--all", "everyone", is_flag=True, help="Everyone's tokens (needs core.users).")
@json_option
@pass_state
def token_list(state, login, everyone, as_json):
    """List tokens (never their secret): yours, newest first."""
    from core.api.tokens import list_tokens

    app = state.app
    with app.transaction() as session:
        rows = list_tokens(app, session, login=login, everyone=everyone)
    if as_json:
        emit_json(rows)
        return
    rows = [{**row, "rights": " ".join(row["rights"]) if row["rights"] else "all of the user's"} for row in rows]
    emit_table(rows, [("id", "Id"), ("name", "Name"), ("user", "User"), ("prefix", "Starts with"),
                      ("rights", "Rights"), ("expires_at", "Expires (UTC)"), ("state", "State")], empty="no token")


@token.command("revoke")
@click.argument("token_id", type=int, metavar="ID")
@pass_state
def token_revoke(state, token_id):
    """Revoke token ID at once: the next request with it gets 401."""
    from core.api.tokens import revoke_token

    app = state.app
    with app.transaction() as session:
        revoke_token(app, session, token_id)
    click.echo(f"token {token_id} revoked")
