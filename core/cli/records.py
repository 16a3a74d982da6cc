"""Commands for the kernel's records: partners, products, users, teams."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state

PARTNER_OPTIONS = [
    ("--kind", "kind", "company or person (default: company)."),
    ("--email", "email", "E-mail address."),
    ("--phone", "phone", "Phone number."),
    ("--street", "street", "Street address."),
    ("--postal-code", "postal_code", "Postal code."),
    ("--city", "city", "City."),
    ("--country", "country", "ISO country code (default: FR)."),
    ("--siren", "siren", "SIREN (9 digits, checked)."),
    ("--siret", "siret", "SIRET (14 digits, checked; gives the SIREN)."),
    ("--vat-number", "vat_number", "Intra-EU VAT number (checked)."),
    ("--salesperson", "salesperson", "Login of the user who owns this customer."),
]


def partner_options(function):
    for flag, dest, text in reversed(PARTNER_OPTIONS):
        function = click.option(flag, dest, default=None, help=text)(function)
    return function


def _given(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


@click.group()
def partner():
    """Customers and suppliers."""


@partner.command("add")
@click.argument("name")
@partner_options
@click.option("--customer/--no-customer", "is_customer", default=None, help="Is a customer (default: yes).")
@click.option("--supplier/--no-supplier", "is_supplier", default=None, help="Is a supplier (default: no).")
@click.option("--allow-duplicate", is_flag=True, help="Create even if the SIREN or e-mail is already used.")
@json_option
@pass_state
def partner_add(state, name, allow_duplicate, as_json, **values):
    """Add a partner NAME (a company unless --kind person)."""
    from core.services.partners import create_partner, partner_dict

    app = state.app
    with app.transaction() as session:
        created = create_partner(app, session, {"name": name, **_given(values)}, allow_duplicate=allow_duplicate)
        data = partner_dict(created)
    emit_json(data) if as_json else click.echo(f"partner {data['id']}: {data['name']}")


@partner.command("edit")
@click.argument("ref")
@click.option("--name", "name", default=None, help="New name.")
@partner_options
@click.option("--customer/--no-customer", "is_customer", default=None, help="Is a customer.")
@click.option("--supplier/--no-supplier", "is_supplier", default=None, help="Is a supplier.")
@pass_state
def partner_edit(state, ref, **values):
    """Change fields of partner REF (id or exact name)."""
    from core.services.partners import get_partner, update_partner

    app = state.app
    with app.transaction() as session:
        changes = update_partner(app, session, get_partner(session, ref), _given(values))
    click.echo("changed: " + ", ".join(sorted(changes)) if changes else "nothing changed")


@partner.command("contact")
@click.argument("ref")
@click.argument("name")
@click.option("--email", default=None, help="E-mail address.")
@click.option("--phone", default=None, help="Phone number.")
@click.option("--function", default=None, help="Job title.")
@pass_state
def partner_contact(state, ref, name, **values):
    """Add contact person NAME to partner REF."""
    from core.services.partners import add_contact, get_partner

    app = state.app
    with app.transaction() as session:
        contact = add_contact(session, get_partner(session, ref), {"name": name, **_given(values)})
        click.echo(f"contact {contact.id}: {contact.name}")


@partner.command("list")
@click.option("--customers", "role", flag_value="customer", help="Customers only.")
@click.option("--suppliers", "role", flag_value="supplier", help="Suppliers only.")
@click.option("--search", default=None, help="Part of the name or e-mail, or a SIREN.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many rows.")
@json_option
@pass_state
def partner_list(state, role, search, limit, as_json):
    """List partners by name."""
    from core.services.partners import list_partners, partner_dict

    with state.app.transaction() as session:
        rows = [partner_dict(p) for p in list_partners(session, role=role, search=search, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("id", "Id"), ("name", "Name"), ("kind", "Kind"), ("is_customer", "Customer"),
                      ("is_supplier", "Supplier"), ("email", "E-mail"), ("city", "City"), ("siren", "SIREN")],
               empty="no partner")


@partner.command("show")
@click.argument("ref")
@json_option
@pass_state
def partner_show(state, ref, as_json):
    """Show partner REF (id or exact name) with its contacts."""
    from core.services.partners import get_partner, partner_dict

    with state.app.transaction() as session:
        data = partner_dict(get_partner(session, ref))
    if as_json:
        emit_json(data)
        return
    contacts = ", ".join(f"{c['name']} <{c['email'] or '-'}>" for c in data["contacts"]) or "-"
    emit_record({**data, "contacts": contacts},
                [("id", "Id"), ("name", "Name"), ("kind", "Kind"), ("is_customer", "Customer"),
                 ("is_supplier", "Supplier"), ("email", "E-mail"), ("phone", "Phone"), ("street", "Street"),
                 ("postal_code", "Postal code"), ("city", "City"), ("country", "Country"), ("siren", "SIREN"),
                 ("siret", "SIRET"), ("vat_number", "VAT number"), ("salesperson", "Salesperson"),
                 ("contacts", "Contacts")])


PRODUCT_COLUMNS = [("sku", "SKU"), ("name", "Name"), ("unit", "Unit"), ("list_price", "Price"),
                   ("vat_rate", "VAT %"), ("stockable", "Stocked")]


@click.group()
def product():
    """Products and their prices."""


@product.command("add")
@click.argument("sku")
@click.argument("name")
@click.option("--price", "list_price", default=None, help="List price excl. VAT (exact, e.g. 12.50).")
@click.option("--vat-rate", default=None, help="VAT rate in percent: 20, 10, 5.5, 2.1 or 0 (default 20).")
@click.option("--unit", default=None, help="Unit of measure (default: unit).")
@click.option("--stockable/--service", default=None, help="Kept in stock (default) or a service.")
@json_option
@pass_state
def product_add(state, sku, name, as_json, **values):
    """Add product SKU called NAME."""
    from core.services.catalog import create_product, product_dict

    with state.app.transaction() as session:
        data = product_dict(create_product(session, {"sku": sku, "name": name, **_given(values)}))
    emit_json(data) if as_json else click.echo(f"product {data['sku']}: {data['name']}")


@product.command("list")
@click.option("--search", default=None, help="Part of the SKU or name.")
@json_option
@pass_state
def product_list(state, search, as_json):
    """List active products by SKU."""
    from core.services.catalog import list_products, product_dict

    with state.app.transaction() as session:
        rows = [product_dict(p) for p in list_products(session, search=search)]
    emit_json(rows) if as_json else emit_table(rows, PRODUCT_COLUMNS, empty="no product")


@product.command("show")
@click.argument("sku")
@json_option
@pass_state
def product_show(state, sku, as_json):
    """Show product SKU."""
    from core.services.catalog import get_product, product_dict

    with state.app.transaction() as session:
        data = product_dict(get_product(session, sku))
    emit_json(data) if as_json else emit_record(data, [("id", "Id"), *PRODUCT_COLUMNS])


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
        created = create_user(session, _given({"login": login, "name": name, "email": email, "role": role}))
        click.echo(f"user {created.login} ({created.role})")


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
        created = create_team(session, _given({"name": name, "leader": leader, "members": list(members)}))
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
