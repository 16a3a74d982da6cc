"""Commands for the kernel's records: products, users, teams (partners: :mod:`core.cli.partners`)."""

from __future__ import annotations

import click

from core.cli.complete import references
from core.cli.context import emit_json, emit_record, emit_table, given, json_option, pass_state
from core.cli.fields import extension_rows, set_option


def _product_sku():
    from core.models import Product

    return Product.sku


product_ref = references(_product_sku)

PRODUCT_COLUMNS = [("sku", "SKU"), ("name", "Name"), ("unit", "Unit"), ("list_price", "Price"),
                   ("vat_rate", "VAT %"), ("stockable", "Stocked"), ("kind", "Kind")]


@click.group()
def product():
    """Products and their prices."""


@product.command("add")
@click.argument("sku")
@click.argument("name")
@click.option("--price", "list_price", default=None, help="List price excl. VAT (exact, e.g. 12.50).")
@click.option("--vat-rate", default=None, help="VAT rate in percent: 20, 10, 5.5, 2.1 or 0 (default 20).")
@click.option("--unit", default=None, help="Unit of measure (default: unit).")
@click.option("--stockable/--not-stocked", default=None,
              help="Kept in stock (default) or not. --service is kept for older scripts: not stocked, a service.")
@click.option("--service", "service_flag", is_flag=True, hidden=True)
@click.option("--kind", type=click.Choice(["goods", "service"]), default=None,
              help="Goods (default) or a service: the invoice's nature of the operation comes from it.")
@set_option
@json_option
@pass_state
def product_add(state, sku, name, as_json, service_flag, assignments, **values):
    """Add product SKU called NAME."""
    from core import extensions
    from core.services.catalog import create_product, product_dict

    if service_flag:  # the older spelling: a service is not stocked
        values["stockable"] = False if values.get("stockable") is None else values["stockable"]
        values["kind"] = values.get("kind") or "service"
    app, record = state.app, f"product {sku.strip()!r}"
    with app.transaction() as session:
        created = create_product(session, {"sku": sku, "name": name, **given(values)}, record=record, app=app,
                                 extensions=extensions.parse_assignments(app, "product", assignments, record))
        data = product_dict(created, extensions.read(app, session, "product", [created.id]).get(created.id))
    emit_json(data) if as_json else click.echo(f"product {data['sku']}: {data['name']}")


@product.command("list")
@click.option("--search", default=None, help="Part of the SKU or name.")
@json_option
@pass_state
def product_list(state, search, as_json):
    """List active products by SKU (with the fields modules mark to be listed)."""
    from core import extensions
    from core.services.catalog import list_products, product_dict

    app = state.app
    with app.transaction() as session:
        found = list_products(session, search=search)
        extra = extensions.read(app, session, "product", [p.id for p in found], only="listed")
        blank = extensions.blank(app, "product", only="listed")
        rows = [product_dict(p, extra.get(p.id, blank)) for p in found]
    if as_json:
        emit_json(rows)
        return
    columns = extension_rows(app, "product", {}, only="listed")[1]
    rows = [{**row, **extension_rows(app, "product", row, only="listed")[0]} for row in rows]
    emit_table(rows, [*PRODUCT_COLUMNS, *columns], empty="no product")


@product.command("show")
@click.argument("sku", shell_complete=product_ref)
@json_option
@pass_state
def product_show(state, sku, as_json):
    """Show product SKU."""
    from core import extensions
    from core.services.catalog import get_product, product_dict

    app = state.app
    with app.transaction() as session:
        found = get_product(session, sku)
        data = product_dict(found, extensions.read(app, session, "product", [found.id]).get(found.id))
    if as_json:
        emit_json(data)
        return
    extra, columns = extension_rows(app, "product", data)
    emit_record({**data, **extra}, [("id", "Id"), *PRODUCT_COLUMNS, *columns])


@click.group()
def user():
    """People who use the CRM and their roles."""


@user.command("add")
@click.argument("login")
@click.argument("name")
@click.option("--email", default=None, help="E-mail address (for notifications).")
@click.option("--role", type=click.Choice(["sales", "collections", "purchasing", "admin"]), default="sales",
              show_default=True, help="Decides which notifications the user receives.")
@pass_state
def user_add(state, login, name, email, role):
    """Add user LOGIN called NAME."""
    from core.services.people import create_user

    with state.app.transaction() as session:
        created = create_user(session, given({"login": login, "name": name, "email": email, "role": role}))
        click.echo(f"user {created.login} ({created.role})")


@user.command("password")
@click.argument("login")
@click.option("--password-stdin", "from_stdin", is_flag=True, help="Read the password from standard input.")
@pass_state
def user_password(state, login, from_stdin):
    """Set LOGIN's password for the web view (`crm serve`): yours, or anyone's with core.users.

    It is asked twice, unseen (or read from stdin); only its scrypt hash is kept, and the user's
    open browser sessions end.
    """
    import sys

    from core.api.websessions import set_password

    text = sys.stdin.readline().rstrip("\n") if from_stdin else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    with state.app.transaction() as session:
        set_password(state.app, session, login, text)
    click.echo(f"password of {login} set")


@user.command("list")
@json_option
@pass_state
def user_list(state, as_json):
    """List users."""
    from core.services.people import list_users, user_dict

    with state.app.transaction() as session:
        rows = [user_dict(u) for u in list_users(session)]
    emit_json(rows) if as_json else emit_table(
        rows, [("login", "Login"), ("name", "Name"), ("email", "E-mail"), ("role", "Role")], empty="no user")


@click.group()
def team():
    """Teams of users (sales teams, the collections team)."""


@team.command("add")
@click.argument("name")
@click.option("--leader", default=None, help="Login of the team leader (also a member).")
@click.option("--member", "members", multiple=True, help="Login of a member (repeat the option).")
@pass_state
def team_add(state, name, leader, members):
    """Add team NAME."""
    from core.services.people import create_team

    with state.app.transaction() as session:
        created = create_team(session, given({"name": name, "leader": leader, "members": list(members)}))
        click.echo(f"team {created.name}: {len(created.members)} member(s)")


@team.command("list")
@json_option
@pass_state
def team_list(state, as_json):
    """List teams with their leader and members."""
    from core.services.people import list_teams, team_dict

    with state.app.transaction() as session:
        rows = [team_dict(t) for t in list_teams(session)]
    emit_json(rows) if as_json else emit_table(
        rows, [("name", "Team"), ("leader", "Leader"), ("members", "Members")], empty="no team")


def _rights_commands() -> None:
    from core.cli.rights import user_identity, user_role

    user.add_command(user_role)
    user.add_command(user_identity)


_rights_commands()
