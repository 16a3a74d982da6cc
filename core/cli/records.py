"""Commands for the kernel's records: partners, products, users, teams."""

from __future__ import annotations

import click

from core.cli.complete import references
from core.cli.context import emit_json, emit_record, emit_table, json_option, pass_state
from core.cli.fields import extension_rows, set_option


def _partner_name():
    from core.models import Partner

    return Partner.name


def _product_sku():
    from core.models import Product

    return Product.sku


partner_ref = references(_partner_name)
product_ref = references(_product_sku)


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
    ("--language", "language", "Language of what the partner reads: fr or en (default: the company's)."),
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
@set_option
@json_option
@pass_state
def partner_add(state, name, allow_duplicate, assignments, as_json, **values):
    """Add a partner NAME (a company unless --kind person)."""
    from core import extensions
    from core.services.partners import create_partner, partner_dict

    app = state.app
    record = f"partner {name.strip()!r}"
    with app.transaction() as session:
        created = create_partner(app, session, {"name": name, **_given(values)}, allow_duplicate=allow_duplicate,
                                 record=record,
                                 extensions=extensions.parse_assignments(app, "partner", assignments, record))
        data = partner_dict(created, extensions.read(app, session, "partner", [created.id]).get(created.id))
    emit_json(data) if as_json else click.echo(f"partner {data['id']}: {data['name']}")


@partner.command("edit")
@click.argument("ref", shell_complete=partner_ref)
@click.option("--name", "name", default=None, help="New name.")
@partner_options
@click.option("--customer/--no-customer", "is_customer", default=None, help="Is a customer.")
@click.option("--supplier/--no-supplier", "is_supplier", default=None, help="Is a supplier.")
@set_option
@pass_state
def partner_edit(state, ref, assignments, **values):
    """Change fields of partner REF (id, name, a part of the name or SIREN)."""
    from core import extensions
    from core.services.partners import get_partner, update_partner

    app = state.app
    with app.transaction() as session:
        partner = get_partner(session, ref)
        record = f"partner {partner.id}"
        changes = update_partner(app, session, partner, _given(values), record=record,
                                 extensions=extensions.parse_assignments(app, "partner", assignments, record))
    click.echo("changed: " + ", ".join(sorted(changes)) if changes else "nothing changed")


@partner.command("contact")
@click.argument("ref", shell_complete=partner_ref)
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
@click.option("--where", "where", multiple=True, metavar="MODULE.FIELD=VALUE",
              help="Only partners whose field (one a module marks searchable) has this value (repeat to combine).")
@json_option
@pass_state
def partner_list(state, role, search, limit, where, as_json):
    """List partners by name (with the fields modules mark to be listed)."""
    from core import extensions
    from core.models import Partner
    from core.services.partners import list_partners, partner_dict

    app = state.app
    with app.transaction() as session:
        filters = dict(role=role, search=search, limit=limit,
                       where=extensions.conditions(app, "partner", where, Partner.id) if where else ())
        found = list_partners(session, **filters)
        # one query for every listed extension field of every partner (a join per module)
        extra = extensions.read(app, session, "partner", list_partners(
            session, columns=[Partner.id], **filters), only="listed") \
            if extensions.of(app, "partner") else {}
        blank = extensions.blank(app, "partner", only="listed")
        rows = [partner_dict(p, extra.get(p.id, blank)) for p in found]
    if as_json:
        emit_json(rows)
        return
    columns = []
    if rows:
        flat_rows = [{**row, **extension_rows(app, "partner", row, only="listed")[0]} for row in rows]
        columns = extension_rows(app, "partner", rows[0], only="listed")[1]
        rows = flat_rows
    emit_table(rows, [("id", "Id"), ("name", "Name"), ("kind", "Kind"), ("is_customer", "Customer"),
                      ("is_supplier", "Supplier"), ("email", "E-mail"), ("city", "City"), ("siren", "SIREN"),
                      *columns],
               empty="no partner")


@partner.command("show")
@click.argument("ref", shell_complete=partner_ref)
@json_option
@pass_state
def partner_show(state, ref, as_json):
    """Show partner REF (id, name, a part of the name or SIREN) with its contacts."""
    from core import extensions
    from core.services.partners import get_partner, partner_dict

    app = state.app
    with app.transaction() as session:
        found = get_partner(session, ref)
        data = partner_dict(found, extensions.read(app, session, "partner", [found.id]).get(found.id))
    if as_json:
        emit_json(data)
        return
    contacts = ", ".join(f"{c['name']} <{c['email'] or '-'}>" for c in data["contacts"]) or "-"
    extra, columns = extension_rows(app, "partner", data)
    emit_record({**data, **extra, "contacts": contacts},
                [("id", "Id"), ("name", "Name"), ("kind", "Kind"), ("is_customer", "Customer"),
                 ("is_supplier", "Supplier"), ("email", "E-mail"), ("phone", "Phone"), ("street", "Street"),
                 ("postal_code", "Postal code"), ("city", "City"), ("country", "Country"), ("siren", "SIREN"),
                 ("siret", "SIRET"), ("vat_number", "VAT number"), ("language", "Language"),
                 ("salesperson", "Salesperson"), *columns,
                 ("contacts", "Contacts")])


