"""``crm whoami``, ``crm role ...``, ``crm user role|identity`` and ``crm audit``: thin over core.security."""

from __future__ import annotations

import click

from core.cli.context import DAY, emit_json, emit_record, emit_table, json_option, pass_state


@click.command()
@json_option
@pass_state
def whoami(state, as_json):
    """Who crm takes you for: your user, roles, rights, the identity it was mapped from, and the
    business day commands run on (--today, $CRM_TODAY, the workspace's [workspace] today, else the calendar)."""
    from core.security import current_actor

    app = state.app
    with app.transaction() as session:
        actor = current_actor(app, session)
    data = {"login": actor.login, "acting_for_by": actor.real_login, "db_user": actor.db_user,
            "backend": app.dialect, "roles": sorted(actor.roles), "scope": actor.scope,
            "rights": sorted(actor.rights), "today": app.today.isoformat(), "today_from": app.today_source}
    if as_json:
        emit_json(data)
        return
    by = f" (acting for them: {actor.real_login})" if actor.real_login else ""
    kind = "database role" if app.dialect == "postgresql" else "OS login"
    click.echo(f"{actor.login}{by}: {kind} {actor.db_user}; roles {', '.join(data['roles'])}; "
               f"sees {actor.scope} records; {len(data['rights'])} rights")
    click.echo(f"business day {data['today']} ({data['today_from']})")


@click.group()
def role():
    """Roles: named sets of rights (built-in ones declared by the modules, and your own)."""


@role.command("list")
@json_option
@pass_state
def role_list(state, as_json):
    """Every role, built-in first, with its scope and number of rights."""
    from core.services.roles import list_roles

    app = state.app
    with app.transaction() as session:
        rows = list_roles(app, session)
    emit_json(rows) if as_json else emit_table(
        rows, [("name", "Role"), ("builtin", "Built-in"), ("scope", "Sees"), ("rights", "Rights"),
               ("description", "What for")])


@role.command("show")
@click.argument("name")
@json_option
@pass_state
def role_show(state, name, as_json):
    """Role NAME: its rights and the users who hold it."""
    from core.services.roles import show_role

    app = state.app
    with app.transaction() as session:
        data = show_role(app, session, name)
    if as_json:
        emit_json(data)
        return
    emit_record(data | {"users": data["users"]}, [("name", "Role"), ("scope", "Sees"), ("description", "What for"),
                                                   ("users", "Users")])
    emit_table(data["rights"], [("name", "Right"), ("summary", "Allows")], empty="no right")


@role.command("create")
@click.argument("name")
@click.option("--description", default=None, help="What the role is for.")
@click.option("--scope", type=click.Choice(["own", "team", "all"]), default="all", show_default=True,
              help="Which records its holders see where a module declares a record rule.")
@click.option("--from", "based_on", default=None, metavar="ROLE", help="Start with the rights of this role.")
@pass_state
def role_create(state, name, description, scope, based_on):
    """Create custom role NAME."""
    from core.services.roles import create_role

    app = state.app
    with app.transaction() as session:
        create_role(app, session, name, description=description, scope=scope, based_on=based_on)
    click.echo(f"role {name} created")


@role.command("grant")
@click.argument("name")
@click.argument("rights", nargs=-1, required=True)
@pass_state
def role_grant(state, name, rights):
    """Give custom role NAME the RIGHTS (names such as billing.invoice.post)."""
    from core.services.roles import grant

    app = state.app
    with app.transaction() as session:
        for right in rights:
            grant(app, session, name, right)
    click.echo(f"role {name}: granted {', '.join(rights)}")


@role.command("revoke")
@click.argument("name")
@click.argument("rights", nargs=-1, required=True)
@pass_state
def role_revoke(state, name, rights):
    """Take the RIGHTS from custom role NAME."""
    from core.services.roles import revoke

    app = state.app
    with app.transaction() as session:
        for right in rights:
            revoke(app, session, name, right)
    click.echo(f"role {name}: revoked {', '.join(rights)}")


@click.command("role")
@click.argument("login")
@click.argument("role_name", metavar="ROLE")
@click.option("--remove", is_flag=True, help="Take the role back instead.")
@pass_state
def user_role(state, login, role_name, remove):
    """Give user LOGIN the role ROLE (or take it back with --remove)."""
    from core.services.roles import give_role

    app = state.app
    with app.transaction() as session:
        roles = give_role(app, session, login, role_name, remove=remove)
    click.echo(f"user {login.lower()}: roles {', '.join(roles)}")


@click.command("identity")
@click.argument("login")
@click.option("--os-login", default=None, help="The OS login that is this user (SQLite workspaces).")
@click.option("--db-role", default=None,
              help="The PostgreSQL role that is this user (shared databases); it is granted exactly what the "
                   "user's rights need in the schema, and a role it replaces loses its grants.")
@pass_state
def user_identity(state, login, os_login, db_role):
    """Say which OS login or database role is user LOGIN ('' clears it).

    On PostgreSQL, run it as the owner of the workspace's tables: the role must exist (CREATE ROLE
    ... LOGIN) and is granted what the user needs (docs/permissions.md, "Database roles")."""
    from core.services.roles import set_identity

    app = state.app
    with app.transaction() as session:
        user = set_identity(app, session, login, os_login=os_login, db_role=db_role)
        click.echo(f"user {user.login}: OS login {user.os_login or '-'}, database role {user.db_role or '-'}")


@click.command()
@click.option("--record", default=None, metavar="KIND:REF", help="One record: invoice:F2026-000012, partner:3...")
@click.option("--user", "login", default=None, metavar="LOGIN", help="What this user (or database role) did.")
@click.option("--from", "start", type=DAY, default=None, help="From this business date.")
@click.option("--to", "end", type=DAY, default=None, help="Up to this business date.")
@click.option("--limit", type=click.IntRange(1, 100000), default=1000, show_default=True, help="At most this many rows.")
@json_option
@pass_state
def audit(state, record, login, start, end, limit, as_json):
    """The audit trail: who changed what, when, and through which command (oldest first)."""
    from core.audit import entries

    app = state.app
    with app.transaction() as session:
        rows = entries(session, record=record, user=login, start=start, end=end, limit=limit)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["what"] = ", ".join(f"{k}: {v[0]} → {v[1]}" for k, v in (row["changes"] or {}).items()
                                if isinstance(v, list))[:120] if row["action"] == "update" else ""
    emit_table(rows, [("logged_at", "When"), ("business_date", "Day"), ("who", "Who"), ("action", "Action"),
                      ("record_type", "Record"), ("record", "Ref"), ("what", "Changes"), ("command", "Command")],
               empty="nothing in the trail")


@role.command("matrix")
@click.option("--markdown", is_flag=True, help="The whole of docs/permissions.md.")
@json_option
@pass_state
def role_matrix(state, markdown, as_json):
    """Which built-in role may run which command (the modules' declared rights)."""
    from core.security import BUILTIN_ROLES
    from core.services.roles import matrix, matrix_markdown

    app = state.app
    if markdown:
        click.echo(matrix_markdown(app), nl=False)
        return
    rows = matrix(app)
    if as_json:
        emit_json(rows)
        return
    emit_table([{"command": r["command"], "right": r["right"],
                 **{role: "✓" if ok else "·" for role, ok in r["roles"].items()}} for r in rows],
               [("command", "Command"), ("right", "Right"), *((role, role) for role in BUILTIN_ROLES)])