@partner.command("account")
@click.argument("ref", shell_complete=partner_ref, metavar="CUSTOMER")
@json_option
@pass_state
def partner_account(state, ref, as_json):
    """The account of CUSTOMER (id, name, part of the name or SIREN): one section per enabled module.

    Billing: balance, credit, open invoices with days late and reminder level, payments and their
    allocation, open collection cases and promises, average days to pay. Funnel: deals in
    progress and activities.
    """
    from core.services.partners import account_dict, account_sections, get_partner

    app = state.app
    with app.transaction() as session:
        partner = get_partner(session, ref)
        sections = account_sections(app, session, partner)
        data = account_dict(app, partner, sections)
    if as_json:
        emit_json(data)
        return
    click.echo(f"{data['partner']['name']} (partner {data['partner']['id']}) on {data['as_of']}")
    if not sections:
        click.echo("no enabled module keeps an account for this partner")
    for section in sections:
        click.echo(f"\n== {section.title} ==")
        if section.summary:
            emit_record(dict(section.summary), [(label, label) for label, _ in section.summary])
        for title, rows, columns in section.tables:
            click.echo(f"\n{title}:")
            emit_table(rows, columns, empty="  none")


@partner.command("statement")
@click.argument("ref", shell_complete=partner_ref, metavar="CUSTOMER")
@click.option("--from", "start", default=None, metavar="YYYY-MM-DD", help="First day (default: 1 January).")
@click.option("--to", "end", default=None, metavar="YYYY-MM-DD", help="Last day (default: --today).")
@click.option("--pdf", "output", type=click.Path(dir_okay=True, writable=True), default=None,
              help="Write the PDF there (a file or a folder; default: its name in the current folder).")
@click.option("--send", is_flag=True, help="E-mail it to the customer (an outbox message with the PDF attached).")
@click.option("--locale", type=click.Choice(["fr_FR", "en_GB", "en_US"]), default=None,
              help="Language (default: [company] locale).")
@pass_state
def partner_statement(state, ref, start, end, output, send, locale):
    """The statement of account ("relevé de compte") of CUSTOMER for a period, as a PDF.

    Opening balance, invoices, payments, credit notes, closing balance and what is overdue at the
    period's end. Offered by the module that keeps the customer's money (billing).
    """
    from core.documents import render, save
    from core.errors import CrmError, ValidationError
    from core.outbox import DocumentAttachment, notify
    from core.services.partners import account_sections, get_partner

    app = state.app
    start, end = _day(start, "--from") if start else app.today.replace(month=1, day=1), \
        _day(end, "--to") if end else app.today
    if end < start:
        raise ValidationError(f"{end.isoformat()} is before {start.isoformat()}", record="statement", field="to")
    with app.transaction() as session:
        partner = get_partner(session, ref)
        kinds = [s.documents["statement"] for s in account_sections(app, session, partner) if "statement" in s.documents]
        if not kinds:
            raise CrmError(f"partner {partner.name}: no enabled module offers a statement of account")
        document_ref = f"{partner.id}:{start.isoformat()}:{end.isoformat()}"
        from core.services.company import reader_locale

        locale = locale or reader_locale(app, partner)  # the customer reads it in their language
        document = render(app, session, kinds[0], document_ref, locale=locale)
        if send:
            if not partner.email:
                raise ValidationError("has no e-mail address to send the statement to", record=f"partner {partner.name}",
                                      field="email")
            notify(app, session, recipients=[partner.email], subject=document.title,
                   text=_statement_text(app, locale, start, end),
                   attachments=[DocumentAttachment(kinds[0], document_ref)], related=f"core_partner:{partner.id}",
                   dedup_key=f"core:statement:{document_ref}:{app.today.isoformat()}")
    if send:
        click.echo(f"statement of {partner.name} ({start.isoformat()} to {end.isoformat()}) queued for {partner.email}")
    if output or not send:
        from core.documents import printed

        path = save(app, document, output=output)
        printed(app, kinds[0], [(document_ref, path)])
        click.echo(str(path))


def _day(value: str, option: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def _statement_text(app, locale, start, end) -> str:
    from core.services.company import current

    sender = current(app)["name"] or ""
    if (locale or app.config.company.locale).startswith("fr"):
        return (f"Bonjour,\n\nVeuillez trouver ci-joint votre relevé de compte du {start.isoformat()} au "
                f"{end.isoformat()}.\n\nCordialement,\n{sender}\n")
    return (f"Hello,\n\nPlease find attached your statement of account from {start.isoformat()} to "
            f"{end.isoformat()}.\n\nKind regards,\n{sender}\n")


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
        created = create_product(session, {"sku": sku, "name": name, **_given(values)}, record=record, app=app,
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
        created = create_user(session, _given({"login": login, "name": name, "email": email, "role": role}))
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


def _rights_commands() -> None:
    from core.cli.rights import user_identity, user_role

    user.add_command(user_role)
    user.add_command(user_identity)


_rights_commands()
